import { z } from 'zod';
import type { CollectedEvent } from '../events/segment';
import { asObject, own, setOwn } from '../events/json';
import defaults from '../../config/profile.json';

/**
 * Consent, per category, as the person last stated it: Segment's `context.consent.categoryPreferences`
 * (sent on every event by a consent-managed source), or an identify trait the configuration maps to a
 * category (for sources without a consent tool). Each category keeps its state with the time and the
 * source of the statement that set it, and a bounded history of changes.
 *
 * Statements are ordered by when the collector received them (`receivedAt`, set by the server), not by
 * the device's clock: a withdrawal must win over a grant the device stamped a few minutes ahead. At the
 * same instant a withdrawal wins. So the state is the same whatever order or batching delivers them.
 */
export const consentConfigSchema = z
  .strictObject({
    $comment: z.string().optional(),
    /** Identify traits that state consent to a category when true or false (`consentPersonalisation` -> `personalization`). */
    traits: z.record(z.string().min(1).max(64), z.string().min(1).max(64)).default({}),
  })
  .default({ traits: {} });

export type ConsentConfig = z.output<typeof consentConfigSchema>;

let shipped: ConsentConfig | undefined;
/** The consent section of the shipped config/profile.json. */
export function shippedConsentConfig(): ConsentConfig {
  return (shipped ??= consentConfigSchema.parse((defaults as { consent?: unknown }).consent));
}

export interface ConsentState {
  granted: boolean;
  /** When the statement was received (server time). */
  at: string;
  /** `context.consent` or `trait:<name>`. */
  source: string;
  /** The stamp of the statement's message (lib/profile/aggregates.ts stampId), to order statements received at once. */
  id: string;
}

export interface ConsentChange {
  category: string;
  granted: boolean;
  at: string;
  source: string;
}

/** At most this many categories per profile (names are client data): the rest of a statement is ignored. */
export const MAX_CONSENT_CATEGORIES = 20;
export const MAX_CONSENT_CATEGORY_CHARS = 64;
export const MAX_CONSENT_HISTORY = 50;
const SOURCE_CONTEXT = 'context.consent';

/** The consent statements an event makes: category -> granted, with their source. */
export function consentStatements(event: CollectedEvent, config: ConsentConfig): Array<{ category: string; granted: boolean; source: string }> {
  const out: Array<{ category: string; granted: boolean; source: string }> = [];
  const preferences = asObject(asObject(asObject(event.context)?.consent)?.categoryPreferences);
  for (const [name, value] of Object.entries(preferences ?? {})) {
    const category = categoryName(name);
    if (category !== undefined && typeof value === 'boolean') out.push({ category, granted: value, source: SOURCE_CONTEXT });
  }
  const traits = event.type === 'identify' ? asObject(event.traits) : undefined;
  for (const [trait, category] of Object.entries(config.traits)) {
    const value = traits === undefined ? undefined : own(traits, trait);
    if (typeof value === 'boolean' && !out.some((s) => s.category === categoryName(category))) out.push({ category: categoryName(category) as string, granted: value, source: `trait:${trait}` });
  }
  return out.slice(0, MAX_CONSENT_CATEGORIES);
}

/** Category names compare without case (`Advertising` and `advertising` are one category). */
function categoryName(name: string): string | undefined {
  const category = name.trim().toLowerCase();
  return category === '' || category.length > MAX_CONSENT_CATEGORY_CHARS ? undefined : category;
}

/** Whether statement `b` comes after `a`: later receipt, then a withdrawal over a grant, then the larger message stamp. */
function later(a: ConsentState, b: ConsentState): boolean {
  if (b.at !== a.at) return b.at > a.at;
  if (b.granted !== a.granted) return !b.granted;
  return b.id > a.id;
}

export interface Consented {
  consent?: Record<string, ConsentState>;
  consentHistory?: ConsentChange[];
}

/**
 * Folds an event's consent statements into the holder's state and history. Mutates `holder`. A
 * statement older than the state it meets changes nothing but the history; a new category beyond
 * MAX_CONSENT_CATEGORIES is ignored.
 */
export function foldConsent(holder: Consented, event: CollectedEvent, config: ConsentConfig, stamp: string): void {
  const statements = consentStatements(event, config);
  if (statements.length === 0) return;
  const at = event.receivedAt;
  for (const s of statements) applyStatement(holder, { category: s.category, granted: s.granted, at, source: s.source }, stamp);
}

function applyStatement(holder: Consented, change: ConsentChange, stamp: string): void {
  const state = { ...holder.consent };
  const current = own(state, change.category);
  if (current === undefined && Object.keys(state).length >= MAX_CONSENT_CATEGORIES) return;
  const next: ConsentState = { granted: change.granted, at: change.at, source: change.source, id: stamp };
  if (current === undefined || later(current, next)) setOwn(state, change.category, next);
  holder.consent = state;
  holder.consentHistory = consentHistory([...(holder.consentHistory ?? []), change]);
}

/**
 * A history of changes: every statement in time order (a withdrawal after a grant received at once),
 * without those that repeat the category's previous state (a consent tool restates it on every event),
 * the most recent MAX_CONSENT_HISTORY kept.
 */
export function consentHistory(changes: ConsentChange[]): ConsentChange[] {
  const sorted = [...changes].sort((x, y) => (x.at !== y.at ? (x.at < y.at ? -1 : 1) : x.granted !== y.granted ? (x.granted ? -1 : 1) : x.category < y.category ? -1 : x.category > y.category ? 1 : x.source < y.source ? -1 : x.source > y.source ? 1 : 0));
  const last = new Map<string, boolean>();
  const out: ConsentChange[] = [];
  for (const c of sorted) {
    if (last.get(c.category) === c.granted) continue;
    last.set(c.category, c.granted);
    out.push(c);
  }
  return out.slice(-MAX_CONSENT_HISTORY);
}

/** Two profiles' consent merged (a merge of one person's profiles): each category's later statement, histories joined. */
export function mergeConsent(a: Consented, b: Consented): Consented {
  if (a.consent === undefined && b.consent === undefined) return {};
  const state = { ...a.consent };
  for (const [category, s] of Object.entries(b.consent ?? {})) {
    const mine = own(state, category);
    if (mine === undefined ? Object.keys(state).length < MAX_CONSENT_CATEGORIES : later(mine, s)) setOwn(state, category, s);
  }
  return { consent: state, consentHistory: consentHistory([...(a.consentHistory ?? []), ...(b.consentHistory ?? [])]) };
}

/** Whether the holder has consented to a category: only an explicit grant counts (opt-in). */
export const hasConsent = (holder: Consented | undefined, category: string): boolean => (holder?.consent ? own(holder.consent, category.toLowerCase())?.granted === true : false);

/** The readable view: category -> state, without the internal stamp. */
export function viewConsent(holder: Consented): Record<string, { granted: boolean; at: string; source: string }> {
  return Object.fromEntries(Object.entries(holder.consent ?? {}).map(([k, { granted, at, source }]) => [k, { granted, at, source }]));
}
