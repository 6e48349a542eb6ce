/**
 * Reliability benchmark (not a test): the embedded stack under load, injected faults and hostile
 * input, then every accepted event accounted for (bench/reliability/harness.ts). The same run at small
 * scale is a test in CI (test/e2e/reliability.test.ts). `npm run bench:reliability`; scale with
 * RELIABILITY_PEOPLE, RELIABILITY_RATE (events/s), RELIABILITY_SECONDS, RELIABILITY_KILLS, RELIABILITY_SEED.
 */
import { runReliability, type ReliabilityReport } from './reliability/harness';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

export function printReport(r: ReliabilityReport, print: (line: string) => void = console.log): void {
  const ok = (good: boolean) => (good ? 'ok' : 'FAILED');
  print(`events sent          ${r.sent}`);
  print(`accepted             ${r.accepted}   (refused by the collector, dead-lettered with their position: ${r.refused})`);
  print(`in profiles          ${r.inProfiles}`);
  print(`dead-lettered        collector ${r.deadLettered.collector}, ingest ${r.deadLettered.ingest}, mapping ${r.deadLettered.mapping}`);
  print(`lost                 ${r.lost}   (not stored ${r.lostDetail.notStored}, not counted ${r.lostDetail.notCounted})  ${ok(r.lost === 0)}`);
  print(`counted twice        ${r.countedTwice}  ${ok(r.countedTwice === 0)}`);
  print(`decisions            ${r.decisions}`);
  print(`faults injected      ${r.faults.throttles} throttles, ${r.faults.timeouts} timeouts after the write, ${r.faults.kills} ingest kills, ${r.faults.replays} full redelivery`);
  print(`inputs tried         ${r.inputsTried} hostile payloads (collector, decisions, profiles, raw stream records)`);
  print(`5xx answers          ${r.fiveXx}  ${ok(r.fiveXx === 0)}`);
  print(`clean-run profiles   ${r.differentFromCleanRun.length === 0 ? 'equal' : `differ for ${r.differentFromCleanRun.slice(0, 5).join(', ')}`}  ${ok(r.differentFromCleanRun.length === 0)}`);
  print(`redelivery of all    ${r.replayChangedNothing ? 'changed nothing' : 'CHANGED STATE'}  ${ok(r.replayChangedNothing)}`);
  print(`personal data        ${r.personalDataInClear.length === 0 ? 'none in clear (tables, stream, API answers)' : r.personalDataInClear.slice(0, 5).join('; ')}  ${ok(r.personalDataInClear.length === 0)}`);
  print(`took                 ${r.seconds.toFixed(1)} s`);
}

async function main(): Promise<void> {
  const options = {
    seed: env('RELIABILITY_SEED', 7),
    people: env('RELIABILITY_PEOPLE', 120),
    rate: env('RELIABILITY_RATE', 150),
    seconds: env('RELIABILITY_SECONDS', 30),
    decisionsPerSecond: env('RELIABILITY_DECISIONS', 20),
    kills: env('RELIABILITY_KILLS', 5),
    throttle: env('RELIABILITY_THROTTLE', 0.02),
    timeout: env('RELIABILITY_TIMEOUT', 0.01),
    fuzzInputs: env('RELIABILITY_FUZZ', 600),
  };
  console.log(`Reliability run: ${JSON.stringify(options)}\n`);
  const report = await runReliability({ ...options, log: (line) => console.log(`  ${line}`) });
  console.log('');
  printReport(report);
  const failed = report.lost > 0 || report.countedTwice > 0 || report.fiveXx > 0 || report.differentFromCleanRun.length > 0 || !report.replayChangedNothing || report.personalDataInClear.length > 0;
  process.exit(failed ? 1 : 0);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
