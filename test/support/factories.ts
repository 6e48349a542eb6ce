import type { KinesisStreamEvent } from 'aws-lambda';
import type { StreamRecord } from '../../lib/ingest/pipeline';
import { loadIngestConfig } from '../../lib/ingest/config';
import { identifierTag, signDecision, tokenKey } from '../../lib/decision/token';
import type { IngestConfig } from '../../lib/ingest/pipeline';

/** Kinesis-like sequence numbers: long decimal strings that increase per shard (compare as BigInt). */
export class SequenceFactory {
  private next = 49_650_000_000_000_000_000_000_000_000_000_000_000_000_000_000n;
  take(): string {
    this.next += 1000n;
    return this.next.toString();
  }
}

let counter = 0;
/** A realistic collected Segment event (as the collector puts it on the stream). */
export function segmentEvent(partial: Record<string, unknown>): Record<string, unknown> {
  counter += 1;
  const timestamp = (partial.timestamp as string | undefined) ?? new Date(Date.UTC(2026, 10, 20, 12, 0, counter % 60)).toISOString();
  return {
    type: 'track',
    event: 'Product Viewed',
    messageId: `msg-${counter}-${Math.random().toString(36).slice(2, 8)}`,
    receivedAt: timestamp,
    timestamp,
    context: {},
    ...partial,
  };
}

export function toRecord(event: unknown, seq: string, shardId = 'shardId-000000000000'): StreamRecord {
  return { shardId, sequenceNumber: seq, data: Buffer.from(JSON.stringify(event)).toString('base64') };
}

export function rawRecord(text: string, seq: string, shardId = 'shardId-000000000000'): StreamRecord {
  return { shardId, sequenceNumber: seq, data: Buffer.from(text).toString('base64') };
}

export function kinesisEvent(records: StreamRecord[]): KinesisStreamEvent {
  return {
    Records: records.map((r) => ({
      eventID: `${r.shardId}:${r.sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      eventSource: 'aws:kinesis',
      eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/events',
      eventVersion: '1.0',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/ingest',
      awsRegion: 'us-east-1',
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'pk',
        sequenceNumber: r.sequenceNumber,
        data: r.data,
        approximateArrivalTimestamp: 1_763_640_000,
      },
    })),
  };
}

export function ingestConfig(overrides: Partial<IngestConfig> = {}): IngestConfig {
  return {
    ...loadIngestConfig('test-salt'),
    now: () => new Date('2027-01-01T00:00:00Z'),
    ...overrides,
  };
}

/**
 * The config with an anonymous device's decisions borrowing its person cluster's context from
 * `probability` on: off by default (config/identity.json, `cluster.contextProbability` null), on in a
 * deployment that accepts that precision (docs/identity.md).
 */
export function withClusterContext<C extends Pick<IngestConfig, 'rules'>>(config: C, probability = 0.9): C {
  const probabilistic = config.rules.probabilistic;
  return { ...config, rules: { ...config.rules, probabilistic: { ...probabilistic, cluster: { ...probabilistic.cluster, contextProbability: probability } } } };
}

/** An identify call carrying every kind of personal data the default policy names, for the redaction tests. */
export const annIdentify = {
  type: 'identify',
  userId: 'cust-1',
  messageId: 'm1',
  traits: { email: 'Ann.Smith@example.com', phone: '+44 20 7946 0958', firstName: 'Ann', lastName: 'Smith', name: 'Ann Smith', plan: 'gold', address: { street: '1 Acacia Avenue', city: 'Leeds', country: 'GB' } },
  context: { ip: '203.0.113.7', traits: { email: 'ann.smith@example.com', name: 'Ann' }, locale: 'en-GB' },
  properties: { email: 'ann@example.com', product_id: 'p1', name: 'Sage paint 2L' },
};

/**
 * A feedback event as an honest client sends it: with the decision token the decision API gave
 * (lib/decision/token.ts), signed with the test salt, issued to the event's userId (else anonymousId)
 * when the event was received, naming its offer and variant (default personalised).
 */
export function signedFeedback(event: Record<string, unknown>, salt = 'test-salt'): Record<string, unknown> {
  const props = (event.properties ?? {}) as Record<string, unknown>;
  const key = tokenKey(salt);
  const who = typeof event.userId === 'string' ? `userId:${event.userId}` : `anonymousId:${String(event.anonymousId)}`;
  const issued = Date.parse(String(event.receivedAt ?? event.timestamp));
  const variant = props.variant === 'holdout' ? 'holdout' : 'personalised';
  const token = signDecision({ d: String(props.decision_id), p: null, i: identifierTag(who, key), o: [String(props.promotion_id)], v: variant, t: Math.floor(issued / 1000) }, key);
  return { ...event, properties: { ...props, decision_token: token } };
}
