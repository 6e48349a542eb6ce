import { ConflictError, type ActivationInstance, type ActivationStore, type ContactEntry, type ContactStore } from './ports';

const copy = <T>(x: T): T => structuredClone(x);
const keyOf = (i: Pick<ActivationInstance, 'profileId' | 'campaignId' | 'occurrence'>) => `${i.profileId}|${i.campaignId}|${i.occurrence}`;
const isDue = (i: ActivationInstance) => i.status === 'planned' || i.status === 'waiting';

/** Activation instances in memory, with the DynamoDB adapter's semantics (conditional writes, copies). */
export class MemoryActivations implements ActivationStore {
  /** `ledger`: the contact ledger kept in the same table on DynamoDB, so a profile's removal removes its days too. */
  constructor(private readonly ledger?: { removeProfile(profileId: string): void }) {}

  readonly instances = new Map<string, ActivationInstance>();
  readonly entries = new Map<string, { occurrence: string; at: string }>();

  async claimEntry(profileId: string, campaignId: string, occurrence: string, at: string, since: string | null): Promise<boolean> {
    const key = `${profileId}|${campaignId}`;
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.occurrence !== occurrence && (since === null || entry.at > since)) return false;
    this.entries.set(key, { occurrence, at });
    return true;
  }
  async lookup(profileIds: string[], campaignId: string, occurrence: string) {
    const entered = profileIds.some((profileId) => this.instances.has(keyOf({ profileId, campaignId, occurrence })));
    const entries = profileIds.flatMap((profileId) => {
      const e = this.entries.get(`${profileId}|${campaignId}`);
      return e ? [{ profileId, ...e }] : [];
    });
    return { entered, entries };
  }
  async create(instance: ActivationInstance): Promise<boolean> {
    if (this.instances.has(keyOf(instance))) return false;
    this.instances.set(keyOf(instance), copy(instance));
    return true;
  }
  async get(profileId: string, campaignId: string, occurrence: string): Promise<ActivationInstance | undefined> {
    const i = this.instances.get(keyOf({ profileId, campaignId, occurrence }));
    return i && copy(i);
  }
  async update(instance: ActivationInstance, rev: number): Promise<void> {
    const stored = this.instances.get(keyOf(instance));
    if (stored === undefined || stored.rev !== rev) throw new ConflictError(`activation ${instance.campaignId} of ${instance.profileId} changed meanwhile`);
    this.instances.set(keyOf(instance), copy(instance));
  }
  async ofProfile(profileId: string): Promise<ActivationInstance[]> {
    return [...this.instances.values()].filter((i) => i.profileId === profileId).map(copy);
  }
  async ofCampaign(campaignId: string): Promise<ActivationInstance[]> {
    return [...this.instances.values()].filter((i) => i.campaignId === campaignId).map(copy);
  }
  async due(at: string, limit: number): Promise<ActivationInstance[]> {
    return [...this.instances.values()]
      .filter((i) => isDue(i) && i.dueAt !== undefined && i.dueAt <= at)
      .sort((a, b) => (a.dueAt as string).localeCompare(b.dueAt as string))
      .slice(0, limit)
      .map(copy);
  }
  async all(limit: number): Promise<ActivationInstance[]> {
    return [...this.instances.values()].sort((a, b) => b.enteredAt.localeCompare(a.enteredAt)).slice(0, limit).map(copy);
  }
  async removeProfile(profileId: string): Promise<number> {
    let removed = 0;
    for (const [k, i] of this.instances) if (i.profileId === profileId && this.instances.delete(k)) removed += 1;
    for (const k of this.entries.keys()) if (k.startsWith(`${profileId}|`)) this.entries.delete(k);
    this.ledger?.removeProfile(profileId);
    return removed;
  }
}

/** Sealed contact addresses in memory, with the DynamoDB adapter's semantics (a put replaces the item kept under its key). */
export class MemoryContacts implements ContactStore {
  readonly items = new Map<string, { sealed: string; mask?: string; at: string }>();
  async put(entries: ContactEntry[]): Promise<void> {
    for (const e of entries) this.items.set(e.key, { sealed: e.sealed, mask: e.mask, at: e.at });
  }
  async get(keys: string[]): Promise<Map<string, { sealed: string; mask?: string; at: string }>> {
    return new Map(keys.flatMap((k) => (this.items.has(k) ? [[k, { ...this.items.get(k)! }] as const] : [])));
  }
  async remove(keys: string[]): Promise<void> {
    for (const k of keys) this.items.delete(k);
  }
}
