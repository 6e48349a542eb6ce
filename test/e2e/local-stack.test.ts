import { startLocalStack } from '../../local/stack';
import { alive } from '../support/processes';

/** The local stack in two processes: this one serves HTTP, the second ingests; stop() ends both. */

it('ingests in a second process that the HTTP side waits on and stop() ends', async () => {
  const stack = await startLocalStack({ port: 0, quiet: true });
  const pid = stack.emulators.pid as number;
  try {
    expect(pid).not.toBe(process.pid);
    expect(alive(pid)).toBe(true);
    const sent = await fetch(`${stack.url}/v1/track`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('dev-write-key:').toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ anonymousId: 'two-process', event: 'Product Viewed', properties: { product_id: 'lamp-arc' } }),
    });
    expect(sent.status).toBe(200);
    await stack.poller.idle();
    const found = await fetch(`${stack.url}/v1/identities/anonymousId/two-process`, { headers: { 'x-api-key': 'dev-read-key' } });
    expect(found.status).toBe(200);
  } finally {
    await stack.stop();
  }
  expect(alive(pid)).toBe(false);
});
