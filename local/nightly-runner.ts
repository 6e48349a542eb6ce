/**
 * Runs the nightly job's state machine (lib/learn/state-machine.ts) on this machine with a local
 * ASL interpreter (aws-local-stepfunctions), each task mapped to the same function its Lambda runs,
 * printing progress per state. A night runs once: its execution name is recorded in the job's blob
 * store, as Step Functions refuses a second execution of the same name.
 */
import { StateMachine } from 'aws-local-stepfunctions';

type EventLog = Awaited<ReturnType<ReturnType<StateMachine['run']>['eventLogs']['next']>>['value'];
import { executionMarker, nightlyTasks, type NightlyPorts } from '../lib/learn/nightly-job';
import { executionName, NIGHTLY_TASKS, nightlyDefinition, type NightlyTask } from '../lib/learn/state-machine';

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

/** Each task state mapped to the function its Lambda runs, retried at once (no backoff waits on this machine). */
export function localOverrides(tasks: ReturnType<typeof nightlyTasks>) {
  return {
    taskResourceLocalHandlers: Object.fromEntries(NIGHTLY_TASKS.map((t) => [t, (input: unknown) => tasks[t](input as never) as never])),
    retryIntervalOverrides: Object.fromEntries(NIGHTLY_TASKS.map((t) => [t, 0])),
  };
}

const localArn = (task: NightlyTask) => `arn:aws:lambda:us-east-1:000000000000:function:moment-nightly-${task}`;

export async function runNightlyLocally(ports: NightlyPorts, night: string, progress: (line: string) => void = () => undefined): Promise<LocalRun> {
  polyfillWithResolvers();
  const name = executionName(night);
  // Snapshot claims the night (as on AWS); asked first, a second start is refused before it runs at all.
  if ((await ports.blobs.get(executionMarker(night))) !== undefined) throw new AlreadyRan(`${name} has run already (a night runs once)`);
  const machine = new StateMachine(nightlyDefinition({ resources: Object.fromEntries(NIGHTLY_TASKS.map((t) => [t, localArn(t)])) as Record<NightlyTask, string> }) as never);
  const execution = machine.run({ night } as never, { overrides: localOverrides(nightlyTasks(ports)) });
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

/** One line per state entered and left (with seconds), per retry and per scoring batch done of all. */
async function logProgress(events: AsyncGenerator<EventLog>, progress: (line: string) => void): Promise<void> {
  const started = Date.now();
  const at = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s`;
  let batches = 0;
  let done = 0;
  for await (const e of events) {
    const state = 'state' in e ? (e.state as { name: string; input?: unknown }) : undefined;
    if (e.type === 'StateEntered' && state?.name === 'Score') batches = ((state.input as { snapshot?: { batches?: unknown[] } })?.snapshot?.batches ?? []).length;
    if (e.type === 'MapIterationSucceeded') progress(`${at()}  Score            batch ${++done} of ${batches}`);
    else if (e.type === 'StateEntered' && state) progress(`${at()}  ${state.name.padEnd(16)} started`);
    else if (e.type === 'StateExited' && state) progress(`${at()}  ${state.name.padEnd(16)} done`);
    else if (e.type === 'StateRetried' && state) progress(`${at()}  ${state.name.padEnd(16)} failed, retrying`);
    else if (e.type === 'StateFailed' && state) progress(`${at()}  ${state.name.padEnd(16)} failed: ${failureOf(e).slice(0, 200)}`);
    else if (e.type === 'StateCaught' && state) progress(`${at()}  ${state.name.padEnd(16)} caught: the champion stays`);
  }
}
