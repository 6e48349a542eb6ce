/**
 * Entry of the local stack's second process (started by local/stack.ts with `node --import tsx`):
 * the ingest side. Protocol over IPC: it sends `{ ready, dynamodbEndpoint, kinesisEndpoint }` (or
 * `{ ready: false, error }`); it answers `{ idle: id }` to `{ idle: id, timeoutMs }` once the event
 * source mapping has caught up (or `{ idle: id, error }`); it stops on `"stop"`, on SIGTERM, or when
 * the parent goes away. Ctrl-C reaches the whole process group: the parent orders the shutdown.
 */
import { startIngestSide, type IngestSideOptions } from './ingest-side';

const send = (m: unknown) => process.send?.(m);

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as IngestSideOptions;
  const { emulators, poller } = await startIngestSide(options, (fault, command) => send({ fault, command }));
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await poller.stop();
      await emulators.stop();
      process.exit(0);
    })());
  process.on('message', (m: unknown) => {
    if (m === 'stop') void stop();
    const request = m as { idle?: number; timeoutMs?: number };
    if (typeof request?.idle === 'number') {
      poller.idle(request.timeoutMs).then(
        () => send({ idle: request.idle }),
        (e: Error) => send({ idle: request.idle, error: e.message }),
      );
    }
  });
  process.on('disconnect', () => void stop());
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => void stop());
  send({ ready: true, dynamodbEndpoint: emulators.dynamodbEndpoint, kinesisEndpoint: emulators.kinesisEndpoint });
}

main().catch((e: Error) => {
  send({ ready: false, error: e.message });
  process.exit(1);
});
