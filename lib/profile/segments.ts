import { z } from 'zod';
import { own } from '../events/json';
import { describeIssues } from '../config/issues';
import defaults from '../../config/profile.json';
import type { AggregateModel } from './aggregates';
import { STAGE_AGGREGATES, STAGES, type StageConfig } from './stage';
import { consentConfigSchema, type ConsentConfig } from './consent';

/**
 * Segments: rule-defined audiences over a profile's facts (aggregates, traits, journey stage, batch
 * attributes), validated when loaded, compiled once into predicates, evaluated on every update.
 */
export const conditionSchema = z.strictObject({
  path: z.string().regex(/^(aggregates|derived|traits|batch)\.[A-Za-z0-9_.]+$|^stage$/, 'must be stage, or start with aggregates., derived., traits. or batch.'),
  /** For a top-k (list of {value, count}) or a map of counts: sum the counts of these keys. */
  keys: z.array(z.string().min(1)).min(1).optional(),
  op: z.enum(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'exists', 'contains']),
  value: z.unknown().optional(),
});

/** Four ascending breakpoints between five scores. */
const ascending = z
  .array(z.number().nonnegative())
  .length(4)
  .refine((xs) => xs.every((x, i) => i === 0 || x > (xs[i - 1] as number)), 'must be four ascending numbers');

const segmentSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be an identifier (letters, digits, _)'),
  description: z.string().optional(),
  when: z
    .strictObject({ all: z.array(conditionSchema).min(1).optional(), any: z.array(conditionSchema).min(1).optional() })
    .refine((w) => w.all !== undefined || w.any !== undefined, 'needs "all" or "any"'),
});

export const profileConfigSchema = z.strictObject({
  $comment: z.string().optional(),
  stage: z.strictObject({
    cartAbandonedAfterMinutes: z.number().int().min(1),
    lapsingAfterDays: z.number().int().min(1),
    evaluatingProductViews: z.number().int().min(2),
    evaluatingCategoryViews: z.number().int().min(2),
  }),
  rfm: z.strictObject({
    $comment: z.string().optional(),
    recencyDays: ascending,
    frequency: ascending,
    monetary: ascending,
  }),
  consent: consentConfigSchema,
  segments: z.array(segmentSchema),
});

export type Condition = z.output<typeof conditionSchema>;
/** The facts a segment reads. */
export interface Facts {
  aggregates: Record<string, unknown>;
  /** Values computed from aggregates at the moment of reading: recency, cart age, RFM scores. */
  derived: Record<string, unknown>;
  traits: Record<string, unknown>;
  stage: string;
  batch: Record<string, unknown>;
}

export interface CompiledSegment {
  name: string;
  description?: string;
  matches: (facts: Facts) => boolean;
}

export interface RfmConfig {
  recencyDays: number[];
  frequency: number[];
  monetary: number[];
}

export interface ProfileRules {
  stage: StageConfig;
  rfm: RfmConfig;
  segments: CompiledSegment[];
  /** Which identify traits state consent to which category (config/profile.json `consent`). */
  consent: ConsentConfig;
}

/** The value at a path of the facts (`stage`, `aggregates.orders`, `batch.propensity`, ...). */
export function lookup(facts: Facts, path: string): unknown {
  if (path === 'stage') return facts.stage;
  let at: unknown = facts;
  for (const part of path.split('.')) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = own(at as Record<string, unknown>, part);
  }
  return at;
}

/** For a top-k (list of {value, count}) or a map of counts: the sum of the counts of these keys. */
export function sumKeys(v: unknown, keys: string[]): number {
  if (Array.isArray(v)) {
    return v.reduce((s, x: { value?: unknown; count?: unknown }) => s + (keys.includes(String(x?.value)) && typeof x?.count === 'number' ? x.count : 0), 0);
  }
  if (typeof v === 'object' && v !== null) return keys.reduce((s, k) => s + (Number(own(v as Record<string, unknown>, k)) || 0), 0);
  return 0;
}

export function compileCondition(c: Condition): (facts: Facts) => boolean {
  const read = c.keys ? (f: Facts) => sumKeys(lookup(f, c.path), c.keys as string[]) : (f: Facts) => lookup(f, c.path);
  switch (c.op) {
    case 'exists':
      return (f) => {
        const v = read(f);
        return v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
      };
    case 'eq':
      return (f) => read(f) === c.value;
    case 'ne':
      return (f) => read(f) !== c.value;
    case 'in':
      return (f) => Array.isArray(c.value) && c.value.includes(read(f));
    case 'contains':
      return (f) => {
        const v = read(f);
        return Array.isArray(v) ? v.includes(c.value) : typeof v === 'string' && typeof c.value === 'string' && v.includes(c.value);
      };
    default: {
      const y = Number(c.value);
      const cmp = { gt: (x: number) => x > y, gte: (x: number) => x >= y, lt: (x: number) => x < y, lte: (x: number) => x <= y }[c.op];
      return (f) => {
        const x = read(f);
        return typeof x === 'number' && cmp(x);
      };
    }
  }
}

/**
 * Validates and compiles the stage thresholds and segments. Errors name the segment and the field;
 * a condition on an aggregate that is not defined, or a stage that does not exist, is an error too.
 */
export function loadProfileRules(model: AggregateModel, input: unknown = defaults): ProfileRules {
  const result = profileConfigSchema.safeParse(input);
  const fail = (detail: string) => new Error(`Invalid profile rules: ${detail}`);
  if (!result.success) {
    throw fail(describeIssues(result.error.issues, input, [{ path: ['segments'], label: 'segment', nameKey: 'name' }]));
  }
  const known = new Set(model.definitions.map((d) => d.name));
  for (const a of STAGE_AGGREGATES) if (!known.has(a)) throw fail(`stage needs the aggregate "${a}", which is not defined`);
  const names = new Set<string>();
  const segments = result.data.segments.map((s) => {
    if (names.has(s.name)) throw fail(`segment "${s.name}" is declared twice`);
    names.add(s.name);
    const conditions = [...(s.when.all ?? []), ...(s.when.any ?? [])];
    for (const c of conditions) {
      const aggregate = c.path.startsWith('aggregates.') ? c.path.split('.')[1] : undefined;
      if (aggregate !== undefined && !known.has(aggregate)) throw fail(`segment "${s.name}" when: aggregate "${aggregate}" is not defined`);
      if (c.path === 'stage' && c.op === 'eq' && !(STAGES as readonly unknown[]).includes(c.value)) {
        throw fail(`segment "${s.name}" when: stage "${String(c.value)}" does not exist (${STAGES.join(', ')})`);
      }
    }
    const all = (s.when.all ?? []).map(compileCondition);
    const any = (s.when.any ?? []).map(compileCondition);
    return {
      name: s.name,
      description: s.description,
      matches: (f: Facts) => all.every((p) => p(f)) && (any.length === 0 || any.some((p) => p(f))),
    };
  });
  const { $comment: _comment, ...rfm } = result.data.rfm;
  return { stage: result.data.stage, rfm, segments, consent: result.data.consent };
}
