import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { CatalogSource } from '../../lib/decision/catalog-source';
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
