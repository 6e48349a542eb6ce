/**
 * Which profile owns an identifier, remembered for a short while by a decision function, so a
 * returning visitor's decision costs one read (the profile) instead of two. Safe to be stale: a
 * profile merged away since is a tombstone that the read follows to its survivor; an identifier
 * moved to another profile (rare) is seen within the time to live; a cached owner whose profile is
 * gone is dropped and looked up again. Bounded: the oldest entry goes first.
 */
export class OwnerCache {
  private readonly entries = new Map<string, { profileId: string; at: number }>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.now() - entry.at > this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.profileId;
  }

  set(key: string, profileId: string): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { profileId, at: this.now() });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
