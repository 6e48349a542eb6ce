import { z } from 'zod';
import defaults from '../../config/events.json';
import { describeIssues } from '../config/issues';

/**
 * How far incoming events are trusted and which of their fields are personal data
 * (config/events.json), as data with a schema: validated when loaded and when the CDK app
 * synthesises, with errors that name the field.
 */
const PLACES = ['traits', 'context.traits', 'properties'] as const;
export type PersonalPlace = (typeof PLACES)[number];

const personalField = z.strictObject({
  /** A key, or a dotted path inside the place (`address.street`). */
  name: z.string().regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'must be a field name or a dotted path'),
  in: z.array(z.enum(PLACES)).min(1),
  action: z.enum(['hash', 'remove']),
});

export const eventPolicySchema = z.strictObject({
  $comment: z.string().optional(),
  eventTime: z.strictObject({
    $comment: z.string().optional(),
    futureToleranceMinutes: z.number().int().min(0).max(7 * 24 * 60),
    earliest: z.iso.datetime({ offset: true }),
  }),
  personalData: z.strictObject({
    $comment: z.string().optional(),
    fields: z.array(personalField),
    ip: z.enum(['hash', 'remove']),
  }),
});

export type PersonalField = z.output<typeof personalField>;

export interface EventPolicy {
  eventTime: { futureToleranceMs: number; earliestMs: number };
  personalData: { fields: PersonalField[]; ip: 'hash' | 'remove' };
}

/** Validates the policy; errors name the field (`personalData.fields #2 action: ...`). */
export function loadEventPolicy(input: unknown = defaults): EventPolicy {
  const result = eventPolicySchema.safeParse(input);
  if (!result.success) {
    const detail = describeIssues(result.error.issues, input, [{ path: ['personalData', 'fields'], label: 'personal data field', nameKey: 'name' }]);
    throw new Error(`Invalid event policy: ${detail}`);
  }
  const { eventTime, personalData } = result.data;
  return {
    eventTime: { futureToleranceMs: eventTime.futureToleranceMinutes * 60_000, earliestMs: Date.parse(eventTime.earliest) },
    personalData: { fields: personalData.fields, ip: personalData.ip },
  };
}

let cached: EventPolicy | undefined;
/** The shipped policy (config/events.json), validated once. */
export function defaultEventPolicy(): EventPolicy {
  return (cached ??= loadEventPolicy());
}
