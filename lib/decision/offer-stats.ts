import { z } from 'zod';
import { badRequest } from '../http/errors';
import { offerReport, type OfferRates, type Variant } from '../ingest/feedback';
import type { OfferStatsStore } from '../store/ports';
import type { Catalog } from './catalog';

/**
 * `GET /v1/offers/stats?from=YYYY-MM-DD&to=YYYY-MM-DD`: per offer of the current catalog, its
 * impressions, clicks, dismissals and conversions with click-through and conversion rates, per
 * variant (personalised, holdout, unknown) and in total, over UTC days (default: the last 7).
 * One query per offer of the catalog (its days are one partition), so the cost follows the catalog,
 * not the table's history.
 */
const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be a date as YYYY-MM-DD', abort: true })
  .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), 'is not a calendar date');

export const offerStatsQuerySchema = z.strictObject({ from: day.optional(), to: day.optional() });
export const MAX_STATS_DAYS = 92;

export interface OfferStatsReport {
  from: string;
  to: string;
  offers: Array<{ offerId: string; variants: Record<Variant, OfferRates>; total: OfferRates }>;
}

const shift = (d: string, days: number) => new Date(Date.parse(`${d}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

export function parseOfferStatsQuery(query: Record<string, string | undefined> | null | undefined, now = new Date()): { from: string; to: string } {
  const result = offerStatsQuerySchema.safeParse(Object.fromEntries(Object.entries(query ?? {}).filter(([, v]) => v !== undefined)));
  if (!result.success) throw badRequest(result.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '));
  const to = result.data.to ?? now.toISOString().slice(0, 10);
  const from = result.data.from ?? shift(to, -6);
  if (from > to) throw badRequest(`from: must not be after to (${to})`);
  if (shift(from, MAX_STATS_DAYS - 1) < to) throw badRequest(`from: the range may span at most ${MAX_STATS_DAYS} days`);
  return { from, to };
}

export async function offerStatistics(store: OfferStatsStore, catalog: Catalog, range: { from: string; to: string }): Promise<OfferStatsReport> {
  const offers = await Promise.all(
    catalog.offers.map(async (o) => ({ offerId: o.id, ...offerReport(await store.range(o.id, range.from, range.to)) })),
  );
  return { ...range, offers };
}
