import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ModelSource } from '../../lib/decision/catalog-source';
import { DynamoStores } from '../../lib/store/dynamo';
import { TABLES, type TableName } from '../../lib/store/tables';
import { deriveProfileId } from '../../lib/identity/resolver';
import { localDynamo, startEmulators } from '../../local/emulators';
import { AlreadyRan } from '../../local/nightly-runner';
import { rollbackLocally, trainLocally } from '../../local/train';

/** `npm run train`'s path: simulated shoppers through the ingest into dynalite, the state machine run locally, the model published to the config table. */
describe('the nightly job on the local stack', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'moment-train-'));
  const tables = Object.fromEntries(Object.entries(TABLES).map(([k, t]) => [k, t.localName])) as Record<TableName, string>;

  it('publishes a model the decision function then serves, writes batch attributes, and runs once a night', async () => {
    const lines: string[] = [];
    const run = await trainLocally({ dataDir, night: '2026-11-27', simulate: 800, progress: (l) => lines.push(l) });
    expect(run.succeeded).toBe(true);
    expect(lines.some((l) => l.includes('Publish          done'))).toBe(true);
    const report = JSON.parse(readFileSync(join(dataDir, 'nightly/reports/2026-11-27.json'), 'utf8')) as { outcome: string; published: { version: string } };
    expect(report).toMatchObject({ outcome: 'published', published: { version: 'nightly-2026-11-27' } });

    // Afterwards, as `npm start` would: the decision function's model source serves the new version.
    const emulators = await startEmulators({ dataDir });
    try {
      const client = localDynamo(emulators.dynamodbEndpoint);
      const model = await new ModelSource(DynamoDBDocumentClient.from(client), tables.config, 0).get();
      expect(model.version).toBe('nightly-2026-11-27');
      const shopper = await new DynamoStores(client, tables).profiles.getMany([deriveProfileId('userId:shopper-3')]);
      expect([...shopper.values()][0]?.batch?.clv?.asOf).toBe('2026-11-27T00:00:00.000Z');
    } finally {
      await emulators.stop();
    }
    await expect(trainLocally({ dataDir, night: '2026-11-27' })).rejects.toThrow(AlreadyRan);
    // A rollback publishes the bundled demo model again, which the first night replaced.
    expect(await rollbackLocally(dataDir, 'demo-1')).toEqual({ version: 'demo-1', replaced: 'nightly-2026-11-27' });
    // A whole night on real emulators: 30 s on two busy cores, so the limit is a hang's, not a speed test's.
  }, 180_000);
});
