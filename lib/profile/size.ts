import { halveAggregate, type AggregateModel } from './aggregates';
import type { Profile } from './profile';

/**
 * A profile's size budget. DynamoDB refuses an item over 400 KB, and a profile that could not be
 * written would stop every later event of that customer, so a profile document is kept within 128 KB
 * whatever arrives (the item adds the matcher's card, a few KB). Every list and map already has a
 * bound (lib/profile/profile.ts, aggregates.ts, marks.ts) that keeps ordinary profiles far smaller
 * (a very active customer's year is about 70 KB); this is the guarantee behind them, for hostile input
 * and for configurations with many windowed aggregates.
 */
export const PROFILE_BUDGET_BYTES = 128 * 1024;

const bytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v) ?? '');

/** A part of a profile that can be halved, least useful half first. */
interface Part {
  name: string;
  size: () => number;
  /** Halves the part in place; false when there is nothing left to halve. */
  halve: () => boolean;
}

function halveList<T>(list: T[] | undefined, set: (kept: T[]) => void, keepNewest = true): boolean {
  if (list === undefined || list.length <= 1) return false;
  set(keepNewest ? list.slice(Math.ceil(list.length / 2)) : list.slice(0, Math.floor(list.length / 2)));
  return true;
}

function halveRecord<T>(record: Record<string, T> | undefined, set: (kept: Record<string, T>) => void): boolean {
  const entries = Object.entries(record ?? {});
  if (entries.length <= 1) return false;
  // The largest entries go first: they cost the most and are the least likely to be ordinary.
  entries.sort((a, b) => bytes(a) - bytes(b) || (a[0] < b[0] ? -1 : 1));
  set(Object.fromEntries(entries.slice(0, Math.floor(entries.length / 2))));
  return true;
}

/**
 * Halves the list of merged members: first those the merge log no longer lists (the oldest merges),
 * then the oldest of the rest. A member dropped here is still a tombstone that points to this profile;
 * only its events drop out of the journey read (the events table keeps them under the member's id).
 */
function halveMembers(p: Profile): boolean {
  if (p.members.length <= 1) return false;
  const order = new Map(p.mergeLog.map((m, i) => [m.from, i]));
  const oldestFirst = [...p.members].sort((a, b) => (order.get(a) ?? -1) - (order.get(b) ?? -1) || (a < b ? -1 : 1));
  p.members = oldestFirst.slice(Math.ceil(oldestFirst.length / 2)).sort();
  return true;
}

function partsOf(p: Profile, model: AggregateModel): Part[] {
  const parts: Part[] = [
    { name: 'members', size: () => bytes(p.members), halve: () => halveMembers(p) },
    { name: 'segmentHistory', size: () => bytes(p.segmentHistory), halve: () => halveList(p.segmentHistory, (k) => (p.segmentHistory = k)) },
    { name: 'mergeLog', size: () => bytes(p.mergeLog), halve: () => halveList(p.mergeLog, (k) => (p.mergeLog = k)) },
    { name: 'consentHistory', size: () => bytes(p.consentHistory), halve: () => halveList(p.consentHistory, (k) => (p.consentHistory = k)) },
    { name: 'traits', size: () => bytes(p.traits), halve: () => halveRecord(p.traits, (k) => (p.traits = k)) },
    { name: 'batch', size: () => bytes(p.batch), halve: () => halveRecord(p.batch, (k) => (p.batch = k)) },
    { name: 'signals.products', size: () => bytes(p.signals.products), halve: () => halveRecord(p.signals.products, (k) => (p.signals.products = k)) },
    { name: 'signals.views', size: () => bytes(p.signals.views), halve: () => halveRecord(p.signals.views, (k) => (p.signals.views = k)) },
    { name: 'signals.interests', size: () => bytes(p.signals.interests), halve: () => halveRecord(p.signals.interests, (k) => (p.signals.interests = k)) },
  ];
  for (const def of model.definitions) {
    parts.push({
      name: `aggregates.${def.name}`,
      size: () => bytes(p.aggregates[def.name]),
      halve: () => {
        const s = p.aggregates[def.name];
        const smaller = s === undefined ? undefined : halveAggregate(def, s);
        if (smaller === undefined) return false;
        p.aggregates[def.name] = smaller;
        return true;
      },
    });
  }
  return parts;
}

/**
 * Keeps a profile within the budget: while it is over, the largest part that can shrink is halved
 * (an aggregate's lowest counts or oldest buckets, the largest traits, the oldest history, the oldest
 * merged members). Identities and processing marks are never trimmed: they are what identity and
 * exactly-once rest on, and are bounded on their own. (Merged members can be: whether a merge is
 * finished is kept on the survivor's item as pending merges, not read from this list.) Returns the parts trimmed (empty for every ordinary profile). Mutates `p`.
 */
export function fitBudget(p: Profile, model: AggregateModel, budget = PROFILE_BUDGET_BYTES): string[] {
  if (bytes(p) <= budget) return [];
  const trimmed = new Set<string>();
  const parts = partsOf(p, model);
  const exhausted = new Set<string>();
  while (bytes(p) > budget) {
    const candidates = parts.filter((x) => !exhausted.has(x.name)).sort((a, b) => b.size() - a.size());
    const largest = candidates[0];
    if (largest === undefined) break;
    if (largest.halve()) trimmed.add(largest.name);
    else exhausted.add(largest.name);
  }
  return [...trimmed];
}
