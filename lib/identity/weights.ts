import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { PublishedDocument } from '../decision/published';

/**
 * Identity weights learned from the data each night (lib/learn/nightly-job.ts): how popular each
 * product is, as the share of live profiles that researched it. A product many people look at is
 * the u of Fellegi-Sunter for "researched the same product": two strangers agree on a best-seller
 * often, on a niche product almost never. Products below `MIN_PROFILES` are left out (their u is the
 * configured one), so the document stays small.
 */
export const identityWeightsSchema = z.strictObject({
  version: z.string().min(1).max(64),
  /** Live profiles counted. */
  profiles: z.number().int().min(0),
  /** Product id -> share of profiles that researched it (0-1). */
  products: z.record(z.string().max(128), z.number().min(0).max(1)),
});

export type IdentityWeights = z.output<typeof identityWeightsSchema>;

/** Weights before the first night: every product is as rare as the configured u says. */
export const NO_WEIGHTS: IdentityWeights = { version: 'none', profiles: 0, products: {} };

/** Products researched by fewer profiles than this are not listed. */
export const MIN_PROFILES = 3;
/** The most products listed (the most popular), to keep the document within a config table item. */
export const MAX_WEIGHTED_PRODUCTS = 5000;

export function loadIdentityWeights(input: unknown): IdentityWeights {
  const result = identityWeightsSchema.safeParse(input);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`Invalid identity weights: ${detail}`);
  }
  return result.data;
}

/** Product counts over some live profiles (one exported file's): summed over files, then made weights. */
export interface ProductCounts {
  profiles: number;
  counts: Record<string, number>;
}

/** The most product counts one exported file keeps (the most counted): a sender inventing product ids cannot exhaust the job's memory. */
export const MAX_COUNTED_PER_FILE = 50_000;

/** Counts, over some live profiles (each given as the products it researched), how many researched each product. */
export function countProducts(researched: Iterable<string[]>, most = MAX_COUNTED_PER_FILE): ProductCounts {
  const counts = new Map<string, number>();
  let profiles = 0;
  for (const products of researched) {
    profiles += 1;
    for (const p of new Set(products)) counts.set(p, (counts.get(p) ?? 0) + 1);
  }
  return { profiles, counts: Object.fromEntries(topCounts(counts, most)) };
}

export function addCounts(a: ProductCounts, b: ProductCounts): ProductCounts {
  const counts = new Map(Object.entries(a.counts));
  for (const [p, n] of Object.entries(b.counts)) counts.set(p, (counts.get(p) ?? 0) + n);
  return { profiles: a.profiles + b.profiles, counts: Object.fromEntries(counts) };
}

const topCounts = (counts: Map<string, number>, most: number): Array<[string, number]> =>
  [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, most);

/** The weights document's budget: it must fit a config table item (lib/decision/published.ts) with room to spare. */
export const MAX_WEIGHTS_BYTES = 300 * 1024;

/**
 * The weights of summed counts: the most popular products (at least MIN_PROFILES profiles each), as
 * shares, as many as fit MAX_WEIGHTS_BYTES (long product ids a sender made up cannot make it too big
 * to publish).
 */
export function weightsOf(total: ProductCounts, version: string): IdentityWeights {
  const listed = topCounts(new Map(Object.entries(total.counts)), MAX_WEIGHTED_PRODUCTS).filter(([p, n]) => n >= MIN_PROFILES && p !== '__proto__');
  const share = (n: number) => Math.round((n / Math.max(1, total.profiles)) * 1e6) / 1e6;
  const products: Array<[string, number]> = [];
  let bytes = 100;
  for (const [p, n] of listed) {
    bytes += JSON.stringify(p).length + 12;
    if (bytes > MAX_WEIGHTS_BYTES) break;
    products.push([p, share(n)]);
  }
  return { version, profiles: total.profiles, products: Object.fromEntries(products) };
}

/**
 * Where the ingest and the read API get the identity weights: the item `identity-weights` of the
 * config table, published by the nightly job, else none (see PublishedDocument).
 */
export class IdentityWeightsSource extends PublishedDocument<IdentityWeights, { products: number }> {
  constructor(doc: DynamoDBDocumentClient, table: string, refreshMs = 300_000, onError: (e: Error) => void = () => undefined) {
    super(doc, table, 'identity-weights', loadIdentityWeights, refreshMs, () => NO_WEIGHTS, onError, (w) => ({ products: Object.keys(w.products).length }));
  }
}
