/**
 * Where each merged-away profile's events belong, now and at the training cut-off, from the merge
 * log (lib/learn/nightly-job.ts reads it from the exported profiles). Now: the end of its chain of
 * merges (as lib/profile/read.ts's followMerges on the live tables). At the cut-off: the first
 * profile on the chain whose merge came after it, the profile that was live then (her anonymous
 * device's browsing was its own row then, not hers), or none when the whole chain was known.
 */
import { MAX_MERGE_HOPS } from '../profile/read';

export interface MergeRoots {
  /** Merged-away profile -> the live profile now. */
  roots: Record<string, string>;
  /** Merged-away profile -> the profile its events belonged to at the cut-off, where that was not the live one. */
  cutoffRoots: Record<string, string>;
}

/**
 * `merged`: each merged-away profile and the one it merged into; `times`: when it merged (ISO), where
 * a log still says (a merge log keeps its latest entries: one no log kept is old, taken as before).
 */
export function mergeRoots(merged: ReadonlyMap<string, string>, times: ReadonlyMap<string, string>, cutoff: Date): MergeRoots {
  const at = cutoff.toISOString();
  const roots: Record<string, string> = {};
  const cutoffRoots: Record<string, string> = {};
  for (const from of merged.keys()) {
    let profile = from;
    let then: string | undefined;
    for (let hops = 0; merged.has(profile); hops++) {
      if (hops >= MAX_MERGE_HOPS) throw new Error(`merge chain from ${from} is too long`);
      if (then === undefined && (times.get(profile) ?? '') > at) then = profile;
      profile = merged.get(profile) as string;
    }
    roots[from] = profile;
    if (then !== undefined) cutoffRoots[from] = then;
  }
  return { roots, cutoffRoots };
}
