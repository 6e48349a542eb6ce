/**
 * `moment` command benchmark (not a test): whole-process wall times, as a data scientist's loop or
 * shell pays them, from spawn to exit, with the output read through a pipe. Each case runs in turn
 * (one run of each, then again), so that the machine's load falls on all of them alike; medians and
 * the spread (fastest to slowest) over BENCH_RUNS runs (default 11). `npm run bench:cli`.
 *
 * - node itself (`node -e 0`): the floor under any command;
 * - `moment --help`, compiled (bin/moment.js on dist/cli/moment.js) and from the TypeScript sources
 *   through tsx (MOMENT_FROM_SOURCE=1), which is how it ran before it was compiled;
 * - `moment rules` on Groceries at support 0.001 and confidence 0.5 (the bench/rules.ts comparison),
 *   compiled and through tsx, against a whole `node-fpgrowth` process mining the itemsets only
 *   (bench/support/fpgrowth-itemsets.js) on the same file and support.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'bin/moment.js');
const GROCERIES = join(ROOT, 'data/groceries.csv');
const SUPPORT = process.env.BENCH_SUPPORT ?? '0.001';
const RUNS = Number(process.env.BENCH_RUNS ?? 11);

// Plain JavaScript (it runs at `npm ci`, before anything is compiled).
const bundle = require('../scripts/build-cli.js') as { isStale(): boolean; build(): { inputs: number; bytes: number } };

interface Case {
  name: string;
  args: string[];
  fromSource?: boolean;
}

const rules = ['rules', '--baskets', GROCERIES, '--min-support', SUPPORT, '--min-confidence', '0.5'];
const CASES: Case[] = [
  { name: 'node -e 0 (node itself)', args: ['-e', '0'] },
  { name: 'moment --help, compiled', args: [BIN, '--help'] },
  { name: 'moment --help, through tsx', args: [BIN, '--help'], fromSource: true },
  { name: 'moment rules, compiled', args: [BIN, ...rules] },
  { name: 'moment rules, through tsx', args: [BIN, ...rules], fromSource: true },
  { name: 'node-fpgrowth, itemsets only', args: [join(__dirname, 'support/fpgrowth-itemsets.js'), GROCERIES, SUPPORT] },
];

/** One whole process, spawn to exit, in milliseconds; its output is checked, then dropped. */
function run(c: Case): { ms: number; out: string } {
  // Others editing lib/ meanwhile would make bin rebuild inside a timed run: rebuild outside it.
  if (!c.fromSource && bundle.isStale()) bundle.build();
  const env = { ...process.env, MOMENT_FROM_SOURCE: c.fromSource ? '1' : '0' };
  const started = process.hrtime.bigint();
  const done = spawnSync(process.execPath, c.args, { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (done.status !== 0) throw new Error(`${c.name} exited with ${done.status}: ${done.stderr}`);
  return { ms, out: done.stdout };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

function main(): void {
  const built = bundle.build();
  console.log(`moment as a whole process: ${RUNS} runs of each case in turn, after one warm-up run of each (wall time, spawn to exit)`);
  console.log(`bundle dist/cli/moment.js: ${(built.bytes / 1024).toFixed(0)} KB from ${built.inputs} sources\n`);
  const times = new Map<Case, number[]>(CASES.map((c) => [c, []]));
  const outputs = new Map<Case, string>();
  for (const c of CASES) outputs.set(c, run(c).out);
  for (let i = 0; i < RUNS; i++) for (const c of CASES) times.get(c)?.push(run(c).ms);

  const width = Math.max(...CASES.map((c) => c.name.length));
  for (const c of CASES) {
    const xs = [...(times.get(c) ?? [])].sort((a, b) => a - b);
    console.log(
      `  ${c.name.padEnd(width)}  median ${median(xs).toFixed(0).padStart(5)} ms   spread ${xs[0]?.toFixed(0)}-${xs.at(-1)?.toFixed(0)} ms`,
    );
  }
  const ms = (name: string) => median(times.get(CASES.find((c) => c.name === name) as Case) ?? []);
  const firstLine = (name: string) => outputs.get(CASES.find((c) => c.name === name) as Case)?.split('\n')[0];
  console.log(`\n  moment rules:  ${firstLine('moment rules, compiled')}`);
  console.log(`  node-fpgrowth: ${firstLine('node-fpgrowth, itemsets only')}`);
  const ours = ms('moment rules, compiled');
  const theirs = ms('node-fpgrowth, itemsets only');
  console.log(`\n  moment --help, compiled: ${ms('moment --help, compiled').toFixed(0)} ms (${(ms('moment --help, compiled') - ms('node -e 0 (node itself)')).toFixed(0)} ms above node itself; through tsx ${ms('moment --help, through tsx').toFixed(0)} ms)`);
  console.log(`  whole process, rules (moment, with rule generation) against itemsets (node-fpgrowth): moment is ${(theirs / ours).toFixed(2)}x as fast (median against median; through tsx ${(theirs / ms('moment rules, through tsx')).toFixed(2)}x)`);
}

main();
