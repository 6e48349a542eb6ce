/**
 * The nightly job as one Amazon States Language definition, the same for the CDK app and the local
 * runner:
 *
 *   Begin (the execution's id into the state)
 *   -> Snapshot (claim the night; export the events and profiles tables at one point in time)
 *   -> ExportStatus / WaitForExport until both exports are complete
 *   -> Merges (a Map over the exported profiles files: tombstones, live profiles by shard)
 *   -> Roots (every tombstone's live profile)
 *   -> Partition (a Map over the exported events files: each event to its customer's shard)
 *   -> Group (a Map over shards: each customer's events; the shard's share of the training sample)
 *   -> Learn (in parallel: Train the challenger and mine rules on the sample; fit the Value model)
 *   -> Score (a Map over shards: each customer's batch attributes written to her profile)
 *   -> Publish (the artifact, only if it changed) -> Report.
 *
 * The Maps are Distributed Maps: on AWS each item runs as a child execution, so a night's work
 * grows with the number of exported files and shards, not with one function's memory and time
 * (the local interpreter runs them in process). Every task retries with backoff; a failure in any
 * step up to Publish is caught by KeepChampion, which records it in the night's report (the model
 * is published last, so it stays as it was), and the execution then fails visibly. Tasks pass small
 * summaries; the data itself goes through the job's blob store (S3 on AWS, files locally).
 */

/** The task states, each a Lambda function on AWS or a local handler. */
export const NIGHTLY_TASKS = ['Snapshot', 'ExportStatus', 'ReadProfiles', 'Roots', 'SplitEvents', 'GroupShard', 'Train', 'Value', 'WriteAttributes', 'Publish', 'Report', 'KeepChampion'] as const;
export type NightlyTask = (typeof NIGHTLY_TASKS)[number];

/** The Map states and the task each runs per item. */
export const NIGHTLY_MAPS = { Merges: 'ReadProfiles', Partition: 'SplitEvents', Group: 'GroupShard', Score: 'WriteAttributes' } as const satisfies Record<string, NightlyTask>;

export interface DefinitionOptions {
  /** Each task's resource (a Lambda function ARN). */
  resources: Record<NightlyTask, string>;
  /** How many items of each Map run at once (default 10). */
  concurrency?: number;
  /** Seconds between looks at the exports' progress (default 60). */
  exportPollSeconds?: number;
}

/** Retried with backoff: 5 s, 10 s, 20 s (a night that has run already, or a failed export, is not retried). */
const RETRY = [
  { ErrorEquals: ['NightAlreadyRan', 'ExportFailed'], MaxAttempts: 0 },
  { ErrorEquals: ['States.ALL'], IntervalSeconds: 5, MaxAttempts: 3, BackoffRate: 2 },
];
/** A night that has run already stops at once; anything else that still fails keeps the champion, and the failure goes into the report. */
const CATCH = [
  { ErrorEquals: ['NightAlreadyRan'], Next: 'AlreadyRan' },
  { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'KeepChampion' },
];

export function nightlyDefinition(options: DefinitionOptions) {
  const task = (name: NightlyTask, rest: Record<string, unknown>) => ({ Type: 'Task', Resource: options.resources[name], Retry: RETRY, ...rest });
  /** A Distributed Map running `name` once per item of `items` (its input: the night and the item). */
  const map = (name: NightlyTask, items: string, rest: Record<string, unknown>) => ({
    Type: 'Map',
    ItemsPath: items,
    ItemSelector: { 'night.$': '$.night', 'item.$': '$$.Map.Item.Value' },
    MaxConcurrency: options.concurrency ?? 10,
    ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }, StartAt: name, States: { [name]: task(name, { End: true }) } },
    Catch: CATCH,
    ...rest,
  });
  return {
    Comment: "Moment Engine's nightly learning: association rules, propensity models (champion / challenger), customer value, batch attributes.",
    StartAt: 'Begin',
    States: {
      // The execution goes with the night: Snapshot's claim and the report are this execution's.
      Begin: { Type: 'Pass', Parameters: { 'night.$': '$.night', 'execution.$': '$$.Execution.Id' }, Next: 'Snapshot' },
      Snapshot: task('Snapshot', { ResultPath: '$.snapshot', Next: 'ExportStatus', Catch: CATCH }),
      ExportStatus: task('ExportStatus', { ResultPath: '$.exported', Next: 'ExportReady', Catch: CATCH }),
      ExportReady: { Type: 'Choice', Choices: [{ Variable: '$.exported.ready', BooleanEquals: true, Next: 'Merges' }], Default: 'WaitForExport' },
      WaitForExport: { Type: 'Wait', Seconds: options.exportPollSeconds ?? 60, Next: 'ExportStatus' },
      Merges: map('ReadProfiles', '$.exported.profiles', { ResultPath: null, Next: 'Roots' }),
      Roots: task('Roots', { ResultPath: '$.roots', Next: 'Partition', Catch: CATCH }),
      Partition: map('SplitEvents', '$.exported.events', { ResultPath: null, Next: 'Group' }),
      // Each shard's counts (a few numbers a shard) go on for the report.
      Group: map('GroupShard', '$.snapshot.shards', { ResultPath: '$.grouped', Next: 'Learn' }),
      Learn: {
        Type: 'Parallel',
        Branches: [
          { StartAt: 'Train', States: { Train: task('Train', { End: true }) } },
          { StartAt: 'Value', States: { Value: task('Value', { End: true }) } },
        ],
        ResultSelector: { 'train.$': '$[0]', 'value.$': '$[1]' },
        ResultPath: '$.learned',
        Next: 'Score',
        Catch: CATCH,
      },
      Score: map('WriteAttributes', '$.snapshot.shards', { ResultPath: null, Next: 'Publish' }),
      Publish: task('Publish', { ResultPath: '$.published', Next: 'Report', Catch: CATCH }),
      Report: task('Report', { End: true }),
      KeepChampion: task('KeepChampion', { Next: 'NightFailed' }),
      AlreadyRan: { Type: 'Fail', Error: 'NightAlreadyRan', Cause: 'This night has run already; a night runs once.' },
      NightFailed: { Type: 'Fail', Error: 'NightlyLearningFailed', Cause: 'A step failed after its retries; the champion model stays published and the report says why.' },
    },
  };
}

/** The execution name for a night: a second start the same night is refused (Step Functions keeps names for 90 days). */
export const executionName = (night: string): string => `nightly-${night}`;
