/**
 * Logistic regression benchmark (not a test): the L2-regularised fit of lib/learn/logistic.ts on
 * CoIL 2000 (5,822 customers, 85 numeric columns, target CARAVAN, C = 1) against scikit-learn's
 * `LogisticRegression(solver='newton-cholesky')` on the same standardised columns, in the same run.
 * scikit-learn runs in a Python process of its own (bench/support/logistic_sklearn.py) that answers
 * "fit" with one fit's time, so the two take turns, one fit each per round, after a warm-up: a
 * change in the machine's load hits both alike. The data are read and encoded once, outside the
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
  console.log(`Logistic regression (L2, C = ${C}) on CoIL 2000: ${coil.rows} rows, ${coil.columns.length} columns, target ${target}; ${runs} rounds, one fit of each per round, after a warm-up`);
  console.log(`scikit-learn ${converged.fit.version}, newton-cholesky, BLAS ${converged.fit.blas}; ours in process (CSV read and encoded once: ${readMs.toFixed(0)} ms, not timed)\n`);

  let model = timeOurs(coil).model;
  for (let i = 0; i < 2; i++) timeOurs(coil);
  for (const t of theirs) await t.time();
  const ours: number[] = [];
  const theirTimes: number[][] = theirs.map(() => []);
  for (let round = 0; round < runs; round++) {
    const fit = timeOurs(coil);
    ours.push(fit.ms);
    model = fit.model;
    for (const [k, t] of theirs.entries()) theirTimes[k]?.push(await t.time());
  }
  for (const t of theirs) t.close();

  console.log(`ours                            ${spread(ours)}, ${model.iterations} Newton iterations`);
  for (const [k, t] of theirs.entries()) {
    const times = theirTimes[k] ?? [];
    console.log(`scikit-learn, tol ${t.tol.toExponential(0).padEnd(6)}            ${spread(times)}, ${t.fit.iterations} iterations`);
  }
  for (const [k, t] of theirs.entries()) {
    const times = theirTimes[k] ?? [];
    const perRound = ours.map((o, i) => o / (times[i] as number));
    console.log(
      `ours / scikit-learn at tol ${t.tol.toExponential(0).padEnd(6)}  ${(median(ours) / median(times)).toFixed(2)}x (of the medians; per round median ${median(perRound).toFixed(2)}x, ` +
        `from ${Math.min(...perRound).toFixed(2)} to ${Math.max(...perRound).toFixed(2)}); coefficients agree to ${disagreement(model, t.fit).toExponential(1)}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
