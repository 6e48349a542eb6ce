import { CreateTableCommand, PutItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TABLES } from '../../lib/store/tables';
import { createTableInput, localDynamo, provision, startEmulators } from '../../local/emulators';
import { alive } from '../support/processes';

/** The emulators run in a child process of their own: stopped with the stack, data kept in a folder. */

it('runs the emulators in a child process that stop() ends, keeping data in the data folder between runs', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'emulators-'));
  try {
    const first = await startEmulators({ dataDir });
    expect(first.pid).toBeDefined();
    expect(first.pid).not.toBe(process.pid);
    expect(alive(first.pid as number)).toBe(true);
    await provision(first);
    const put = localDynamo(first.dynamodbEndpoint);
    await put.send(new PutItemCommand({ TableName: TABLES.config.localName, Item: { name: { S: 'kept' }, doc: { S: 'yes' } } }));
    put.destroy();
    await first.stop();
    expect(alive(first.pid as number)).toBe(false);

    const second = await startEmulators({ dataDir });
    const get = localDynamo(second.dynamodbEndpoint);
    const item = await get.send(new GetItemCommand({ TableName: TABLES.config.localName, Key: { name: { S: 'kept' } } }));
    get.destroy();
    await second.stop();
    expect(item.Item?.doc?.S).toBe('yes');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

it('refuses a data folder whose table lacks an index added since, naming the table, the index and the remedy', async () => {
  const emulators = await startEmulators();
  const ddb = localDynamo(emulators.dynamodbEndpoint);
  try {
    // The dead-letter table as an older version made it: no index on the identifiers its letters carry.
    const { GlobalSecondaryIndexes: _indexes, ...older } = createTableInput({ ...TABLES.deadLetters, indexes: [] });
    await ddb.send(new CreateTableCommand({ ...older, AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }] }));
    await expect(provision(emulators)).rejects.toThrow(/the local table dead-letters has no index byIdentifier .*--fresh/);
  } finally {
    ddb.destroy();
    await emulators.stop();
  }
});
