import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { provision, startEmulators, type Emulators } from './emulators';
import type { FaultKind } from './faults';
import { lambdaContext, startHttpApi, type HttpFunction, type LocalHttpApi } from './http';
import { configureEnvironment, type IngestSideOptions } from './ingest-side';
import { parseCorsOrigins } from '../lib/http/cors';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadCampaigns } from '../lib/campaign/campaign';
import { LocalBus, LocalScheduler, localClock, type Delivery, type LocalClock } from './activation';
import { localRoutes } from './local-routes';

/**
 * The embedded local stack, in two processes as on AWS the API's functions and the ingest run apart:
 * this one serves the HTTP API with the same handlers Lambda runs; a second one (local/ingest-side.ts)
 * runs the AWS API emulators (dynalite, kinesalite), the tables and stream provisioned from the
 * shared definitions, and the Lambda event source mapping feeding the ingest handler. Both talk to the
 * emulators through the real AWS SDK clients.
 *
 * With `separateEmulators` the emulators run in a third process, so the ingest process can be killed
 * mid-batch and started again, as Lambda's are (reliability runs); the mapping then resumes from its
 * checkpoints and redelivers what was in flight.
 */
export interface LocalStackOptions extends Omit<IngestSideOptions, 'attach'> {
  /** HTTP port (0: any free port). Default: PORT or 3000. */
  port?: number;
  separateEmulators?: boolean;
  /** The campaigns' clock: `manual` keeps its own, moved by POST /local/clock. Default: LOCAL_CLOCK, else real. */
  clock?: 'real' | 'manual';
  /** Where a manual clock starts (an instant). Default: LOCAL_CLOCK_START, else now. */
  clockStart?: string;
}

/** The event source mapping, seen from this process. */
export interface MappingControl {
  /** Resolves once the mapping has read every shard to its end and nothing is in flight. */
  idle(timeoutMs?: number): Promise<void>;
}

/** The ingest process, seen from this process (kill and restart need `separateEmulators`). */
export interface IngestControl {
  pid(): number | undefined;
  /** Kills the ingest process at once (SIGKILL, as a Lambda timeout or crash), wherever it is. */
  kill(): Promise<void>;
  /** Starts it again: the mapping resumes from its checkpoints. */
  restart(): Promise<void>;
  /** Faults injected into its DynamoDB client so far (all processes it ran in), by kind. */
  faults: Record<FaultKind, number>;
}

export interface LocalStack {
  url: string;
  /** The campaigns' clock (real, or manual: moved by POST /local/clock). */
  clock: LocalClock;
  emulators: { dynamodbEndpoint: string; kinesisEndpoint: string; pid?: number };
  poller: MappingControl;
  ingest: IngestControl;
  stop(): Promise<void>;
}

type Reply = { ready?: boolean; dynamodbEndpoint?: string; kinesisEndpoint?: string; error?: string; idle?: number; fault?: FaultKind };

function startIngestProcess(options: IngestSideOptions): Promise<{ child: ChildProcess; endpoints: { dynamodbEndpoint: string; kinesisEndpoint: string } }> {
  const child = fork(join(__dirname, 'ingest-process.ts'), [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx'],
    // This process's environment as it is now (a test runner's sandbox may differ from the real one).
    env: { ...process.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the ingest process exited (code ${code}) before it was ready`));
    child.once('error', reject);
    child.once('exit', onExit);
    const onReady = (m: Reply) => {
      if (m.ready === undefined) return;
      child.off('message', onReady);
      child.off('exit', onExit);
      if (!m.ready) return reject(new Error(m.error ?? 'the ingest process could not start'));
      resolve({ child, endpoints: { dynamodbEndpoint: m.dynamodbEndpoint as string, kinesisEndpoint: m.kinesisEndpoint as string } });
    };
    child.on('message', onReady);
  });
}

/** Stops a child: asks it to stop, and kills it if it has not within `graceMs`. */
async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send('stop', (e) => e && child.kill('SIGKILL'));
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Written into the data directory while `npm start` runs on it, with its process id. */
export const STACK_PID_FILE = 'stack.pid';

/** The process id of a local stack running on this data directory, if one is. */
export function runningStack(dataDir: string): number | undefined {
  const file = join(dataDir, STACK_PID_FILE);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8'));
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const { port: requestedPort, separateEmulators, clock: clockMode, clockStart, ...ingestOptions } = options;
  const clock = localClock(clockMode ?? process.env.LOCAL_CLOCK, clockStart ?? process.env.LOCAL_CLOCK_START);
  // The activation bus first: the ingest process announces profile changes on it.
  const bus = new LocalBus(lambdaContext, () => clock.now());
  const busUrl = await bus.start();
  // The e-mail and SMS channels' calls (SES v2, SNS) go to the same local server, which keeps them for the outbox.
  const busEnv = { AWS_ENDPOINT_URL_EVENTBRIDGE: busUrl, AWS_ENDPOINT_URL_SESV2: busUrl, AWS_ENDPOINT_URL_SNS: busUrl, ACTIVATION_BUS_NAME: process.env.ACTIVATION_BUS_NAME ?? 'activation' };
  const previousEnv = Object.fromEntries(Object.keys(busEnv).map((k) => [k, process.env[k]]));
  Object.assign(process.env, busEnv);
  let emulators: Emulators | undefined;
  if (separateEmulators) {
    emulators = await startEmulators({ dataDir: options.dataDir });
    await provision(emulators);
  }
  const sideOptions: IngestSideOptions = { ...ingestOptions, ...(emulators ? { attach: { dynamodbEndpoint: emulators.dynamodbEndpoint, kinesisEndpoint: emulators.kinesisEndpoint } } : {}) };
  const faults: Record<FaultKind, number> = { throttle: 0, timeout: 0 };
  let stopping = false;
  let child!: ChildProcess;
  const adopt = (c: ChildProcess) => {
    child = c;
    c.on('error', () => undefined);
    c.on('message', (m: Reply) => {
      if (m.fault !== undefined) faults[m.fault] += 1;
    });
    c.once('exit', (_code, signal) => {
      if (!stopping && signal !== 'SIGKILL') console.error("the local stack's ingest process stopped unexpectedly");
    });
  };
  let started: Awaited<ReturnType<typeof startIngestProcess>>;
  try {
    started = await startIngestProcess(sideOptions);
  } catch (e) {
    await emulators?.stop();
    throw e;
  }
  adopt(started.child);
  const { endpoints } = started;
  let scheduler: LocalScheduler | undefined;
  const stopChildren = async () => {
    stopping = true;
    scheduler?.stop();
    await stopProcess(child);
    await emulators?.stop();
    await bus.stop();
    for (const [k, v] of Object.entries(previousEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };

  let http: LocalHttpApi;
  try {
    configureEnvironment(endpoints);
    // Imported only now, so their clients and configuration see the environment above.
    const [collect, profiles, decide, privacy, campaigns, trigger, send, resources] = await Promise.all([
      import('../functions/collect/handler.js'),
      import('../functions/profiles/handler.js'),
      import('../functions/decide/handler.js'),
      import('../functions/privacy/handler.js'),
      import('../functions/campaigns/handler.js'),
      import('../functions/activate/trigger.js'),
      import('../functions/activate/send.js'),
      import('../functions/commons/resources.js'),
    ]);
    resources.resetResources();
    resources.setClock(() => clock.now());
    bus.deliverTo(trigger.handler as unknown as (e: unknown, c: Context) => Promise<unknown>);
    const activeScheduler = new LocalScheduler(clock, () => resources.getStores().activations, send.handler as unknown as (e: SQSEvent, c: Context) => Promise<SQSBatchResponse>, lambdaContext);
    scheduler = activeScheduler;
    const webhooks: Delivery[] = [];
    http = await startHttpApi(
      {
        collect: collect.handler as unknown as HttpFunction,
        profiles: profiles.handler as unknown as HttpFunction,
        decide: decide.handler as unknown as HttpFunction,
        privacy: privacy.handler as unknown as HttpFunction,
        campaigns: campaigns.handler as unknown as HttpFunction,
      },
      {
        port: requestedPort ?? Number(process.env.PORT ?? 3000),
        corsOrigins: parseCorsOrigins(process.env.CORS_ORIGINS),
        local: localRoutes({
          scheduler: activeScheduler,
          bus,
          webhooks,
          activations: () => resources.getStores().activations,
          campaigns: () => resources.getCampaignSource().get(),
          keys: () => resources.getKeys(),
        }),
      },
    );
    // Webhook channels deliver to the stack's own sink unless told otherwise.
    for (const [channel, c] of Object.entries(loadCampaigns().channels)) {
      if (c.adapter === 'webhook') process.env[`WEBHOOK_URL_${channel.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`] ??= `${http.url}/local/webhook-sink/${channel}`;
    }
    activeScheduler.start();
  } catch (e) {
    await stopChildren();
    throw e;
  }

  let next = 0;
  const poller: MappingControl = {
    idle: (timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const id = ++next;
        const asked = child;
        const onReply = (m: Reply) => {
          if (m.idle !== id) return;
          asked.off('message', onReply);
          if (m.error) reject(new Error(m.error));
          else resolve();
        };
        asked.on('message', onReply);
        asked.send({ idle: id, timeoutMs });
      }),
  };
  const ingest: IngestControl = {
    pid: () => child.pid,
    faults,
    kill: async () => {
      if (!emulators) throw new Error('the ingest process can be killed only with separateEmulators (it holds the emulators otherwise)');
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    },
    restart: async () => {
      if (child.exitCode === null && child.signalCode === null) await stopProcess(child);
      adopt((await startIngestProcess(sideOptions)).child);
    },
  };
  const api = http;
  return {
    url: api.url,
    clock,
    emulators: { ...endpoints, pid: emulators?.pid ?? child.pid },
    poller,
    ingest,
    stop: async () => {
      await api.close();
      await stopChildren();
    },
  };
}
