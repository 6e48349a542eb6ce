#!/usr/bin/env node
/**
 * The `node-fpgrowth` package as a whole process, for bench/cli.ts: reads a basket file (one basket a
 * line, items separated by commas) and mines its frequent itemsets at a support, printing only how
 * many there are (no rules). Plain JavaScript, so nothing is compiled at its start either.
 * `node bench/support/fpgrowth-itemsets.js FILE SUPPORT`.
 */
'use strict';
const { readFileSync } = require('node:fs');
const { FPGrowth } = require('node-fpgrowth');

const [file, support] = process.argv.slice(2);
const baskets = readFileSync(file, 'utf8')
  .split(/\r?\n/)
  .filter((line) => line.trim() !== '')
  .map((line) => [...new Set(line.split(',').map((item) => item.trim()))]);
new FPGrowth(Number(support)).exec(baskets).then((itemsets) => console.log(`${itemsets.length} frequent itemsets`));
