import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startHttpApi, type HttpFunction, type LocalHttpApi } from './http';
import { configureEnvironment, type IngestSideOptions } from './ingest-side';

/**
 * The embedded local stack, in two processes as on AWS the API's functions and the ingest run apart:
 * this one serves the HTTP API with the same handlers Lambda runs; a second one (local/ingest-side.ts)
 * runs the AWS API emulators (dynalite, kinesalite), the tables and stream provisioned from the
 * shared definitions, and the Lambda event source mapping feeding the ingest handler. Both talk to the
 * emulators through the real AWS SDK clients.
 */
export interface LocalStackOptions extends IngestSideOptions {
  /** HTTP port (0: any free port). Default: PORT or 3000. */
  port?: number;
}

/** The event source mapping, seen from this process. */
export interface MappingControl {
  /** Resolves once the mapping has read every shard to its end and nothing is in flight. */
  idle(timeoutMs?: number): Promise<void>;
}

export interface LocalStack {
  url: string;
  emulators: { dynamodbEndpoint: string; kinesisEndpoint: string; pid?: number };
  poller: MappingControl;
  stop(): Promise<void>;
}

type Reply = { ready?: boolean; dynamodbEndpoint?: string; kinesisEndpoint?: string; error?: string; idle?: number };

function startIngestProcess(options: IngestSideOptions): Promise<{ child: ChildProcess; endpoints: { dynamodbEndpoint: string; kinesisEndpoint: string } }> {
  const child = fork(join(__dirname, 'ingest-process.ts'), [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the ingest process exited (code ${code}) before it was ready`));
    child.once('error', reject);
    child.once('exit', onExit);
    child.once('message', (m: Reply) => {
      child.off('exit', onExit);
      if (!m.ready) return reject(new Error(m.error ?? 'the ingest process could not start'));
      resolve({ child, endpoints: { dynamodbEndpoint: m.dynamodbEndpoint as string, kinesisEndpoint: m.kinesisEndpoint as string } });
    });
  });
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const { port: requestedPort, ...ingestOptions } = options;
  const { child, endpoints } = await startIngestProcess(ingestOptions);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping = false;
  child.on('error', () => undefined);
  void exited.then(() => {
    if (!stopping) console.error('the local stack\'s ingest process stopped unexpectedly');
  });
  const stopChild = async () => {
    stopping = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.send('stop', (e) => e && child.kill('SIGKILL'));
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };

  let http: LocalHttpApi;
  try {
    configureEnvironment(endpoints);
    // Imported only now, so their clients and configuration see the environment above.
    const [collect, profiles, decide, resources] = await Promise.all([
      import('../functions/collect/handler.js'),
      import('../functions/profiles/handler.js'),
      import('../functions/decide/handler.js'),
      import('../functions/commons/resources.js'),
    ]);
    resources.resetResources();
    http = await startHttpApi(
      {
        collect: collect.handler as unknown as HttpFunction,
        profiles: profiles.handler as unknown as HttpFunction,
        decide: decide.handler as unknown as HttpFunction,
      },
      { port: requestedPort ?? Number(process.env.PORT ?? 3000) },
    );
  } catch (e) {
    await stopChild();
    throw e;
  }

  let next = 0;
  const poller: MappingControl = {
    idle: (timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const id = ++next;
        const onReply = (m: Reply) => {
          if (m.idle !== id) return;
          child.off('message', onReply);
          if (m.error) reject(new Error(m.error));
          else resolve();
        };
        child.on('message', onReply);
        child.send({ idle: id, timeoutMs });
      }),
  };
  const api = http;
  return {
    url: api.url,
    emulators: { ...endpoints, pid: child.pid },
    poller,
    stop: async () => {
      await api.close();
      await stopChild();
    },
  };
}
