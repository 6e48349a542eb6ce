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
  print(`over all profiles    ${r.lostDetail.countedOverAll} events counted, ${r.lostDetail.storedOverAll} stored  ${ok(r.lostDetail.countedOverAll === r.lostDetail.storedOverAll)}`);
  print(`counts per person    ${r.countMismatches.length === 0 ? 'views, adds, orders, revenue, pages as sent' : r.countMismatches.slice(0, 3).join('; ')}  ${ok(r.countMismatches.length === 0)}`);
  print(`offer statistics     ${r.offerStatisticsMismatches.length === 0 ? 'impressions as the feedback accepted' : r.offerStatisticsMismatches.slice(0, 3).join('; ')}  ${ok(r.offerStatisticsMismatches.length === 0)}`);
  print(`producer copies      ${r.copies} sent again on other shards, counted once`);
  print(`score writes         ${r.scoreWrites} during the load (another writer of the profiles)`);
  print(`decisions            ${r.decisions}`);
  print(`faults injected      ${r.faults.throttles} throttles, ${r.faults.timeouts} timeouts after the write, ${r.faults.kills} ingest kills, ${r.faults.replays} full redelivery`);
  print(`inputs tried         ${r.inputsTried} hostile payloads (collector, decisions, profiles, raw stream records)`);
  print(`5xx answers          ${r.fiveXx}  ${ok(r.fiveXx === 0)}`);
  print(`clean-run profiles   ${r.differentFromCleanRun.length === 0 ? 'equal' : `differ for ${r.differentFromCleanRun.slice(0, 5).join(', ')}`}  ${ok(r.differentFromCleanRun.length === 0)}`);
  print(`redelivery of all    ${r.replayChanges.length === 0 ? 'changed nothing' : 'CHANGED STATE'}  ${ok(r.replayChanges.length === 0)}`);
  for (const change of r.replayChanges) print(`  ${change}`);
  const c = r.campaigns;
  print(`campaign e-mails     ${c.sends} to ${c.people} people, ${c.capped} stopped by a cap`);
  print(`caps                 ${c.overCap.length === 0 ? 'no e-mail took a person past any cap on any day (counting all her contacts before it)' : c.overCap.slice(0, 3).join('; ')}  ${ok(c.overCap.length === 0)}`);
  print(`                     ${c.overByImpressions} person-days ended over the global cap by in-app impressions counted after it was reached`);
  print(`contact ledger       ${c.ledgerMismatches.length === 0 ? 'each contact counted once, none lost' : c.ledgerMismatches.slice(0, 3).join('; ')}  ${ok(c.ledgerMismatches.length === 0)}`);
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
  process.exit(passed(report) ? 0 : 1);
}

/** Every check of the run held. */
export function passed(r: ReliabilityReport): boolean {
  return (
    r.lost === 0 &&
    r.countedTwice === 0 &&
    r.lostDetail.countedOverAll === r.lostDetail.storedOverAll &&
    r.countMismatches.length === 0 &&
    r.offerStatisticsMismatches.length === 0 &&
    r.fiveXx === 0 &&
    r.differentFromCleanRun.length === 0 &&
    r.replayChanges.length === 0 &&
    r.campaigns.overCap.length === 0 &&
    r.campaigns.ledgerMismatches.length === 0 &&
    r.personalDataInClear.length === 0
  );
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
