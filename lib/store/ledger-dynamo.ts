import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { emptyLedgerDay, limitsOpen } from '../decision/contact-ledger';
import type { ContactLedgerStore, LedgerContact, LedgerDay, LedgerLimits, LedgerOutcome, LedgerWindow } from './ports';

/**
 * The contact ledger in DynamoDB: one item per person and local day in the activations table, under
 * her partition (`P#<profileId>` / `L#<day>`), so erasing her campaign entries erases it too (and it
 * is in none of that table's indexes: it has neither `campaignId` nor `dueShard`). Its attributes:
 * `ws`/`we` (the day's span in the time zone it was opened in, set by its first contact),
 * `n` (contacts in all), `c:<channel>` and `o:<offerId>` (per channel and offer), `r:<contact id>`
 * (each contact counted, with the channel and offer it counted under), `s` (contacts ever counted that
 * day) and `q:<contact id>` (its place in that order), and `expiresAt` (TTL).
 *
 * A reservation is ONE UpdateItem: it adds 1 to each counter the contact counts under and records the
 * contact and its place in the day's order (the right-hand side of an update reads the item as it was
 * before it), on condition that the contact is not recorded yet and each counter is below its limit.
 * DynamoDB applies it atomically, so concurrent sends (the send queues' `maxConcurrency`, or many
 * Lambda invocations at once) can never take a counter past its limit. Nothing else is needed of
 * DynamoDB (no transactions, streams or TTL), so dynalite runs it as AWS does.
 */
export class DynamoContactLedger implements ContactLedgerStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private key(profileId: string, day: string) {
    return { pk: `P#${profileId}`, sk: `L#${day}` };
  }

  async read(profileId: string, day: string, consistent = false): Promise<LedgerDay> {
    const res = await this.doc.send(new GetCommand({ TableName: this.table, Key: this.key(profileId, day), ConsistentRead: consistent }));
    return res.Item ? dayOf(res.Item) : emptyLedgerDay();
  }

  async around(profileId: string, first: string, last: string): Promise<Map<string, LedgerDay>> {
    const res = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :a AND :b',
        ExpressionAttributeValues: { ':pk': `P#${profileId}`, ':a': `L#${first}`, ':b': `L#${last}` },
      }),
    );
    return new Map((res.Items ?? []).map((item) => [(item.sk as string).slice(2), dayOf(item)]));
  }

  async reserve(profileId: string, day: string, contact: LedgerContact, limits: LedgerLimits, expiresAt: number, window?: LedgerWindow): Promise<LedgerOutcome> {
    if (!limitsOpen(contact, limits)) return this.refused(profileId, day, contact.id);
    const counters = countersOf(contact, limits);
    const names: Record<string, string> = { '#s': 's', '#r': `r:${contact.id}`, '#q': `q:${contact.id}`, '#x': 'expiresAt', ...Object.fromEntries(counters.map((c) => [c.ref, c.name])) };
    const values: Record<string, unknown> = { ':one': 1, ':zero': 0, ':what': { ...(contact.channel !== undefined ? { c: contact.channel } : {}), ...(contact.offerId !== undefined ? { o: contact.offerId } : {}) }, ':ttl': expiresAt };
    const sets = ['#r = :what', '#q = if_not_exists(#s, :zero) + :one', '#x = :ttl'];
    if (window !== undefined) {
      Object.assign(names, { '#ws': 'ws', '#we': 'we' });
      Object.assign(values, { ':ws': window.start, ':we': window.end });
      sets.push('#ws = if_not_exists(#ws, :ws)', '#we = if_not_exists(#we, :we)');
    }
    const adds = [...counters.map((c) => `${c.ref} :one`), '#s :one'];
    const conditions = ['attribute_not_exists(#r)'];
    for (const c of counters) {
      if (c.limit === undefined) continue;
      values[`:l${c.ref.slice(1)}`] = c.limit;
      conditions.push(`(attribute_not_exists(${c.ref}) OR ${c.ref} < :l${c.ref.slice(1)})`);
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(profileId, day),
          UpdateExpression: `ADD ${adds.join(', ')} SET ${sets.join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return { reserved: true, already: false };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      return this.refused(profileId, day, contact.id);
    }
  }

  /** Why a reservation did not count: the contact was counted already (a retry), or a counter is at its limit. */
  private async refused(profileId: string, day: string, id: string): Promise<LedgerOutcome> {
    const now = await this.read(profileId, day, true);
    return now.counted[id] !== undefined ? { reserved: true, already: true } : { reserved: false, day: now };
  }

  async release(profileId: string, day: string, id: string): Promise<boolean> {
    const mine = (await this.read(profileId, day, true)).counted[id];
    if (mine === undefined) return false;
    const counters = countersOf(mine);
    const names: Record<string, string> = { '#r': `r:${id}`, '#q': `q:${id}`, ...Object.fromEntries(counters.map((c) => [c.ref, c.name])) };
    const adds = counters.map((c) => `${c.ref} :less`);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(profileId, day),
          UpdateExpression: `ADD ${adds.join(', ')} REMOVE #r, #q`,
          ConditionExpression: 'attribute_exists(#r)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':less': -1 },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }
}

/** The day's counters a contact counts under (in all, its channel's, its offer's), each with its attribute and, when reserving, its limit. */
function countersOf(contact: { channel?: string; offerId?: string }, limits?: LedgerLimits): Array<{ ref: string; name: string; limit?: number }> {
  return [
    { ref: '#n', name: 'n', ...(limits ? { limit: limits.total } : {}) },
    ...(contact.channel !== undefined ? [{ ref: '#c', name: `c:${contact.channel}`, ...(limits?.channel !== undefined ? { limit: limits.channel } : {}) }] : []),
    ...(contact.offerId !== undefined ? [{ ref: '#o', name: `o:${contact.offerId}`, ...(limits?.offer !== undefined ? { limit: limits.offer } : {}) }] : []),
  ];
}

const isConditionFailure = (e: unknown): boolean => e instanceof ConditionalCheckFailedException || (e as Error).name === 'ConditionalCheckFailedException';

/** A day's item as the domain reads it. */
function dayOf(item: Record<string, unknown>): LedgerDay {
  const day = emptyLedgerDay();
  for (const [name, value] of Object.entries(item)) {
    if (name === 'n') day.total = Number(value);
    else if (name === 'ws' && typeof item.we === 'string') day.window = { start: String(value), end: item.we };
    else if (name.startsWith('c:')) day.channels[name.slice(2)] = Number(value);
    else if (name.startsWith('o:')) day.offers[name.slice(2)] = Number(value);
    else if (name.startsWith('r:') && typeof value === 'object' && value !== null) {
      const { c, o } = value as { c?: unknown; o?: unknown };
      const seq = item[`q:${name.slice(2)}`];
      day.counted[name.slice(2)] = { ...(typeof c === 'string' ? { channel: c } : {}), ...(typeof o === 'string' ? { offerId: o } : {}), ...(seq !== undefined ? { seq: Number(seq) } : {}) };
    }
  }
  return day;
}
