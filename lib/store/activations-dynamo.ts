import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetItems, batchWriteItems } from './dynamo-batch';
import { ConflictError, type ActivationInstance, type ActivationStore, type ContactEntry, type ContactStore } from './ports';
import { ACTIVATION_RETENTION_DAYS, CONTACT_RETENTION_DAYS, ENDED_ACTIVATION_RETENTION_DAYS } from './tables';

/** BatchWriteItem requests the collector keeps in flight at once for one request's addresses. */
export const CONTACT_WRITES_IN_FLIGHT = 8;

/**
 * Campaign entries in DynamoDB. Keys: `P#<profileId>` / `I#<campaignId>#<occurrence>` (an instance,
 * its document as JSON), `P#<profileId>` / `E#<campaignId>` (her last entry to the campaign). Index
 * `byCampaign` (campaignId, sk) serves statistics; the sparse index `due` (dueShard, dueAt) holds only
 * planned and waiting instances, for the local scheduler and a sweep after an outage.
 */
export class DynamoActivations implements ActivationStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private item(i: ActivationInstance): Record<string, unknown> {
    const due = (i.status === 'planned' || i.status === 'waiting') && i.dueAt !== undefined;
    const ended = i.status === 'sent' || i.status === 'held-out' || i.status === 'cancelled' || i.status === 'failed';
    const endedAt = Date.parse(i.history.at(-1)?.at ?? i.enteredAt);
    return {
      pk: `P#${i.profileId}`,
      sk: `I#${i.campaignId}#${i.occurrence}`,
      campaignId: i.campaignId,
      rev: i.rev,
      doc: JSON.stringify(i),
      ...(due ? { dueShard: 'due', dueAt: i.dueAt } : {}),
      // Ended entries go sooner (statistics count the last 90 days of them); open ones live as long as a wait may.
      expiresAt: ended ? Math.floor(endedAt / 1000) + ENDED_ACTIVATION_RETENTION_DAYS * 86_400 : Math.floor(Date.parse(i.enteredAt) / 1000) + ACTIVATION_RETENTION_DAYS * 86_400,
    };
  }

  async claimEntry(profileId: string, campaignId: string, occurrence: string, at: string, since: string | null): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `P#${profileId}`, sk: `E#${campaignId}`, occurrence, at, expiresAt: Math.floor(Date.parse(at) / 1000) + ACTIVATION_RETENTION_DAYS * 86_400 },
          ConditionExpression: `attribute_not_exists(pk) OR occurrence = :occurrence${since === null ? '' : ' OR #at <= :since'}`,
          ExpressionAttributeNames: since === null ? undefined : { '#at': 'at' },
          ExpressionAttributeValues: { ':occurrence': occurrence, ...(since === null ? {} : { ':since': since }) },
        }),
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  }

  async lookup(profileIds: string[], campaignId: string, occurrence: string) {
    const keys = [...new Set(profileIds)].flatMap((id) => [
      { pk: `P#${id}`, sk: `I#${campaignId}#${occurrence}` },
      { pk: `P#${id}`, sk: `E#${campaignId}` },
    ]);
    const items = await batchGetItems(this.doc, this.table, keys, { consistent: true });
    return {
      entered: items.some((it) => String(it.sk).startsWith('I#')),
      entries: items.filter((it) => String(it.sk).startsWith('E#')).map((it) => ({ profileId: String(it.pk).slice(2), occurrence: String(it.occurrence), at: String(it.at) })),
    };
  }

  async create(instance: ActivationInstance): Promise<boolean> {
    try {
      await this.doc.send(new PutCommand({ TableName: this.table, Item: this.item(instance), ConditionExpression: 'attribute_not_exists(pk)' }));
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  }

  async get(profileId: string, campaignId: string, occurrence: string): Promise<ActivationInstance | undefined> {
    const res = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: `P#${profileId}`, sk: `I#${campaignId}#${occurrence}` }, ConsistentRead: true }));
    return res.Item ? (JSON.parse(res.Item.doc as string) as ActivationInstance) : undefined;
  }

  async update(instance: ActivationInstance, rev: number): Promise<void> {
    try {
      await this.doc.send(new PutCommand({ TableName: this.table, Item: this.item(instance), ConditionExpression: 'rev = :rev', ExpressionAttributeValues: { ':rev': rev } }));
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) throw new ConflictError(`activation ${instance.campaignId} of ${instance.profileId} changed meanwhile`);
      throw e;
    }
  }

  private async query(input: ConstructorParameters<typeof QueryCommand>[0], limit: number): Promise<ActivationInstance[]> {
    const out: ActivationInstance[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.doc.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      for (const item of res.Items ?? []) if (typeof item.doc === 'string') out.push(JSON.parse(item.doc) as ActivationInstance);
      start = res.LastEvaluatedKey;
    } while (start && out.length < limit);
    return out.slice(0, limit);
  }

  ofProfile(profileId: string): Promise<ActivationInstance[]> {
    return this.query({ TableName: this.table, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :i)', ExpressionAttributeValues: { ':pk': `P#${profileId}`, ':i': 'I#' }, ConsistentRead: true }, 10_000);
  }

  ofCampaign(campaignId: string): Promise<ActivationInstance[]> {
    return this.query({ TableName: this.table, IndexName: 'byCampaign', KeyConditionExpression: 'campaignId = :c', ExpressionAttributeValues: { ':c': campaignId } }, 1_000_000);
  }

  due(at: string, limit: number): Promise<ActivationInstance[]> {
    return this.query({ TableName: this.table, IndexName: 'due', KeyConditionExpression: 'dueShard = :d AND dueAt <= :at', ExpressionAttributeValues: { ':d': 'due', ':at': at } }, limit);
  }

  async all(limit: number): Promise<ActivationInstance[]> {
    const out: ActivationInstance[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.doc.send(new ScanCommand({ TableName: this.table, ExclusiveStartKey: start }));
      for (const item of res.Items ?? []) if (typeof item.doc === 'string') out.push(JSON.parse(item.doc) as ActivationInstance);
      start = res.LastEvaluatedKey;
    } while (start);
    return out.sort((a, b) => b.enteredAt.localeCompare(a.enteredAt)).slice(0, limit);
  }

  async removeProfile(profileId: string): Promise<number> {
    // Every page of her partition, then every delete (a throttled one retried).
    const keys: Array<Record<string, unknown>> = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.doc.send(
        new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `P#${profileId}` }, ProjectionExpression: 'pk, sk', ConsistentRead: true, ExclusiveStartKey: start }),
      );
      keys.push(...(res.Items ?? []));
      start = res.LastEvaluatedKey;
    } while (start);
    await batchWriteItems(this.doc, this.table, keys.map((k) => ({ pk: k.pk, sk: k.sk })), true);
    return keys.filter((k) => String(k.sk).startsWith('I#')).length;
  }
}



/**
 * Sealed contact addresses in DynamoDB: one item per identifier key, `{ id, sealed, mask, lastAt,
 * expiresAt }` (items kept before masks also have `firstAt`).
 */
export class DynamoContacts implements ContactStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * A plain put of the latest sealing of each address (the same identifier is the same address; which
   * address is sent to is decided from her profile, not from here), expiring 400 days after it was
   * last given: BatchWriteItem, 25 to a request, CONTACT_WRITES_IN_FLIGHT requests at once, what
   * DynamoDB leaves unprocessed retried. A request of 2,500 addresses is 100 requests, not 2,500.
   */
  async put(entries: ContactEntry[]): Promise<void> {
    const latest = new Map(entries.map((e) => [e.key, e]));
    const items = [...latest.values()].map((e) => ({ id: e.key, sealed: e.sealed, mask: e.mask, lastAt: e.at, expiresAt: Math.floor(Date.parse(e.at) / 1000) + CONTACT_RETENTION_DAYS * 86_400 }));
    await batchWriteItems(this.doc, this.table, items, false, CONTACT_WRITES_IN_FLIGHT);
  }

  async get(keys: string[]): Promise<Map<string, { sealed: string; mask?: string; at: string }>> {
    const out = new Map<string, { sealed: string; mask?: string; at: string }>();
    for (const key of [...new Set(keys)]) {
      const res = await this.doc.send(new GetCommand({ TableName: this.table, Key: { id: key } }));
      const item = res.Item;
      if (typeof item?.sealed === 'string') out.set(key, { sealed: item.sealed, ...(typeof item.mask === 'string' ? { mask: item.mask } : {}), at: String(item.firstAt ?? item.lastAt ?? '') });
    }
    return out;
  }

  async remove(keys: string[]): Promise<void> {
    await batchWriteItems(this.doc, this.table, [...new Set(keys)].map((id) => ({ id })), true);
  }
}

