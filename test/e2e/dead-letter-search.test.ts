import { TABLES } from '../../lib/store/tables';
import { useLocalStack } from '../support/local-api';

/**
 * A write-key holder fills the dead-letter table through the collector (thousands of invalid messages
 * in /v1/batch), then a person is exported and erased through the privacy API on the embedded stack:
 * her letters are found through the index on her identifiers and removed with their index entries,
 * everyone else's stay, and the privacy API never scans the dead-letter table (every DynamoDB call the
 * API's functions make is recorded).
 */
const local = useLocalStack();
/** DynamoDB calls of the API's functions (this process), with the tables they name. */
const calls: Array<{ command: string; tables: string[] }> = [];
beforeAll(async () => {
  const resources = await import('../../functions/commons/resources.js');
  resources.getDynamoClient().middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { TableName?: string; RequestItems?: Record<string, unknown> };
      calls.push({ command: context.commandName ?? '?', tables: input.TableName ? [input.TableName] : Object.keys(input.RequestItems ?? {}) });
      return next(args);
    },
    { step: 'initialize', name: 'recordDeadLetterCalls' },
  );
});
const LETTERS = TABLES.deadLetters.localName;

const send = local.postBatch;
const call = local.withKey;
/** Every item of the dead-letter table (letters and index entries). */
const lettersTable = () => local.scanTable(LETTERS);

/** What the API's functions did to the dead-letter table while `act` ran. */
async function callsDuring<T>(act: () => Promise<T>): Promise<{ result: T; commands: string[] }> {
  const from = calls.length;
  const result = await act();
  return { result, commands: calls.slice(from).filter((c) => c.tables.includes(LETTERS)).map((c) => c.command) };
}

const others = (n: number, from: number) => Array.from({ length: n }, (_, i) => ({ type: 'track', userId: `other-${from + i}`, anonymousId: `other-device-${from + i}`, properties: {} }));

describe('dead letters a write-key holder filled the table with', () => {
  it("do not stand in the way of her export and erasure: hers are found through the index and removed, others' stay, and the table is never scanned", async () => {
    const at = new Date(Date.now() - 3_600_000).toISOString();
    await send([{ type: 'identify', userId: 'nora-5', anonymousId: 'nora-phone', messageId: 'nora-1', timestamp: at, traits: { email: 'nora.quist@example.com' } }]);
    // Thousands of refused messages (a track without its event name), three of them hers: by her userId, from her phone, naming only her address.
    const hers = [
      { type: 'track', userId: 'nora-5', properties: { product_id: 'lamp-1' } },
      { type: 'track', anonymousId: 'nora-phone', properties: {} },
      { type: 'identify', traits: { email: 'Nora.Quist@example.com' } },
    ];
    expect((await send([...others(1_500, 0), hers[0] as Record<string, unknown>, ...others(999, 1_500)])).rejected).toHaveLength(2_500);
    expect((await send([...others(1_501, 2_499), ...hers.slice(1)])).rejected).toHaveLength(1_503);
    await local.stack.poller.idle();
    const noraId = (await call('GET', '/v1/identities/userId/nora-5', 'dev-read-key')).body.profileId as string;
    expect(noraId).toEqual(expect.any(String));

    const exported = await callsDuring(() => call('GET', `/v1/profiles/${noraId}/export`, 'dev-admin-key'));
    expect(exported.result.status).toBe(200);
    const letters = exported.result.body.deadLetters as Array<{ data: unknown }>;
    expect(letters).toHaveLength(3);
    expect(JSON.stringify(letters)).toContain('lamp-1');
    expect(JSON.stringify(letters)).toContain('nora-phone');
    expect(JSON.stringify(letters)).not.toContain('other-');
    expect(exported.commands).not.toContain('ScanCommand');
    expect(exported.commands).toContain('QueryCommand');

    const erased = await callsDuring(() => call('DELETE', `/v1/profiles/${noraId}`, 'dev-admin-key'));
    expect(erased.result.status).toBe(200);
    expect(erased.result.body.removed.deadLetters).toBe(3);
    expect(erased.commands).not.toContain('ScanCommand');

    // Everyone else's letters stay, each with its index entries; no entry is left for a letter that is gone.
    const items = await lettersTable();
    const kept = items.filter((i) => typeof i.reason === 'string');
    expect(kept).toHaveLength(4_000);
    expect(kept.filter((l) => !String(l.data).includes('other-'))).toEqual([]);
    const entries = items.filter((i) => typeof i.reason !== 'string');
    const ids = new Set(kept.map((l) => l.id));
    expect(entries.filter((e) => !ids.has(e.letterId))).toEqual([]);
    expect(entries).toHaveLength(kept.reduce((n, l) => n + (l.identifierHashes?.length ?? 0), 0));
    expect(entries.length).toBeGreaterThanOrEqual(2 * 4_000);
  });

  it('planted by the thousand under her userId: her export shows the first 1,000 and says it is truncated, her erasure removes them all', async () => {
    const at = new Date(Date.now() - 3_600_000).toISOString();
    await send([{ type: 'identify', userId: 'pia-3', anonymousId: 'pia-tablet', messageId: 'pia-1', timestamp: at }]);
    expect((await send(Array.from({ length: 1_200 }, (_, i) => ({ type: 'track', userId: 'pia-3', properties: { n: i } })))).rejected).toHaveLength(1_200);
    await local.stack.poller.idle();
    const piaId = (await call('GET', '/v1/identities/userId/pia-3', 'dev-read-key')).body.profileId as string;
    const before = (await lettersTable()).length;

    const exported = await call('GET', `/v1/profiles/${piaId}/export`, 'dev-admin-key');
    expect(exported.body.deadLetters).toHaveLength(1_000);
    expect(exported.body.truncated).toBe(true);
    const erased = await callsDuring(() => call('DELETE', `/v1/profiles/${piaId}`, 'dev-admin-key'));
    expect(erased.result.body.removed.deadLetters).toBe(1_200);
    expect(erased.commands).not.toContain('ScanCommand');
    // Each letter and its one index entry (her userId) are gone; nothing else was touched.
    expect((await lettersTable()).length).toBe(before - 2 * 1_200);
  });
});
