import { printReport } from '../../bench/reliability';
import { runReliability } from '../../bench/reliability/harness';

/**
 * The reliability suite at small scale (issue #13): load through the collector (the official Segment
 * client among the senders) and decisions at a fixed rate, DynamoDB throttles and timeouts injected
 * into the ingest, the ingest process killed mid-batch and restarted, the whole stream delivered
 * again, hostile payloads to every API and the stream. `npm run bench:reliability` runs it larger.
 */
it('accounts for every accepted event: nothing lost, nothing counted twice, no 5xx, profiles as a clean run, no personal data in clear', async () => {
  const report = await runReliability({ seed: 11, people: 12, rate: 40, seconds: 5, decisionsPerSecond: 8, kills: 2, throttle: 0.02, timeout: 0.01, fuzzInputs: 80 });
  const lines: string[] = [];
  printReport(report, (line) => lines.push(line));
  console.log(`reliability (small scale)\n${lines.join('\n')}`);
  expect(report.accepted).toBeGreaterThan(150);
  expect(report.inProfiles).toBe(report.accepted);
  expect(report.lost).toBe(0);
  expect(report.countedTwice).toBe(0);
  expect(report.fiveXx).toBe(0);
  expect(report.faults.throttles + report.faults.timeouts).toBeGreaterThan(0);
  expect(report.faults.kills).toBe(2);
  expect(report.differentFromCleanRun).toEqual([]);
  expect(report.replayChangedNothing).toBe(true);
  expect(report.personalDataInClear).toEqual([]);
});
