import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { CatalogSource, ModelSource } from '../../lib/decision/catalog-source';
import { loadModel } from '../../lib/decision/model';
import { loadCatalog } from '../../lib/decision/catalog';
import { TABLES } from '../../lib/store/tables';
import { localDynamo, provision, startEmulators, type Emulators } from '../../local/emulators';

/** The catalog source against a real DynamoDB API: bundled until published, refreshed, last good kept. */
let emulators: Emulators;
let doc: DynamoDBDocumentClient;
const base = require('../../config/catalog.json') as { offers: Array<Record<string, unknown>> };

beforeAll(async () => {
  emulators = await startEmulators();
  await provision(emulators);
  doc = DynamoDBDocumentClient.from(localDynamo(emulators.dynamodbEndpoint));
});
afterAll(async () => {
  doc?.destroy();
  await emulators?.stop();
});

it('serves the bundled catalog until one is published, then the published one after the refresh interval', async () => {
  const source = new CatalogSource(doc, TABLES.config.localName, 1000);
  expect((await source.get(0)).byId.has('winter-sale')).toBe(false);
  await source.publish({ ...base, offers: [...base.offers, { ...base.offers[0], id: 'winter-sale' }] });
  expect((await source.get(500)).byId.has('winter-sale')).toBe(false);
  expect((await source.get(1500)).byId.has('winter-sale')).toBe(true);
});

it('keeps serving the last good catalog when the stored one cannot be used', async () => {
  const errors: Error[] = [];
  const source = new CatalogSource(doc, TABLES.config.localName, 0, () => loadCatalog(), (e) => errors.push(e));
  const good = await source.get(0);
  // Someone writes a broken item behind the API's back.
  await doc.send(new PutCommand({ TableName: TABLES.config.localName, Item: { name: 'catalog', version: 'broken', doc: '{"offers": 1}' } }));
  expect(await source.get(1)).toBe(good);
  expect(errors[0]?.message).toMatch(/^Invalid catalog/);
});

describe('the model artifact source', () => {
  const bundledModel = require('../../config/model.json') as Record<string, unknown>;

  it('serves the bundled model until one is published, then the published one after the refresh interval', async () => {
    const source = new ModelSource(doc, TABLES.config.localName, 1000);
    expect((await source.get(0)).version).toBe('demo-1');
    expect(await source.publish({ ...bundledModel, version: 'nightly-2026-11-24' })).toEqual({ version: expect.any(String), modelVersion: 'nightly-2026-11-24' });
    expect((await source.get(500)).version).toBe('demo-1');
    expect((await source.get(1500)).version).toBe('nightly-2026-11-24');
  });

  it('refuses a bad artifact with a 400 naming the field, and keeps the last good one when the stored one is broken', async () => {
    const errors: Error[] = [];
    const source = new ModelSource(doc, TABLES.config.localName, 0, () => loadModel(), (e) => errors.push(e));
    const good = await source.get(0);
    await expect(source.publish({ ...bundledModel, targets: { default: { intercept: 0, weights: { ghost: 1 } } } })).rejects.toMatchObject({
      statusCode: 400,
      message: 'Invalid model: target "default" weights.ghost: no feature of that name',
    });
    expect(await source.get(1)).toBe(good);
    await doc.send(new PutCommand({ TableName: TABLES.config.localName, Item: { name: 'model', version: 'broken', doc: '{"kind": "forest"}' } }));
    expect(await source.get(2)).toBe(good);
    expect(errors[0]?.message).toMatch(/^Invalid model/);
  });
});

it('refuses a document too large for a config table item, saying so, before writing anything', async () => {
  const source = new ModelSource(doc, TABLES.config.localName, 0);
  const before = await source.get(0);
  const items = Array.from({ length: 6000 }, (_, i) => `item-with-a-long-name-${i}`);
  const huge = {
    ...(require('../../config/model.json') as Record<string, unknown>),
    version: 'huge',
    associations: { rules: items.slice(1).map((then, i) => ({ if: [items[i]], then, support: 0.001, confidence: 0.1, lift: 2 })), itemSupport: Object.fromEntries(items.map((i) => [i, 0.001])) },
  };
  await expect(source.publish(huge)).rejects.toMatchObject({ statusCode: 400, message: expect.stringMatching(/^model is \d+ KB; a config table item holds at most 380 KB/) });
  expect((await source.get(1)).version).toBe(before.version);
});
