/**
 * `npm start`: the whole stack on this machine, nothing but Node. Data is kept in .local-data/
 * between runs (`npm start -- --fresh` wipes it, `--in-memory` keeps nothing). Ctrl-C, or SIGINT,
 * SIGTERM or SIGHUP to `npm start`'s process (or to this one), stops it and every process it started.
 */
import './quiet';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runningStack, startLocalStack, STACK_PID_FILE } from './stack';

const FLAGS = {
  'in-memory': { type: 'boolean', description: 'keep nothing: the emulators hold the data in memory' },
  fresh: { type: 'boolean', description: 'wipe the data folder first (FRESH=1 does the same)' },
  help: { type: 'boolean', description: 'this list' },
} as const;

const USAGE = [
  'npm start [-- options]',
  ...Object.entries(FLAGS).map(([name, f]) => `  --${name.padEnd(10)} ${f.description}`),
  'Environment: LOCAL_DATA_DIR (the data folder, default .local-data), PORT (the HTTP API, default 3000),',
  '  WRITE_KEYS, DECIDE_KEYS, READ_KEYS, ADMIN_KEYS, IDENTITY_SALT (development defaults),',
  '  LOCAL_CLOCK=manual and LOCAL_CLOCK_START=<instant> (the campaigns\' clock, moved by POST /local/clock)',
].join('\n');

/** The options, or a clear refusal of an unknown one (with the known ones). */
function readFlags(argv: string[]): { inMemory: boolean; fresh: boolean } {
  try {
    const { values } = parseArgs({ args: argv, options: Object.fromEntries(Object.entries(FLAGS).map(([k, f]) => [k, { type: f.type }])), strict: true, allowPositionals: false });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    return { inMemory: values['in-memory'] === true, fresh: values.fresh === true || process.env.FRESH === '1' };
  } catch (e) {
    console.error(`npm start: ${(e as Error).message.split('\n')[0]}\n\n${USAGE}`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const flags = readFlags(process.argv.slice(2));
  const dataDir = flags.inMemory ? undefined : resolve(process.env.LOCAL_DATA_DIR ?? '.local-data');
  const other = dataDir === undefined ? undefined : runningStack(dataDir);
  if (other !== undefined) {
    console.error(`npm start: another local stack (process ${other}) is using the data folder ${dataDir}; stop it first, or start this one with LOCAL_DATA_DIR=<another folder> or --in-memory`);
    process.exit(1);
  }
  if (dataDir && flags.fresh) rmSync(dataDir, { recursive: true, force: true });
  const stack = await startLocalStack({ dataDir, quiet: false });
  // Other tools on the same data (npm run train, a second npm start) check this: the emulators hold its files while the stack runs.
  if (dataDir) writeFileSync(join(dataDir, STACK_PID_FILE), String(process.pid));
  console.log(banner(stack.url, stack.emulators, dataDir, stack.clock));

  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${why}: stopping…`);
    await stack.stop();
    if (dataDir) rmSync(join(dataDir, STACK_PID_FILE), { force: true });
    console.log('stopped cleanly');
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(signal));
  watchStarter(() => void stop('the process that started it ended'));
}

/**
 * Stops the stack when the process that started it ends without passing a signal on: npm ends on
 * SIGHUP alone, leaving this process running, holding the port and the data folder. The npm script
 * execs this process (no shell in between, which would keep npm's SIGINT to itself), so its
 * parent is npm, and its parent changes when npm ends.
 */
function watchStarter(onGone: () => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onGone();
    }
  }, 500);
  timer.unref();
}

/** The write keys of WRITE_KEYS, client or server-side (`server:<key>`), as a client sends them. */
function writeKeys(server: boolean): string {
  const entries = (process.env.WRITE_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  return entries.filter((k) => k.startsWith('server:') === server).map((k) => (server ? k.slice('server:'.length) : k)).join(',') || '(none)';
}

function banner(url: string, emulators: { dynamodbEndpoint: string; kinesisEndpoint: string }, dataDir: string | undefined, clock: { mode: string; now(): Date }): string {
  return [
    '',
    'Moment Engine local stack is up',
    `  HTTP API     ${url}      (PORT=... to change)`,
    `  DynamoDB     ${emulators.dynamodbEndpoint}    (dynalite)`,
    `  Kinesis      ${emulators.kinesisEndpoint}    (kinesalite)`,
    `  write key    ${writeKeys(false)}              (collect: Segment Basic auth user name; browsers and apps)`,
    `  server key   ${writeKeys(true)}             (collect from a back end: its context.ip is believed)`,
    `  decision key ${process.env.DECIDE_KEYS}                (x-api-key: POST /v1/decisions)`,
    `  read key     ${process.env.READ_KEYS}               (x-api-key: profiles, identities, offer statistics)`,
    `  admin key    ${process.env.ADMIN_KEYS}              (x-api-key: catalog, model, campaigns, dead letters, privacy API, /local/*)`,
    clock.mode === 'manual'
      ? `  campaigns    manual clock at ${clock.now().toISOString()}  (POST /local/clock {"advance":"PT65M"}; GET /local/outbox)`
      : `  campaigns    real clock  (LOCAL_CLOCK=manual to move it yourself; GET /local/outbox)`,
    `  data         ${dataDir ?? '(in memory)'}${dataDir ? '  (kept between runs; npm start -- --fresh to wipe)' : ''}`,
    '',
    'Try it:',
    `  curl -u ${writeKeys(false).split(',')[0]}: -H 'content-type: application/json' \\`,
    `    -d '{"anonymousId":"a1","event":"Product Viewed","properties":{"product_id":"paint-sage-2l","category":"Paint"}}' \\`,
    `    ${url}/v1/track`,
    `  curl -H 'x-api-key: ${process.env.READ_KEYS?.split(',')[0]}' ${url}/v1/identities/anonymousId/a1`,
    '',
    'Ctrl-C to stop.',
  ].join('\n');
}

main().catch((e) => {
  console.error(`could not start the local stack: ${(e as Error).message.split('\n')[0]}`);
  process.exit(1);
});
