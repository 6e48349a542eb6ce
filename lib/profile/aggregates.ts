import { z } from 'zod';
import defaults from '../../config/aggregates.json';
import type { CollectedEvent } from '../events/segment';

/**
 * The aggregate language: each aggregate names the events it listens to, an operation and (for
 * sum/min/max/first/last) a field path. Every operation is commutative and associative over events
 * ("first"/"last" are decided by event time, then messageId), so the state is a function of the set of
 * events folded, whatever their order, and two profiles' states merge exactly.
 */
export const OPERATIONS = ['count', 'sum', 'min', 'max', 'first', 'last'] as const;

const aggregateSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be an identifier (letters, digits, _)'),
    on: z
      .strictObject({
        type: z.array(z.enum(['track', 'identify', 'page', 'screen', 'alias', 'group'])).min(1).optional(),
        event: z.array(z.string().min(1)).min(1).optional(),
      })
      .optional(),
    op: z.enum(OPERATIONS),
    field: z.string().min(1).optional(),
  })
  .superRefine((a, ctx) => {
    if (a.op !== 'count' && a.field === undefined) {
      ctx.addIssue({ code: 'custom', path: ['field'], message: `is required for op "${a.op}"` });
    }
  });

export const aggregateConfigSchema = z.strictObject({
  $comment: z.string().optional(),
  version: z.number().int().min(1),
  aggregates: z.array(aggregateSchema),
});

export type AggregateDefinition = z.output<typeof aggregateSchema>;

/** State of one aggregate. `first`/`last` keep the ordering key so merges can decide. */
export type AggregateState = number | { v: unknown; t: string; id: string } | null;

/** Validates aggregate definitions; errors name the aggregate and the field. */
export function loadAggregates(input: unknown = defaults): AggregateDefinition[] {
  const result = aggregateConfigSchema.safeParse(input);
  if (!result.success) {
    const list = (input as { aggregates?: Array<{ name?: unknown }> } | undefined)?.aggregates;
    const detail = result.error.issues
      .map((i) => {
        const index = i.path[0] === 'aggregates' && typeof i.path[1] === 'number' ? i.path[1] : undefined;
        const name = index !== undefined ? list?.[index]?.name : undefined;
        const where = index !== undefined ? `aggregate ${typeof name === 'string' ? `"${name}"` : `#${index}`} ${i.path.slice(2).join('.')}` : i.path.join('.');
        return `${where.trim() || '(root)'}: ${i.message}`;
      })
      .join('; ');
    throw new Error(`Invalid aggregate definitions: ${detail}`);
  }
  const names = new Set<string>();
  for (const a of result.data.aggregates) {
    if (names.has(a.name)) throw new Error(`Invalid aggregate definitions: aggregate "${a.name}" is declared twice`);
    names.add(a.name);
  }
  return result.data.aggregates;
}

/** Reads `a.b.c` from an event; undefined when any step is missing. */
export function readPath(event: unknown, path: string): unknown {
  let at: unknown = event;
  for (const part of path.split('.')) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

function matches(def: AggregateDefinition, event: CollectedEvent): boolean {
  if (def.on?.type && !def.on.type.includes(event.type)) return false;
  if (def.on?.event && !(event.type === 'track' && def.on.event.includes(event.event))) return false;
  return true;
}

function numeric(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/** Orders (time, id) pairs: the key that makes first/last independent of arrival order. */
function before(a: { t: string; id: string }, b: { t: string; id: string }): boolean {
  return a.t < b.t || (a.t === b.t && a.id < b.id);
}

/** Adds sums in integer micro-units so that the result does not depend on the order of additions. */
const MICRO = 1_000_000;
const addExact = (a: number, b: number): number => Math.round(a * MICRO + b * MICRO) / MICRO;

function combine(op: AggregateDefinition['op'], a: AggregateState, b: AggregateState): AggregateState {
  if (a === null || a === undefined) return b;
  if (b === null || b === undefined) return a;
  switch (op) {
    case 'count':
    case 'sum':
      return addExact(a as number, b as number);
    case 'min':
      return Math.min(a as number, b as number);
    case 'max':
      return Math.max(a as number, b as number);
    case 'first':
      return before(b as { t: string; id: string }, a as { t: string; id: string }) ? b : a;
    case 'last':
      return before(a as { t: string; id: string }, b as { t: string; id: string }) ? b : a;
  }
}

/** The contribution of one event to one aggregate, or undefined when the event does not count. */
function contribution(def: AggregateDefinition, event: CollectedEvent): AggregateState | undefined {
  if (!matches(def, event)) return undefined;
  if (def.op === 'count') return 1;
  const raw = readPath(event, def.field as string);
  if (raw === undefined || raw === null) return undefined; // unknown field: the aggregate stays as it was
  if (def.op === 'first' || def.op === 'last') return { v: raw, t: event.timestamp, id: event.messageId };
  return numeric(raw);
}

export type Aggregates = Record<string, AggregateState>;

/** Folds one event into the aggregates (returns a new object). */
export function foldAggregates(defs: AggregateDefinition[], state: Aggregates, event: CollectedEvent): Aggregates {
  const next = { ...state };
  for (const def of defs) {
    const c = contribution(def, event);
    if (c !== undefined) next[def.name] = combine(def.op, next[def.name] ?? null, c);
  }
  return next;
}

/** Merges two profiles' aggregates, each by its own merge function. */
export function mergeAggregates(defs: AggregateDefinition[], a: Aggregates, b: Aggregates): Aggregates {
  const out: Aggregates = { ...b, ...a };
  for (const def of defs) {
    const merged = combine(def.op, a[def.name] ?? null, b[def.name] ?? null);
    if (merged === null) delete out[def.name];
    else out[def.name] = merged;
  }
  return out;
}

/** The readable view of aggregates: first/last show their value. */
export function viewAggregates(state: Aggregates): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(state).map(([k, v]) => [k, v !== null && typeof v === 'object' ? v.v : v]),
  );
}
