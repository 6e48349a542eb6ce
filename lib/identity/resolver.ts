import { createHash } from 'node:crypto';
import { identifierKey, parseIdentifierKey, type Identifier } from '../events/identifiers';
import type { AggregateModel } from '../profile/aggregates';
import {
  addIdentifier,
  chooseSurvivor,
  hasIdentifier,
  identityCount,
  mergeProfiles,
  newProfile,
  removeIdentifier,
  userIdOf,
  type Profile,
} from '../profile/profile';
import { NAMESPACES, namespacesByPriority, type IdentityRules } from './rules';

/** Profile ids are derived from the identifier that created the profile, so replays give the same ids. */
export function deriveProfileId(key: string): string {
  return `p_${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
}

/**
 * Whether a value has the shape of every profile id (deriveProfileId: `p_` and 24 hex digits). An API
 * given anything else was not given a profile id (an e-mail address pasted by mistake, say), and need
 * not look it up or keep it.
 */
export const isProfileId = (value: string): boolean => /^p_[0-9a-f]{24}$/.test(value);

export interface ResolutionCounters {
  merges: number;
  /** Identifiers not linked because a per-namespace limit was reached. */
  limitReached: number;
  /** Merges refused because two different userIds would have been joined (or a profile not written yet whose userId is unknown). */
  conflicts: number;
  /** Identifiers moved to the most recently authenticated profile (shared devices). */
  moves: number;
}

/**
 * Deterministic identity resolution over one batch, in memory. It starts from the stored graph
 * (identifier owners and the profiles they point to, tombstones included) and applies DESIGN.md's
 * rules record by record:
 * - identifiers arriving together belong to one person, so their profiles merge;
 * - a profile holds at most one userId: a join of two userIds is refused, and the shared anonymous or
 *   device identifier moves to the profile that just authenticated (history stays where it was);
 * - per-namespace limits stop runaway merges (bots, kiosks): past a limit nothing new is linked;
 * - the survivor of a merge is the profile with a userId, else the oldest, else the smaller id; the
 *   loser becomes a tombstone pointing to it and keeps its own state for audit.
 * The caller writes what it returns: changed identifier owners, tombstones and profiles. A merge
 * whose survivor write failed after its tombstones were written is finished by the next batch that
 * loads the survivor (its item lists the merge as pending); each write then settles the pending
 * merges whose state it carries. A loser's tombstone keeps the state it had when it lost (with what
 * was merged into it before), so whatever finishes a merge into it later still gets all of it. An
 * identifier that led to a tombstone is linked to the live profile at the end of the chain, so chains
 * stay short.
 * Other shards write meanwhile, so every link it changes names the owner it read (the write is
 * conditional on it), and a profile not written yet that a link leads to stands in with what the
 * batch knows of it, written only conditional on its first write (`standInForUnwritten`).
 */
export class BatchResolution {
  readonly counters: ResolutionCounters = { merges: 0, limitReached: 0, conflicts: 0, moves: 0 };
  /** Working state of every root profile touched or loaded. */
  readonly work = new Map<string, Profile>();
  /** Identifier owners as changed by this batch, with the owner stored before it (for conditional writes). */
  readonly changedOwners = new Map<string, string | undefined>();
  /**
   * Identifiers linked to a profile that does not list them (its write was lost, or the link was read
   * before another shard moved it and wrote that profile): the link is written again, conditional on
   * the owner read, so a stale read fails the batch instead of leaving the identifier in two profiles.
   */
  readonly relinked = new Set<string>();
  /** Stored profiles (or pending-only items) merged away in this batch: they need a tombstone write. */
  readonly mergedAway = new Set<string>();
  /** A loser's state when it lost (what its tombstone keeps), by id. */
  readonly loserStates = new Map<string, Profile>();
  /** Pending merges finished in this batch, by the item whose mark lists them. */
  readonly finishedPending = new Map<string, Set<string>>();
  /** Profiles whose state changed in resolution (merges, moves), with the first record that changed them. */
  readonly touchedBy = new Map<string, string>();
  /** Identifiers this batch moved to another customer's profile, with every profile they left (in order). */
  readonly movedFrom = new Map<string, string[]>();
  /** Each move: the profile an identifier left, and the record that moved it. */
  readonly moves: Array<{ from: string; by: string }> = [];
  /**
   * Ids with no profile written yet that something leads to: items holding only pending merges (a new
   * survivor whose first write failed), and owners of identifier links whose first write is in flight
   * or failed. Each stands as a profile with what this batch knows of it (`standInForUnwritten`),
   * written (or made a tombstone) conditional on that first write, so it is never taken for free.
   */
  private readonly stubs: Set<string>;
  /** The ids this batch's identifiers derive, with the identifier each derives from. */
  private readonly madeFrom: Map<string, string>;
  private readonly parent = new Map<string, string>();
  private readonly owner: Map<string, string>;
  private readonly priority: ReturnType<typeof namespacesByPriority>;

  constructor(
    private readonly rules: IdentityRules,
    private readonly defs: AggregateModel,
    owners: Map<string, string>,
    /** Stored profiles and tombstones loaded for this batch (by id, after following tombstones). */
    readonly stored: Map<string, Profile>,
    /** Merges marked pending on a survivor's item (written before the tombstones, cleared by the survivor's write). */
    pending: Map<string, string[]> = new Map(),
    /** The profiles each identifier moved away from in the last days, as its link remembers them. */
    private readonly movedBefore: Map<string, string[]> = new Map(),
    /** Every identifier the batch's records carry (keys). */
    keys: Iterable<string> = [],
  ) {
    this.owner = new Map(owners);
    this.priority = namespacesByPriority(rules);
    this.stubs = new Set([...pending.keys(), ...owners.values()].filter((id) => !stored.has(id)));
    for (const p of stored.values()) {
      if (p.mergedInto !== undefined) this.parent.set(p.profileId, p.mergedInto);
      else this.work.set(p.profileId, structuredClone(p));
    }
    this.madeFrom = new Map([...keys].map((k) => [deriveProfileId(k), k]));
    this.standInForUnwritten(owners, keys);
    this.finishPendingMerges(pending);
    this.compressChains();
  }

  /**
   * A profile not written yet that links lead to: another batch's first write of it may land at any
   * moment, listing (at least) the identifiers linked to it, and the one its id was derived from. It
   * stands as a profile with just those, written only conditional on that first write; one whose
   * userId this batch cannot know is merged with nothing (`customerUnknown`).
   */
  private standInForUnwritten(owners: Map<string, string>, keys: Iterable<string>): void {
    const known = [...owners].filter(([, id]) => this.stubs.has(id));
    for (const key of keys) if (!owners.has(key) && this.stubs.has(deriveProfileId(key))) known.push([key, deriveProfileId(key)]);
    for (const [key, id] of known) {
      if (!this.work.has(id)) this.work.set(id, newProfile(id));
      const stub = this.work.get(id) as Profile;
      const identifier = parseIdentifierKey(key);
      if (!hasIdentifier(stub, identifier)) addIdentifier(stub, identifier);
    }
  }

  /**
   * A tombstone its survivor's item lists as pending is a merge whose survivor write was lost: finish
   * it (the survivor may never have been written at all, when it was new in that batch).
   */
  private finishPendingMerges(pending: Map<string, string[]>): void {
    for (const p of this.stored.values()) {
      const holder = p.mergedInto;
      if (holder === undefined || !(pending.get(holder) ?? []).includes(p.profileId)) continue;
      const root = this.root(p.profileId);
      if (!this.work.has(root) && !this.stored.has(root)) this.work.set(root, newProfile(root));
      const survivor = this.work.get(root);
      if (survivor === undefined) continue;
      if (!survivor.members.includes(p.profileId)) {
        const { mergedInto: _ignored, ...state } = p;
        this.work.set(root, mergeProfiles(survivor, { ...state, version: p.version }, this.defs, 'pending merge', p.updatedAt));
        this.touchedBy.set(root, '');
      }
      this.finishedPending.set(holder, new Set([...(this.finishedPending.get(holder) ?? []), p.profileId]));
    }
  }

  /**
   * Identifiers that lead through two tombstones or more are linked to the live profile at the end
   * of the chain, so no chain grows past what a batch follows (one tombstone is the usual state after
   * a merge, and is left as it is).
   */
  private compressChains(): void {
    for (const [key, owner] of this.owner) {
      const next = this.parent.get(owner);
      const root = this.root(owner);
      if (next !== undefined && next !== root && this.work.has(root)) this.setOwner(key, root);
    }
  }

  /** The live profile an id stands for, following tombstones and this batch's merges. */
  root(id: string): string {
    let at = id;
    for (let hops = 0; hops < 64; hops++) {
      const next = this.parent.get(at);
      if (next === undefined) return at;
      at = next;
    }
    throw new Error(`merge chain from ${id} is too long (cycle?)`);
  }

  profile(id: string): Profile {
    const p = this.work.get(this.root(id));
    if (p === undefined) throw new Error(`profile ${id} is not loaded`);
    return p;
  }

  /** The live profile an identifier belongs to after this batch, if any. */
  finalOwner(key: string): string | undefined {
    const o = this.owner.get(key);
    return o === undefined ? undefined : this.root(o);
  }

  private ownerRoot(key: string): string | undefined {
    const o = this.owner.get(key);
    if (o === undefined) return undefined;
    const r = this.root(o);
    return this.work.has(r) ? r : undefined;
  }

  private setOwner(key: string, profileId: string): void {
    if (!this.changedOwners.has(key)) this.changedOwners.set(key, this.owner.get(key));
    this.owner.set(key, profileId);
  }

  private touch(id: string, by: string): void {
    if (!this.touchedBy.has(id)) this.touchedBy.set(id, by);
  }

  private create(key: string): string {
    const id = deriveProfileId(key);
    const existing = this.work.has(this.root(id)) ? this.root(id) : undefined;
    if (existing !== undefined) return existing;
    // The id is taken by a tombstone whose chain was not loaded to its end: creating it again would conflict for ever.
    if (this.stored.has(id)) throw new Error(`profile ${id} is a merge chain longer than could be followed`);
    this.work.set(id, newProfile(id));
    return id;
  }

  private fitsLimits(a: Profile, b: Profile): boolean {
    for (const ns of NAMESPACES) {
      const union = new Set([...(a.identities[ns] ?? []), ...(b.identities[ns] ?? [])]);
      if (union.size > this.rules.namespaces[ns].limit) return false;
    }
    return true;
  }

  private merge(aId: string, bId: string, via: string, at: string, by: string): string {
    const [survivor, loser] = chooseSurvivor(this.profile(aId), this.profile(bId));
    this.work.set(survivor.profileId, mergeProfiles(survivor, loser, this.defs, via, at));
    this.work.delete(loser.profileId);
    this.parent.set(loser.profileId, survivor.profileId);
    if (this.stored.has(loser.profileId) || this.stubs.has(loser.profileId)) {
      this.mergedAway.add(loser.profileId);
      this.loserStates.set(loser.profileId, loser);
    }
    this.counters.merges += 1;
    this.touch(survivor.profileId, by);
    return survivor.profileId;
  }

  /** Links an identifier to a profile, within its namespace's limit; whether it did. */
  private link(target: string, id: Identifier, key: string): boolean {
    const p = this.profile(target);
    if (hasIdentifier(p, id)) {
      this.setOwner(key, target);
      return true;
    }
    if (identityCount(p, id.ns) >= this.rules.namespaces[id.ns].limit) {
      this.counters.limitReached += 1;
      return false;
    }
    addIdentifier(p, id);
    this.setOwner(key, target);
    return true;
  }

  /**
   * A stand-in for a profile not written yet, with no userId among what this batch knows of it, and
   * whose id does not derive from one of the batch's identifiers, so it may derive from a userId this
   * batch cannot see: it is merged with nothing. Merged into another customer, its tombstone could
   * land before her own first write, and her retry, finding her derived id his, would fold into his
   * profile. Its identifiers can still move to a customer who logs in on them, written conditional on
   * that first write.
   */
  private customerUnknown(id: string): boolean {
    return this.stubs.has(id) && !this.madeFrom.has(id) && userIdOf(this.profile(id)) === undefined;
  }

  /** Whether two live profiles were split apart (lib/privacy/split.ts): they are never merged again. */
  private keptApart(a: string, b: string): boolean {
    const [ra, rb] = [this.root(a), this.root(b)];
    const apart = (x: string, y: string) => (this.profile(x).keptApart ?? []).some((id) => this.root(id) === y);
    return apart(ra, rb) || apart(rb, ra);
  }

  /** A profile's userId, or, for a stand-in derived from a userId of this batch, that userId. */
  private customerOf(id: string): string | undefined {
    const listed = userIdOf(this.profile(id));
    if (listed !== undefined || !this.stubs.has(this.root(id))) return listed;
    const key = this.madeFrom.get(this.root(id));
    return key?.startsWith('userId:') ? parseIdentifierKey(key).value : undefined;
  }

  /**
   * An identifier whose link moved to another customer in an earlier attempt, while the write of the
   * profile it left failed: that profile still lists it. It leaves it now (the write is retried with
   * this record's group).
   */
  private dropLeftBehind(key: string, id: Identifier, owner: string, by: string): void {
    for (const from of this.movedBefore.get(key) ?? []) {
      const r = this.root(from);
      if (r === owner || !this.work.has(r) || !hasIdentifier(this.profile(r), id)) continue;
      removeIdentifier(this.profile(r), id);
      this.touch(r, by);
    }
  }

  /**
   * Resolves one record's identifiers to its profile, linking and merging as the rules say.
   * `by` names the record (its sequence number) for failure reporting; `at` is its event time.
   */
  resolve(ids: Identifier[], at: string, by: string): string {
    const ordered = [...ids].sort((a, b) => this.priority.indexOf(a.ns) - this.priority.indexOf(b.ns));
    if (ordered.length === 0) throw new Error('an event needs at least one identifier');
    const keys = ordered.map(identifierKey);
    const userId = ordered.find((i) => i.ns === 'userId');
    this.adoptUnlinked(keys);
    const roots = this.rootsOf(keys, userId);
    const anchor = this.mergeRoots(this.anchorFor(roots, keys, userId), roots, keys, userId, at, by);
    this.placeIdentifiers(ordered, keys, anchor, userId, by);
    return anchor;
  }

  /** An identifier whose profile exists (derived id) but whose link was never written: adopt the link. */
  private adoptUnlinked(keys: string[]): void {
    for (const key of keys) {
      if (this.owner.get(key) === undefined && this.work.has(this.root(deriveProfileId(key)))) {
        this.setOwner(key, this.root(deriveProfileId(key)));
      }
    }
  }

  /**
   * The live profiles the record's identifiers lead to; with a userId, also a profile that lists it
   * while its link leads elsewhere or nowhere (its write landed, the link's did not), found through
   * the ids these identifiers would have made.
   */
  private rootsOf(keys: string[], userId: Identifier | undefined): string[] {
    const roots = [...new Set(keys.map((k) => this.ownerRoot(k)).filter((r): r is string => r !== undefined))];
    if (userId === undefined) return roots;
    for (const key of keys) {
      const made = this.root(deriveProfileId(key));
      if (this.work.has(made) && userIdOf(this.profile(made)) === userId.value && !roots.includes(made)) roots.push(made);
    }
    return roots;
  }

  /**
   * The profile the record lands in: the customer's own (or the anonymous one she now claims, or a new
   * one); without a userId, the survivor of the roots, unless they belong to two customers (then the
   * first identifier's).
   */
  private anchorFor(roots: string[], keys: string[], userId: Identifier | undefined): string {
    if (userId !== undefined) {
      const own = this.ownerRoot(identifierKey(userId)) ?? roots.find((r) => userIdOf(this.profile(r)) === userId.value);
      const anonymous = roots.filter((r) => userIdOf(this.profile(r)) === undefined && !this.customerUnknown(r));
      if (own !== undefined) return own;
      return anonymous.length > 0 ? this.survivorOf(anonymous) : this.create(identifierKey(userId));
    }
    if (roots.length === 0) return this.create(keys[0] as string);
    const userIds = new Set(roots.map((r) => userIdOf(this.profile(r))).filter((u) => u !== undefined));
    if (userIds.size > 1) return this.ownerRoot(keys.find((k) => this.ownerRoot(k) !== undefined) as string) as string;
    const known = roots.filter((r) => !this.customerUnknown(r));
    return this.survivorOf(known.length > 0 ? known : roots);
  }

  private survivorOf(ids: string[]): string {
    return ids.reduce((a, b) => chooseSurvivor(this.profile(a), this.profile(b))[0].profileId);
  }

  /** Merges the other roots into the anchor, unless that would join two customers or pass a limit; the survivor. */
  private mergeRoots(anchor: string, roots: string[], keys: string[], userId: Identifier | undefined, at: string, by: string): string {
    let survivor = anchor;
    for (const r of roots) {
      if (r === survivor || this.root(r) === this.root(survivor)) continue;
      const mine = this.customerOf(survivor) ?? userId?.value;
      const theirs = this.customerOf(r);
      if ((mine !== undefined && theirs !== undefined && mine !== theirs) || this.customerUnknown(r) || this.customerUnknown(survivor) || this.keptApart(survivor, r)) {
        this.counters.conflicts += 1;
        continue;
      }
      if (!this.fitsLimits(this.profile(survivor), this.profile(r))) {
        this.counters.limitReached += 1;
        continue;
      }
      survivor = this.merge(survivor, r, keys.find((k) => this.ownerRoot(k) === r) ?? '', at, by);
    }
    return survivor;
  }

  /**
   * Links each identifier to the anchor: an unlinked one (or one whose profile write was lost), and,
   * when the record authenticates, a device shared with another customer, which follows whoever logged
   * in last (its history stays where it was).
   */
  private placeIdentifiers(ordered: Identifier[], keys: string[], anchor: string, userId: Identifier | undefined, by: string): void {
    ordered.forEach((id, i) => {
      const key = keys[i] as string;
      const current = this.ownerRoot(key);
      if (current === anchor && hasIdentifier(this.profile(anchor), id)) {
        this.dropLeftBehind(key, id, anchor, by);
      } else if (current === undefined || current === anchor) {
        if (current !== undefined) this.relinked.add(key);
        if (this.link(anchor, id, key)) this.dropLeftBehind(key, id, anchor, by);
        this.touch(anchor, by);
      } else if (userId !== undefined && id.ns !== 'userId' && !this.keptApart(current, anchor)) {
        this.moveShared(key, id, current, anchor, by);
      }
    });
  }

  /** A device shared with another authenticated customer moves to the one who logged in on it now. */
  private moveShared(key: string, id: Identifier, from: string, to: string, by: string): void {
    if (identityCount(this.profile(to), id.ns) >= this.rules.namespaces[id.ns].limit) {
      this.counters.limitReached += 1;
      return;
    }
    removeIdentifier(this.profile(from), id);
    this.touch(from, by);
    this.movedFrom.set(key, [...(this.movedFrom.get(key) ?? []), from]);
    this.moves.push({ from, by });
    this.link(to, id, key);
    this.touch(to, by);
    this.counters.moves += 1;
  }
}
