/**
 * Runs the nightly job's state machine (lib/learn/state-machine.ts) on this machine with a local
 * ASL interpreter (aws-local-stepfunctions), each task mapped to the same function its Lambda runs,
 * printing progress per state. A night runs once: its execution name is recorded in the job's blob
 * store, as Step Functions refuses a second execution of the same name.
 */
import { StateMachine } from 'aws-local-stepfunctions';

type EventLog = Awaited<ReturnType<ReturnType<StateMachine['run']>['eventLogs']['next']>>['value'];
import { executionMarker, nightlyTasks, type NightlyPorts } from '../lib/learn/nightly-job';
import { executionName, NIGHTLY_MAPS, NIGHTLY_TASKS, nightlyDefinition, type NightlyTask } from '../lib/learn/state-machine';

/** aws-local-stepfunctions declares Node 22; on Node 20 it needs this one function. */
function polyfillWithResolvers(): void {
  const P = Promise as unknown as { withResolvers?: () => unknown };
  if (P.withResolvers) return;
  P.withResolvers = () => {
    let resolve: unknown;
    let reject: unknown;
    const promise = new Promise((a, b) => ((resolve = a), (reject = b)));
    return { promise, resolve, reject };
  };
}

export class AlreadyRan extends Error {}

export interface LocalRun {
  name: string;
  succeeded: boolean;
  output: unknown;
}

/** Each task state mapped to the function its Lambda runs, retried at once and the exports polled without a wait (no backoff waits on this machine). */
export function localOverrides(tasks: ReturnType<typeof nightlyTasks>) {
  return {
    taskResourceLocalHandlers: Object.fromEntries(NIGHTLY_TASKS.map((t) => [t, (input: unknown) => tasks[t](input as never) as never])),
    retryIntervalOverrides: Object.fromEntries(NIGHTLY_TASKS.map((t) => [t, 0])),
    waitTimeOverrides: { WaitForExport: 0 },
  };
}

/** The context object's execution, as Step Functions gives it (Snapshot tells its own retry from another execution by it). */
export const localContext = (name: string) => ({ Execution: { Id: `arn:aws:states:local:000000000000:execution:moment-nightly:${name}`, Name: name } });

const localArn = (task: NightlyTask) => `arn:aws:lambda:us-east-1:000000000000:function:moment-nightly-${task}`;

export async function runNightlyLocally(ports: NightlyPorts, night: string, progress: (line: string) => void = () => undefined): Promise<LocalRun> {
  polyfillWithResolvers();
  const name = executionName(night);
  // Snapshot claims the night (as on AWS); asked first, a second start is refused before it runs at all.
  if ((await ports.blobs.get(executionMarker(night))) !== undefined) throw new AlreadyRan(`${name} has run already (a night runs once)`);
  const machine = new StateMachine(nightlyDefinition({ resources: Object.fromEntries(NIGHTLY_TASKS.map((t) => [t, localArn(t)])) as Record<NightlyTask, string> }) as never);
  const execution = machine.run({ night } as never, { overrides: localOverrides(nightlyTasks(ports)), context: localContext(name) as never });
  const logged = logProgress(execution.eventLogs, progress);
  try {
    const output = await execution.result;
    await logged;
    return { name, succeeded: true, output };
  } catch (e) {
    await logged;
    return { name, succeeded: false, output: (await ports.blobs.get(`reports/${night}.json`)) ?? { error: String(e) } };
  }
}

/** What a failed state's event says went wrong (the interpreter gives an Error and a Cause). */
function failureOf(e: unknown): string {
  const error = (e as { error?: { Error?: unknown; Cause?: unknown; message?: unknown } }).error;
  return String(error?.Cause ?? error?.message ?? error?.Error ?? '');
}

/** How many items each Map state goes over, from its input. */
const MAP_ITEMS: Record<keyof typeof NIGHTLY_MAPS, (input: NightState) => unknown[] | undefined> = {
  Merges: (i) => i.exported?.profiles,
  Partition: (i) => i.exported?.events,
  Group: (i) => i.snapshot?.shards,
  Score: (i) => i.snapshot?.shards,
};
type NightState = { exported?: { profiles?: unknown[]; events?: unknown[] }; snapshot?: { shards?: unknown[] } };
const UNIT: Record<keyof typeof NIGHTLY_MAPS, string> = { Merges: 'profiles file', Partition: 'events file', Group: 'shard', Score: 'shard' };
/** The tasks run once per Map item: their progress is the Map's. */
const ITEM_TASKS: ReadonlySet<string> = new Set(Object.values(NIGHTLY_MAPS));

/** One line per state entered and left (with seconds), per retry, and per Map item done of all. */
async function logProgress(events: AsyncGenerator<EventLog>, progress: (line: string) => void): Promise<void> {
  const started = Date.now();
  const at = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s`;
  const done = new Map<string, number>();
  const line = (name: string, text: string) => progress(`${at()}  ${name.padEnd(16)} ${text}`);
  for await (const e of events) {
    const state = 'state' in e ? (e.state as { name: string; input?: unknown }) : undefined;
    if (e.type === 'MapIterationSucceeded' && 'parentState' in e) {
      const map = e.parentState.name as keyof typeof NIGHTLY_MAPS;
      const count = (done.get(map) ?? 0) + 1;
      done.set(map, count);
      line(map, `${UNIT[map] ?? 'item'} ${count} of ${MAP_ITEMS[map]?.(e.parentState.input as NightState)?.length ?? '?'}`);
    } else if (state === undefined || (ITEM_TASKS.has(state.name) && e.type !== 'StateFailed' && e.type !== 'StateRetried')) continue;
    else if (e.type === 'StateEntered') line(state.name, 'started');
    else if (e.type === 'StateExited') line(state.name, 'done');
    else if (e.type === 'StateRetried') line(state.name, 'failed, retrying');
    else if (e.type === 'StateFailed') line(state.name, `failed: ${failureOf(e).slice(0, 200)}`);
    else if (e.type === 'StateCaught') line(state.name, 'caught: the champion stays');
  }
}
