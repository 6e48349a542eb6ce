import { passed, printReport } from '../../bench/reliability';
import { runReliability } from '../../bench/reliability/harness';

/**
 * The reliability suite at small scale (issue #13): load through the collector (the official Segment
 * client among the senders) and decisions at a fixed rate, a family tablet shared by two customers,
 * copies of messages sent again on other shards, the nightly job writing scores meanwhile, DynamoDB
 * throttles and timeouts injected into the ingest, the ingest process killed mid-batch and restarted,
 * the whole stream delivered again, hostile payloads to every API and the stream, campaign e-mails for
 * every product view under the contact policy's caps. Two seeds.
 * `npm run bench:reliability` runs it larger.
 */
it.each([11, 3])('accounts for every accepted event with seed %i: nothing lost or counted twice, statistics as sent, no 5xx, profiles as a clean run, no e-mail past a cap, no personal data in clear', async (seed) => {
  const report = await runReliability({ seed, people: 20, rate: 40, seconds: 5, decisionsPerSecond: 8, kills: 2, throttle: 0.02, timeout: 0.01, fuzzInputs: 80 });
  const lines: string[] = [];
  printReport(report, (line) => lines.push(line));
  console.log(`reliability (small scale, seed ${seed})\n${lines.join('\n')}`);
  expect(report.accepted).toBeGreaterThan(150);
  expect(report.inProfiles).toBe(report.accepted);
  expect(report.lost).toBe(0);
  expect(report.countedTwice).toBe(0);
  expect(report.lostDetail.countedOverAll).toBe(report.lostDetail.storedOverAll);
  expect(report.countMismatches).toEqual([]);
  expect(report.offerStatisticsMismatches).toEqual([]);
  expect(report.fiveXx).toBe(0);
  expect(report.faults.throttles + report.faults.timeouts).toBeGreaterThan(0);
  expect(report.faults.kills).toBe(2);
  expect(report.differentFromCleanRun).toEqual([]);
  expect(report.replayChanges).toEqual([]);
  expect(report.personalDataInClear).toEqual([]);
  // Campaign e-mails for every product view: none past a cap, and her contact ledger counts each of her contacts once.
  expect(report.campaigns.sends).toBeGreaterThan(0);
  expect(report.campaigns.overCap).toEqual([]);
  expect(report.campaigns.ledgerMismatches).toEqual([]);
  expect(passed(report)).toBe(true);
});
