import { DynamoStores } from '../../lib/store/dynamo';
import { localTables, useEmulators } from '../support/stores';

/** Probable links on DynamoDB through the real SDK: written, withdrawn one direction at a time. */
const emulators = useEmulators();

it('withdraws the links it is given, and keeps the others', async () => {
  const stores = new DynamoStores(emulators.client(), localTables);
  const link = (profileId: string, otherProfileId: string) => ({ profileId, otherProfileId, score: 13, reasons: ['private network n'], at: '2026-11-20T10:00:00.000Z' });
  await stores.graph.putLinks([link('p_a', 'p_b'), link('p_b', 'p_a'), link('p_a', 'p_c'), link('p_c', 'p_a')]);
  await stores.graph.deleteLinks([
    { profileId: 'p_a', otherProfileId: 'p_b' },
    { profileId: 'p_b', otherProfileId: 'p_a' },
    // Withdrawing a link that is not there is no error (a retry withdraws again).
    { profileId: 'p_a', otherProfileId: 'p_z' },
  ]);
  expect((await stores.graph.linksOf('p_a')).map((l) => l.otherProfileId)).toEqual(['p_c']);
  expect(await stores.graph.linksOf('p_b')).toEqual([]);
  expect((await stores.graph.linksOf('p_c')).map((l) => l.otherProfileId)).toEqual(['p_a']);
});
