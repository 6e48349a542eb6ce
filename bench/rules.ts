/**
 * Association rules benchmark (not a test): FP-Growth with rule generation on Groceries (9,835
 * baskets) at support 0.001 and confidence 0.5, against the `node-fpgrowth` package mining the
 * itemsets alone, in the same run: each in a block of its own after its own warm-up, then in turn
 * (where each run also pays for collecting the other's garbage). `npm run bench:rules`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FPGrowth } from 'node-fpgrowth';
import { readBaskets } from '../lib/learn/baskets';
import { mineRules } from '../lib/learn/rules';

const file = join(__dirname, '../data/groceries.csv');
const baskets = readBaskets(readFileSync(file, 'utf8'), file);
const minSupport = Number(process.env.BENCH_SUPPORT ?? 0.001);
const runs = Number(process.env.BENCH_RUNS ?? 5);

async function timed<T>(work: () => Promise<T> | T): Promise<{ ms: number; result: T }> {
  const started = process.hrtime.bigint();
  const result = await work();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, result };
}

const mineOurs = () => mineRules(baskets, { minSupport, minConfidence: 0.5 });
const mineTheirs = () => new FPGrowth<string>(minSupport).exec(baskets.map((b) => [...new Set(b)]));

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** `runs` timings of each, either one after the other in turn, or each in a block of its own (after its own warm-up). */
async function measure(alternating: boolean): Promise<{ ours: number[]; theirs: number[]; itemsets: { ours: number; theirs: number; rules: number } }> {
  const ours: number[] = [];
  const theirs: number[] = [];
  let itemsets = { ours: 0, theirs: 0, rules: 0 };
  const one = async (which: 'ours' | 'theirs') => {
    if (which === 'ours') {
      const a = await timed(mineOurs);
      ours.push(a.ms);
      itemsets = { ...itemsets, ours: a.result.frequentItemsets, rules: a.result.rules.length };
    } else {
      const b = await timed(mineTheirs);
      theirs.push(b.ms);
      itemsets = { ...itemsets, theirs: b.result.length };
    }
  };
  if (alternating) for (let i = 0; i < runs; i++) for (const which of ['ours', 'theirs'] as const) await one(which);
  else
    for (const which of ['ours', 'theirs'] as const) {
      await (which === 'ours' ? timed(mineOurs) : timed(mineTheirs));
      for (let i = 0; i < runs; i++) await one(which);
    }
  return { ours, theirs, itemsets };
}

async function main(): Promise<void> {
  console.log(`Association rules on Groceries: ${baskets.length} baskets, support ${minSupport}, confidence 0.5, ${runs} runs of each, after a warm-up\n`);
  await timed(mineOurs);
  await timed(mineTheirs);
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
  for (const alternating of [false, true]) {
    const { ours, theirs, itemsets } = await measure(alternating);
    console.log(alternating ? 'in turn (each run after one of the other):' : 'each in a block of its own:');
    console.log(`  moment (FP-Growth + rules)     ${itemsets.ours} itemsets, ${itemsets.rules} rules   median ${median(ours).toFixed(1)} ms   runs ${fmt(ours)} ms`);
    console.log(`  node-fpgrowth (itemsets only)  ${itemsets.theirs} itemsets               median ${median(theirs).toFixed(1)} ms   runs ${fmt(theirs)} ms`);
    console.log(`  moment is ${(median(theirs) / median(ours)).toFixed(1)}x faster (median against median), with rule generation included\n`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
