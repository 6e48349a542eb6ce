/**
 * The nightly job as one Amazon States Language definition, the same for the CDK app and the local
 * runner: Snapshot -> Learn (in parallel: Train the challenger and mine rules; Value: CLV, tiers,
 * clusters) -> Score (a Map over batches of customers, writing their batch attributes) -> Publish
 * (the artifact, only if it changed) -> Report. Every task retries with backoff; a failure in any
 * step up to Publish is caught by KeepChampion, which records it in the night's report (the model
 * is published last, so it stays as it was), and the execution then fails visibly. Tasks pass small summaries; the
 * data itself goes through the job's blob store (S3 on AWS, files locally).
 */

/** The task states, each a Lambda function on AWS or a local handler. */
export const NIGHTLY_TASKS = ['Snapshot', 'Train', 'Value', 'WriteAttributes', 'Publish', 'Report', 'KeepChampion'] as const;
export type NightlyTask = (typeof NIGHTLY_TASKS)[number];

export interface DefinitionOptions {
  /** Each task's resource (a Lambda function ARN). */
  resources: Record<NightlyTask, string>;
  /** How many batches of customers are written at once. */
  scoringConcurrency?: number;
}

/** Retried with backoff: 5 s, 10 s, 20 s (a night that has run already is not retried). */
const RETRY = [
  { ErrorEquals: ['NightAlreadyRan'], MaxAttempts: 0 },
  { ErrorEquals: ['States.ALL'], IntervalSeconds: 5, MaxAttempts: 3, BackoffRate: 2 },
];
/** A night that has run already stops at once; anything else that still fails keeps the champion, and the failure goes into the report. */
const CATCH = [
  { ErrorEquals: ['NightAlreadyRan'], Next: 'AlreadyRan' },
  { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'KeepChampion' },
];

export function nightlyDefinition(options: DefinitionOptions) {
  const task = (name: NightlyTask, rest: Record<string, unknown>) => ({ Type: 'Task', Resource: options.resources[name], Retry: RETRY, ...rest });
  return {
    Comment: "Moment Engine's nightly learning: association rules, propensity models (champion / challenger), customer value, batch attributes.",
    StartAt: 'Snapshot',
    States: {
      Snapshot: task('Snapshot', { ResultPath: '$.snapshot', Next: 'Learn', Catch: CATCH }),
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
      Score: {
        Type: 'Map',
        ItemsPath: '$.snapshot.batches',
        ItemSelector: { 'night.$': '$.night', 'batch.$': '$$.Map.Item.Value' },
        MaxConcurrency: options.scoringConcurrency ?? 4,
        ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'WriteAttributes', States: { WriteAttributes: task('WriteAttributes', { End: true }) } },
        ResultPath: '$.scored',
        Next: 'Publish',
        Catch: CATCH,
      },
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
