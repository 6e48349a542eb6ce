import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { ProfileChange } from '../campaign/journey';
import type { ChangeBus } from '../ingest/changes';
import { packBySize } from './packing';

/** EventBridge takes at most 10 entries and 256 KB per PutEvents call (the entries' sizes summed). */
const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 240 * 1024;
export const CHANGE_SOURCE = 'moment.ingest';
export const CHANGE_DETAIL_TYPE = 'Profile Changed';
export const MESSAGE_SOURCE = 'moment.campaigns';

/**
 * Profile changes onto an EventBridge bus (a rule sends them to the trigger function). PutEvents
 * answers per entry: an entry that failed fails only its profile's group, which the stream retries.
 */
export class EventBridgeChangeBus implements ChangeBus {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(changes: ProfileChange[]): Promise<Set<string>> {
    const failed = new Set<string>();
    const entries = changes.map((c) => ({ change: c, entry: { EventBusName: this.busName, Source: CHANGE_SOURCE, DetailType: CHANGE_DETAIL_TYPE, Detail: JSON.stringify(c) } }));
    // Requests packed by count and by size (a change is bounded: 25 events of 12 short properties).
    for (const chunk of packBySize(entries, (e) => Buffer.byteLength(e.entry.Detail) + 100, MAX_ENTRIES, MAX_REQUEST_BYTES)) {
      const res = await this.client.send(new PutEventsCommand({ Entries: chunk.map((c) => c.entry) }));
      (res.Entries ?? []).forEach((e, n) => {
        if (e.ErrorCode) failed.add((chunk[n] as (typeof entries)[number]).change.profileId);
      });
    }
    return failed;
  }
}

/** Puts one entry on a bus (the EventBridge channel adapter); throws if it was refused. */
export function busPut(client: EventBridgeClient, busName: string) {
  return async (entry: { Source: string; DetailType: string; Detail: string }): Promise<void> => {
    const res = await client.send(new PutEventsCommand({ Entries: [{ ...entry, EventBusName: busName }] }));
    const e = res.Entries?.[0];
    if (!e || e.ErrorCode) throw new Error(`EventBridge refused the message: ${e?.ErrorCode ?? 'no answer'} ${e?.ErrorMessage ?? ''}`.trim());
  };
}
