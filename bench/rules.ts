/**
 * Association rules benchmark (not a test): FP-Growth with rule generation on Groceries (9,835
 * baskets) at support 0.001 and confidence 0.5, against the `node-fpgrowth` package mining the
 * itemsets alone, in the same run, alternating, after a warm-up of each. `npm run bench:rules`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FPGrowth } from 'node-fpgrowth';
import { readBaskets } from '../lib/learn/baskets';
import { mineRules } from '../lib/learn/rules';

const file = join(__dirname, '../../shared/data/groceries.csv');
const baskets = readBaskets(readFileSync(file, 'utf8'), file);
const minSupport = Number(process.env.BENCH_SUPPORT ?? 0.001);
const runs = Number(process.env.BENCH_RUNS ?? 5);

async function timed<T>(work: () => Promise<T> | T): Promise<{ ms: number; result: T }> {
  const started = process.hrtime.bigint();
  const result = await work();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, result };
}

const ours = () => mineRules(baskets, { minSupport, minConfidence: 0.5 });
const theirs = () => new FPGrowth<string>(minSupport).exec(baskets.map((b) => [...new Set(b)]));

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function main(): Promise<void> {
  console.log(`Association rules on Groceries: ${baskets.length} baskets, support ${minSupport}, confidence 0.5, ${runs} runs each alternating after a warm-up\n`);
  await timed(ours);
  await timed(theirs);
  const oursMs: number[] = [];
  const theirsMs: number[] = [];
  let itemsets = { ours: 0, theirs: 0, rules: 0 };
  for (let i = 0; i < runs; i++) {
    const a = await timed(ours);
    const b = await timed(theirs);
    oursMs.push(a.ms);
    theirsMs.push(b.ms);
    itemsets = { ours: a.result.frequentItemsets, theirs: b.result.length, rules: a.result.rules.length };
  }
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
  console.log(`moment (FP-Growth + rules)     ${itemsets.ours} itemsets, ${itemsets.rules} rules   median ${median(oursMs).toFixed(1)} ms   runs ${fmt(oursMs)} ms`);
  console.log(`node-fpgrowth (itemsets only)  ${itemsets.theirs} itemsets               median ${median(theirsMs).toFixed(1)} ms   runs ${fmt(theirsMs)} ms`);
  console.log(`\nmoment is ${(median(theirsMs) / median(oursMs)).toFixed(1)}x faster (median against median), with rule generation included`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
