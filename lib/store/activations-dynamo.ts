import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConflictError, type ActivationInstance, type ActivationStore, type ContactStore } from './ports';
import { ACTIVATION_RETENTION_DAYS } from './tables';

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
    return {
      pk: `P#${i.profileId}`,
      sk: `I#${i.campaignId}#${i.occurrence}`,
      campaignId: i.campaignId,
      rev: i.rev,
      doc: JSON.stringify(i),
      ...(due ? { dueShard: 'due', dueAt: i.dueAt } : {}),
      expiresAt: Math.floor(Date.parse(i.enteredAt) / 1000) + ACTIVATION_RETENTION_DAYS * 86_400,
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
    const res = await this.doc.send(new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `P#${profileId}` }, ProjectionExpression: 'pk, sk', ConsistentRead: true }));
    const keys = res.Items ?? [];
    for (let i = 0; i < keys.length; i += 25) {
      await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: keys.slice(i, i + 25).map((k) => ({ DeleteRequest: { Key: { pk: k.pk, sk: k.sk } } })) } }));
    }
    return keys.filter((k) => String(k.sk).startsWith('I#')).length;
  }
}



/** Sealed contact addresses in DynamoDB: one item per identifier key, `{ id, sealed, at }`. */
export class DynamoContacts implements ContactStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async put(entries: Array<{ key: string; sealed: string; at: string }>): Promise<void> {
    const unique = [...new Map(entries.map((e) => [e.key, e])).values()];
    for (let i = 0; i < unique.length; i += 25) {
      let pending: Array<Record<string, unknown>> | undefined = unique.slice(i, i + 25).map((e) => ({ PutRequest: { Item: { id: e.key, sealed: e.sealed, at: e.at } } }));
      for (let attempt = 0; pending && pending.length > 0; attempt++) {
        if (attempt >= 8) throw new Error(`BatchWriteItem on ${this.table} left items unprocessed`);
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt)));
        const res = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending as never } }));
        pending = res.UnprocessedItems?.[this.table] as Array<Record<string, unknown>> | undefined;
      }
    }
  }

  async get(keys: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const key of [...new Set(keys)]) {
      const res = await this.doc.send(new GetCommand({ TableName: this.table, Key: { id: key } }));
      if (typeof res.Item?.sealed === 'string') out.set(key, res.Item.sealed);
    }
    return out;
  }

  async remove(keys: string[]): Promise<void> {
    const unique = [...new Set(keys)];
    for (let i = 0; i < unique.length; i += 25) {
      await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: unique.slice(i, i + 25).map((id) => ({ DeleteRequest: { Key: { id } } })) } }));
    }
  }
}
