import { loadCampaigns, type Campaigns } from '../../lib/campaign/campaign';
import type { CampaignMessage, Channel } from '../../lib/campaign/channels';
import { onProfileChange, type ChangeOutcome, type ProfileChange, type Wakeups } from '../../lib/campaign/journey';
import { sendDue, type SendOutcome } from '../../lib/campaign/send';
import type { EventStream } from '../../lib/collect/collector';
import { loadCatalog, type Catalog } from '../../lib/decision/catalog';
import { answerDecision, parseDecisionRequest } from '../../lib/decision/service';
import { ingestBatch, type IngestResult } from '../../lib/ingest/pipeline';
import { MemoryStores } from '../../lib/store/memory';
import { AddressSealer, chooseAddress, LocalDataKeys, maskAddress } from '../../lib/campaign/addresses';
import { contactAddresses } from '../../lib/events/identifiers';
import type { CollectedEvent } from '../../lib/events/segment';
import { defaultIdentityRules } from '../../lib/identity/rules';
import type { Profile } from '../../lib/profile/profile';
import { bucketOf } from '../../lib/decision/decide';
import { identifierKey } from '../../lib/events/identifiers';
import { deriveProfileId } from '../../lib/identity/resolver';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from './factories';

/**
 * Campaigns end to end in one process: the real ingest on in-memory stores announces changes to the
 * real trigger step, a clock the test moves wakes due instances (as the local scheduler does), sends
 * go through a recording channel, and their contact events come back through the ingest.
 */
export class CampaignHarness {
  readonly stores = new MemoryStores();
  readonly config = ingestConfig();
  readonly catalog: Catalog;
  readonly campaigns: Campaigns;
  readonly sent: CampaignMessage[] = [];
  readonly changes: ProfileChange[] = [];
  readonly outcomes: ChangeOutcome[] = [];
  /** Records put on the stream (decisions' and sends' events) not yet ingested. */
  private streamed: string[] = [];
  private readonly seq = new SequenceFactory();
  now: Date;
  /** Set to make the channel fail. */
  failDelivery?: Error;
  /** Set to make the bus refuse changes. */
  busDown = false;

  constructor(start: string, campaigns: unknown = undefined, catalog: unknown = undefined) {
    this.now = new Date(start);
    this.campaigns = campaigns === undefined ? loadCampaigns() : loadCampaigns(campaigns);
    this.catalog = catalog === undefined ? loadCatalog() : loadCatalog(catalog);
  }

  readonly wakeups: Wakeups & { scheduled: number; cancelled: number } = {
    scheduled: 0,
    cancelled: 0,
    schedule: async () => void (this.wakeups.scheduled += 1),
    cancel: async () => void (this.wakeups.cancelled += 1),
  };

  readonly stream: EventStream = {
    putRecords: async (records) => {
      this.streamed.push(...records.map((r) => r.data));
      return [];
    },
  };

  /** The addresses the channel was given, beside each message sent. */
  readonly sentTo: Array<string | undefined> = [];
  private readonly channel: Channel = {
    deliver: async (m, to) => {
      if (this.failDelivery) throw this.failDelivery;
      this.sent.push(m);
      this.sentTo.push(to);
    },
  };

  private journeyDeps() {
    return { stores: this.stores, campaigns: this.campaigns, catalog: this.catalog, config: this.config, wakeups: this.wakeups };
  }

  /** Ingests events (each given the clock's time unless it has one), announcing changes to the trigger step. */
  async ingest(events: Array<Record<string, unknown>>): Promise<IngestResult> {
    return this.ingestRecords(this.records(events));
  }

  /** Stream records of events at the clock's time (to deliver them again as the stream does). */
  records(events: Array<Record<string, unknown>>): ReturnType<typeof toRecord>[] {
    return events.map((e) => toRecord(segmentEvent({ timestamp: this.now.toISOString(), receivedAt: this.now.toISOString(), ...e }), this.seq.take()));
  }

  /** Seals the addresses the events give, as the collector does before they are redacted. */
  private async keepAddresses(records: ReturnType<typeof toRecord>[]): Promise<void> {
    for (const r of records) {
      const event = JSON.parse(Buffer.from(r.data, 'base64').toString()) as CollectedEvent;
      for (const a of contactAddresses(event, defaultIdentityRules(), this.config.salt)) {
        await this.stores.contacts.put([{ key: a.key, sealed: await this.sealer.seal(a.value, a.key), mask: maskAddress(a.kind, a.value), at: this.now.toISOString() }]);
      }
    }
  }

  readonly sealer = new AddressSealer(new LocalDataKeys(Buffer.alloc(32, 7)));

  async ingestRecords(records: ReturnType<typeof toRecord>[]): Promise<IngestResult> {
    await this.keepAddresses(records);
    return ingestBatch(records, this.stores, this.config, {
      changes: {
        publish: async (changes) => {
          if (this.busDown) throw new Error('bus down');
          for (const c of changes) {
            this.changes.push(c);
            this.outcomes.push(await onProfileChange(c, this.journeyDeps()));
          }
          return new Set();
        },
      },
    });
  }

  /** Ingests what sends and decisions put on the stream. */
  async drainStream(): Promise<void> {
    const data = this.streamed;
    this.streamed = [];
    if (data.length > 0) await this.ingest(data.map((d) => JSON.parse(d) as Record<string, unknown>));
  }

  /** Moves the clock and runs every send due by then, in due order (deferred ones again if due). */
  async advance(ms: number): Promise<SendOutcome[]> {
    this.now = new Date(this.now.getTime() + ms);
    const outcomes: SendOutcome[] = [];
    for (let round = 0; round < 10; round++) {
      const due = await this.stores.activations.due(this.now.toISOString(), 100);
      if (due.length === 0) break;
      for (const i of due) outcomes.push(await sendDue(i, this.sendDeps()));
      await this.drainStream();
    }
    return outcomes;
  }

  sendDeps() {
    return {
      stores: this.stores,
      stream: this.stream,
      campaigns: this.campaigns,
      catalog: this.catalog,
      config: this.config,
      wakeups: this.wakeups,
      channelFor: async () => this.channel,
      addressOf: (profile: Profile, kind: 'email' | 'phone') => chooseAddress(profile, kind, this.stores.contacts, this.sealer),
      now: () => this.now,
    };
  }

  /** An in-app decision at the clock's time. */
  decide(userId: string, placement: string, channel?: string) {
    const request = parseDecisionRequest(JSON.stringify({ identity: { namespace: 'userId', value: userId }, placement, context: { timestamp: this.now.toISOString(), ...(channel ? { channel } : {}) } }));
    return answerDecision(request, { stores: this.stores, config: this.config, catalog: this.catalog, salt: this.config.salt, now: () => this.now });
  }

  async instances(campaignId?: string) {
    const all = await this.stores.activations.all(1000);
    return campaignId === undefined ? all : all.filter((i) => i.campaignId === campaignId);
  }
}

export const HOUR = 3_600_000;
export const MINUTE = 60_000;

/**
 * A userId (prefix-n) whose profile the given campaigns treat (not in their control groups) and the
 * decision engine personalises for (not in its holdout): test customers who should get messages.
 */
export function treatedUserId(prefix: string, campaigns: string[]): { userId: string; profileId: string } {
  for (let n = 0; ; n++) {
    const userId = `${prefix}-${n}`;
    const profileId = deriveProfileId(identifierKey({ ns: 'userId', value: userId }));
    if (campaigns.every((c) => bucketOf(`control:${c}:${profileId}`) >= 10) && bucketOf(`holdout:${profileId}`) >= 5) return { userId, profileId };
  }
}
