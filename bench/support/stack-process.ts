/**
 * The local stack in a process of its own, for the HTTP benchmark: the load generator then runs in
 * the benchmark's process, as it would against `npm start`. Reports its URL over IPC; answers
 * "idle" once the event source mapping has caught up; stops on "stop" or when the parent goes.
 */
import { startLocalStack } from '../../local/stack';

async function main(): Promise<void> {
  const stack = await startLocalStack({ port: 0, quiet: true });
  const send = (m: unknown) => process.send?.(m);
  const stop = async () => {
    await stack.stop();
    process.exit(0);
  };
  process.on('message', (m) => {
    if (m === 'idle') void stack.poller.idle(120_000).then(() => send('idle'));
    if (m === 'stop') void stop();
  });
  process.on('disconnect', () => void stop());
  send({ url: stack.url });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
