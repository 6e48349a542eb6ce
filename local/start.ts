/**
 * `npm start`: the whole stack on this machine, nothing but Node. Data is kept in .local-data/
 * between runs (`npm start -- --fresh` wipes it, `--in-memory` keeps nothing). Ctrl-C stops it.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startLocalStack, STACK_PID_FILE } from './stack';

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  const inMemory = args.has('--in-memory');
  const dataDir = inMemory ? undefined : resolve(process.env.LOCAL_DATA_DIR ?? '.local-data');
  if (dataDir && (args.has('--fresh') || process.env.FRESH === '1')) rmSync(dataDir, { recursive: true, force: true });
  const stack = await startLocalStack({ dataDir, quiet: false });
  // Other tools on the same data (npm run train) check this: the emulators hold its files while the stack runs.
  if (dataDir) writeFileSync(join(dataDir, STACK_PID_FILE), String(process.pid));
  const lines = [
    '',
    'Moment Engine local stack is up',
    `  HTTP API     ${stack.url}      (PORT=... to change)`,
    `  DynamoDB     ${stack.emulators.dynamodbEndpoint}    (dynalite)`,
    `  Kinesis      ${stack.emulators.kinesisEndpoint}    (kinesalite)`,
    `  write key    ${process.env.WRITE_KEYS}              (Segment Basic auth user name)`,
    `  API key      ${process.env.API_KEYS}                (x-api-key header)`,
    `  data         ${dataDir ?? '(in memory)'}${dataDir ? '  (kept between runs; npm start -- --fresh to wipe)' : ''}`,
    '',
    'Try it:',
    `  curl -u ${process.env.WRITE_KEYS?.split(',')[0]}: -H 'content-type: application/json' \\`,
    `    -d '{"anonymousId":"a1","event":"Product Viewed","properties":{"product_id":"paint-sage-2l","category":"Paint"}}' \\`,
    `    ${stack.url}/v1/track`,
    `  curl -H 'x-api-key: ${process.env.API_KEYS?.split(',')[0]}' ${stack.url}/v1/identities/anonymousId/a1`,
    '',
    'Ctrl-C to stop.',
  ];
  console.log(lines.join('\n'));
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    await stack.stop();
    if (dataDir) rmSync(join(dataDir, STACK_PID_FILE), { force: true });
    console.log('stopped cleanly');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e) => {
  console.error(`could not start the local stack: ${(e as Error).message}`);
  process.exit(1);
});
