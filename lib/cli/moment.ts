/**
 * `moment`, the command line for data scientists: the nightly job's methods on their own files,
 * and the rollback of a published model.
 * `main` takes the arguments and two streams and answers an exit code (0 done, 1 bad input, 2 bad
 * usage); it never throws and never prints a stack trace for a person's mistake.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readFileSync } from 'node:fs';
import { LearnInputError } from '../learn/errors';

export interface Streams {
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
}

export class UsageError extends Error {}

const USAGE = `moment: the nightly job's methods, on your own files

  moment rules --baskets FILE --min-support S --min-confidence C [--max-length K] [--min-length K] [--top N] [--json]
      association rules (FP-Growth; one item on the right, as arules generates them)
  moment train --train FILE --target COLUMN [--test FILE] [--model logistic|tree|auto] [--folds K] [--scores FILE] [--chart FILE] [--json]
      a purchase-propensity model: cross-validated AUC, decile lift, positives in the top k; test scores
  moment score --model FILE --data FILE [--out FILE]
      scores a file with a model saved by moment train --save-model, as the decision function does
  moment rollback --version VERSION --bucket NAME --config-table NAME
      publishes an earlier model version from the nightly job's registry on AWS again

Run \`moment <command> --help\` for a command's options.
`;

interface Command {
  usage: string;
  run: (args: string[], io: Streams) => Promise<void> | void;
}

/**
 * Each command's module is loaded only when that command is asked for: `moment --help` loads none of
 * them, and only `rollback` loads the AWS SDK (a third of a second at every start otherwise).
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  rules: async () => import('./rules-command.js').then((m) => ({ usage: m.RULES_USAGE, run: m.rulesCommand })),
  train: async () => import('./train-command.js').then((m) => ({ usage: m.TRAIN_USAGE, run: m.trainCommand })),
  score: async () => import('./score-command.js').then((m) => ({ usage: m.SCORE_USAGE, run: m.scoreCommand })),
  rollback: async () => import('./rollback-command.js').then((m) => ({ usage: m.ROLLBACK_USAGE, run: m.rollbackCommand })),
};

export async function main(argv: string[], io: Streams): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (load === undefined) {
    io.err.write(`moment: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  const command = await load();
  if (args.includes('--help') || args.includes('-h')) {
    io.out.write(command.usage);
    return 0;
  }
  try {
    await command.run(args, io);
    return 0;
  } catch (e) {
    return reportFailure(e, name, command.usage, io);
  }
}

function reportFailure(e: unknown, name: string, usage: string, io: Streams): number {
  if (e instanceof LearnInputError) {
    io.err.write(`moment ${name}: ${e.message}\n`);
    return 1;
  }
  if (e instanceof UsageError || isParseArgsError(e)) {
    io.err.write(`moment ${name}: ${(e as Error).message}\n\n${usage}`);
    return 2;
  }
  if (isFileError(e)) {
    io.err.write(`moment ${name}: cannot open ${e.path}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.code}\n`);
    return 1;
  }
  io.err.write(`moment ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
  return 1;
}

const isParseArgsError = (e: unknown): boolean => typeof e === 'object' && e !== null && String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');

const isFileError = (e: unknown): e is { path: string; code: string } =>
  typeof e === 'object' && e !== null && typeof (e as { path?: unknown }).path === 'string' && typeof (e as { code?: unknown }).code === 'string';

// ---- Shared by the commands -----------------------------------------------------------------------

/** Parses a command's options strictly (unknown options and stray arguments are usage errors). */
export function options<const T extends NonNullable<ParseArgsConfig['options']>>(args: string[], spec: T) {
  return parseArgs({ args, options: spec, strict: true as const, allowPositionals: false as const }).values;
}

/** A required option's value. */
export function required(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

/** A number option within bounds, or the fallback when absent. */
export function numberOption(value: string | undefined, name: string, bounds: { min: number; max: number; integer?: boolean }, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const n = Number(value);
  const ok = value.trim() !== '' && Number.isFinite(n) && n >= bounds.min && n <= bounds.max && (!bounds.integer || Number.isInteger(n));
  if (!ok) throw new UsageError(`--${name} must be ${bounds.integer ? 'a whole number' : 'a number'} from ${bounds.min} to ${bounds.max}, not "${value}"`);
  return n;
}

export const readText = (file: string): string => readFileSync(file, 'utf8');
