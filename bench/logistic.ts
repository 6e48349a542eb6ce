/**
 * Logistic regression benchmark (not a test): the L2-regularised fit of lib/learn/logistic.ts on
 * CoIL 2000 (5,822 customers, 85 numeric columns, target CARAVAN, C = 1) against scikit-learn's
 * `LogisticRegression(solver='newton-cholesky')` on the same standardised columns, in the same run.
 * scikit-learn runs in a Python process of its own (bench/support/logistic_sklearn.py) that answers
 * "fit" with one fit's time. Each is timed in a block of its own after its own warm-up, then the
 * two in turn, one fit of each per round (a change in the machine's load hits both alike, and
 * each fit starts after the other's, its caches and BLAS threads cold, as a fit in a session does). The data are read and encoded once, outside the
 * timings, on both sides. `npm run bench:logistic` (BENCH_RUNS rounds, default 15; PYTHON, default
 * /usr/bin/python3, needs scikit-learn).
 *
 * scikit-learn is timed twice: at tol 1e-12, where it reaches the same coefficients as ours (11
 * Newton iterations each; at tol 1e-10 it stops one iteration earlier, its coefficients off by
 * 1e-8), and at its default tol 1e-4, where it stops after 6, its coefficients off by up to 0.08.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { dataset, parseCsv } from '../lib/learn/csv';
import { fitLogistic, type LogisticModel } from '../lib/learn/logistic';

const file = join(__dirname, '../data/coil-train.csv');
const target = 'CARAVAN';
const C = 1;
const runs = Number(process.env.BENCH_RUNS ?? 15);
const python = process.env.PYTHON ?? '/usr/bin/python3';

interface TheirFit {
  version: string;
  blas: string;
  iterations: number;
  intercept: number;
  coefficients: Record<string, number>;
}

/** A scikit-learn process at one tolerance: its fit, and a way to time one more. */
interface Theirs {
  tol: number;
  fit: TheirFit;
  time(): Promise<number>;
  close(): void;
}

async function startTheirs(tol: number): Promise<Theirs> {
  const child: ChildProcessWithoutNullStreams = spawn(python, [join(__dirname, 'support/logistic_sklearn.py'), file, target, String(C), String(tol)]);
  child.stderr.pipe(process.stderr);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const line = await lines.next();
    if (line.done) throw new Error(`${python} bench/support/logistic_sklearn.py ended early (is scikit-learn installed?)`);
    return line.value;
  };
  const fit = JSON.parse(await next()) as TheirFit;
  return {
    tol,
    fit,
    time: async () => {
      child.stdin.write('fit\n');
      return Number(await next());
    },
    close: () => child.stdin.end(),
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const spread = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return `median ${median(xs).toFixed(1)} ms (min ${sorted[0]?.toFixed(1)}, max ${sorted[sorted.length - 1]?.toFixed(1)})`;
};

/** The largest difference between our standardised fit and theirs, over the intercept and every coefficient. */
function disagreement(ours: LogisticModel, theirs: TheirFit): number {
  let worst = Math.abs(ours.standardizedIntercept - theirs.intercept);
  for (const w of ours.weights) {
    const their = theirs.coefficients[w.column];
    worst = Math.max(worst, their === undefined ? Number.POSITIVE_INFINITY : Math.abs(w.standardized - their));
  }
  return ours.weights.length === Object.keys(theirs.coefficients).length ? worst : Number.POSITIVE_INFINITY;
}

function timeOurs(data: ReturnType<typeof dataset>): { ms: number; model: LogisticModel } {
  const started = process.hrtime.bigint();
  const model = fitLogistic(data, data.y, { C });
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, model };
}

async function main(): Promise<void> {
  const read = process.hrtime.bigint();
  const coil = dataset(parseCsv(readFileSync(file, 'utf8'), file), { target });
  const readMs = Number(process.hrtime.bigint() - read) / 1e6;
  const theirs = [await startTheirs(1e-12), await startTheirs(1e-4)];
  const converged = theirs[0] as Theirs;
  console.log(`Logistic regression (L2, C = ${C}) on CoIL 2000: ${coil.rows} rows, ${coil.columns.length} columns, target ${target}; ${runs} fits of each, after a warm-up`);
  console.log(`scikit-learn ${converged.fit.version}, newton-cholesky, BLAS ${converged.fit.blas}; ours in process (CSV read and encoded once: ${readMs.toFixed(0)} ms, not timed)\n`);

  const model = timeOurs(coil).model;
  for (let i = 0; i < 2; i++) timeOurs(coil);
  for (const t of theirs) await t.time();
  for (const alternating of [false, true]) {
    const { ours, theirTimes } = await measure(coil, theirs, alternating);
    console.log(alternating ? '\nIn turn, one fit of each per round:' : 'Each in a block of its own, after its own warm-up fit:');
    console.log(`  ours                            ${spread(ours)}, ${model.iterations} Newton iterations`);
    for (const [k, t] of theirs.entries()) console.log(`  scikit-learn, tol ${t.tol.toExponential(0).padEnd(6)}            ${spread(theirTimes[k] ?? [])}, ${t.fit.iterations} iterations`);
    for (const [k, t] of theirs.entries()) {
      const times = theirTimes[k] ?? [];
      const ratio = `  ours / scikit-learn at tol ${t.tol.toExponential(0).padEnd(6)}  ${(median(ours) / median(times)).toFixed(2)}x (of the medians)`;
      const perRound = ours.map((o, i) => o / (times[i] as number));
      console.log(alternating ? `${ratio}; per round median ${median(perRound).toFixed(2)}x, from ${Math.min(...perRound).toFixed(2)} to ${Math.max(...perRound).toFixed(2)}` : ratio);
    }
  }
  console.log('');
  for (const t of theirs) console.log(`coefficients (standardised, and the intercept) against scikit-learn at tol ${t.tol.toExponential(0)}: agree to ${disagreement(model, t.fit).toExponential(1)}`);
  for (const t of theirs) t.close();
}

/** `runs` timings of ours and of each of theirs: in turn, one of each per round, or each in a block of its own after a warm-up fit. */
async function measure(coil: ReturnType<typeof dataset>, theirs: Theirs[], alternating: boolean): Promise<{ ours: number[]; theirTimes: number[][] }> {
  const ours: number[] = [];
  const theirTimes: number[][] = theirs.map(() => []);
  if (alternating) {
    for (let round = 0; round < runs; round++) {
      ours.push(timeOurs(coil).ms);
      for (const [k, t] of theirs.entries()) theirTimes[k]?.push(await t.time());
    }
    return { ours, theirTimes };
  }
  timeOurs(coil);
  for (let round = 0; round < runs; round++) ours.push(timeOurs(coil).ms);
  for (const [k, t] of theirs.entries()) {
    await t.time();
    for (let round = 0; round < runs; round++) theirTimes[k]?.push(await t.time());
  }
  return { ours, theirTimes };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
