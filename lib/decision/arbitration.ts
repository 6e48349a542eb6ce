/**
 * Which of a decision's scored offers she is shown, in which order: the holdout (a stable share of
 * profiles gets the control experience, generic offers by value), arbitration with diversity, the
 * serendipity slot and exploration; for a holdout decision, what the personalised experience would
 * have shown her (its control arm, `withheld`).
 */
import { createHash } from 'node:crypto';
import type { Catalog, Offer } from './catalog';

/** What arbitration reads of a scored candidate offer. */
export interface Arbitrated {
  offer: Offer;
  score: number;
  reasons: string[];
  required: boolean;
  serendipity?: boolean;
}

/** What arbitration reads of the decision asked for. */
export interface ArbitrationInput {
  profileId: string | null;
  decisionId: string;
  count: number;
  explore?: boolean;
}

/** A number in [0, 100) from a string, stable across processes: for holdout and exploration shares. */
export function bucketOf(key: string): number {
  return parseInt(createHash('sha256').update(key).digest('hex').slice(0, 8), 16) % 100;
}

/** Holdout, arbitration with diversity, the serendipity slot and exploration: which offers, in which order. */
export function arbitrate<S extends Arbitrated>(input: ArbitrationInput, arb: Catalog['arbitration'], scored: S[]): { chosen: S[]; holdout: boolean; explored?: S; withheld: string[] } {
  // Holdout: a stable share of profiles gets the control experience (generic offers by value).
  const holdout = input.profileId !== null && bucketOf(`holdout:${input.profileId}`) < arb.holdoutPercent;
  if (!holdout) {
    const chosen = withDiversity(scored, input.count);
    const explored = personalise(input, arb.explorePercent, scored, chosen);
    return explored === undefined ? { chosen, holdout, withheld: [] } : { chosen, holdout, withheld: [], explored };
  }
  const pool = scored.filter((c) => !c.offer.personalised).map((c) => ({ ...c, score: c.offer.value, reasons: ['control group'] }));
  const chosen = withDiversity(pool, input.count);
  // Its control arm: exactly what the personalised experience would have returned her (serendipity
  // and exploration with the same draws), less what the control experience shows anyway. Only a
  // holdout decision pays for this second arbitration.
  const shown = new Set(chosen.map((c) => c.offer.id));
  const mine = [...scored];
  const would = withDiversity(mine, input.count);
  personalise(input, arb.explorePercent, mine, would);
  const withheld = would.map((c) => c.offer.id).filter((id) => !shown.has(id));
  return { chosen, holdout, withheld };
}

/**
 * The personalised experience after arbitration with diversity (`chosen`, from `pool` sorted by it):
 * the serendipity slot, then, for a small deterministic share of decisions, exploration. Changes
 * `chosen` in place; returns the explored offer, if any.
 */
function personalise<S extends Arbitrated>(input: ArbitrationInput, explorePercent: number, pool: S[], chosen: S[]): S | undefined {
  // Serendipity: with two or more slots, the last one goes to the serendipity pick if it is eligible.
  const serendipitous = pool.find((c) => c.serendipity);
  if (serendipitous && input.count >= 2 && !chosen.includes(serendipitous)) {
    if (chosen.length >= input.count) chosen[chosen.length - 1] = serendipitous;
    else chosen.push(serendipitous);
  }

  // Exploration: a small, deterministic share of decisions puts a random eligible offer in the last slot.
  if (input.explore !== false && chosen.length > 0 && bucketOf(`explore:${input.decisionId}`) < explorePercent) {
    const others = pool.filter((c) => !chosen.includes(c));
    if (others.length > 0) {
      const explored = others[bucketOf(`pick:${input.decisionId}`) % others.length] as S;
      chosen[chosen.length - 1] = explored;
      return explored;
    }
  }
  return undefined;
}

/** Arbitration with diversity: required offers first, then by score, no two of one category while others remain (sorts the pool). */
function withDiversity<S extends Arbitrated>(pool: S[], count: number): S[] {
  pool.sort((a, b) => Number(b.required) - Number(a.required) || b.score - a.score || (a.offer.id < b.offer.id ? -1 : 1));
  const chosen: S[] = [];
  for (const pass of [true, false]) {
    for (const c of pool) {
      if (chosen.length >= count) break;
      if (chosen.includes(c)) continue;
      if (pass && chosen.some((x) => x.offer.category === c.offer.category)) continue;
      chosen.push(c);
    }
  }
  return chosen;
}
