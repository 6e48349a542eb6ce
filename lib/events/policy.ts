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

const FIELD_PATH = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;

/**
 * The form in which a key is compared with the policy's field names: lower case, without spaces,
 * `_`, `-` or `.`, so `Email`, `E-mail`, `e_mail` and `EMAIL` are all `email`, and `first_name`,
 * `First Name` and `firstName` are all `firstname`. Forms, CRMs and SDKs spell the same field every
 * way; a redaction that matched only one spelling would keep the others in clear.
 */
const canonicalKeys = new Map<string, string>();
export const canonicalKey = (key: string): string => {
  let canonical = canonicalKeys.get(key);
  if (canonical === undefined) {
    canonical = key.toLowerCase().replace(/[\s_.-]/g, '');
    // Keys repeat from event to event (product_id, category...): remembered, within a bound.
    if (canonicalKeys.size < 10_000 && key.length <= 64) canonicalKeys.set(key, canonical);
  }
  return canonical;
};

const personalField = z.strictObject({
  /**
   * A key, or a dotted path that ends the keys leading to a value (`address.line1` matches
   * `traits.address.line1` and `properties.shipping.address.line1`). Case and separators do not matter.
   */
  name: z.string().regex(FIELD_PATH, 'must be a field name or a dotted path'),
  /** Other names for the same thing (`surname` for `lastName`); hashed as the field's name, so a hashed `emailAddress` equals the e-mail identifier. */
  aliases: z.array(z.string().regex(FIELD_PATH, 'must be a field name or a dotted path')).optional(),
  in: z.array(z.enum(PLACES)).min(1),
  /**
   * `hash`: every text or number under the key is hashed (a list of e-mails, each); `remove`: the key
   * goes, whatever it holds; `removeText`: the key goes when it holds text or a number (an address
   * written on one line), and an object or list under it is searched like any other.
   */
  action: z.enum(['hash', 'remove', 'removeText']),
});

/** Each name or alias (in its canonical form) belongs to one field, so no key can be both hashed and removed. */
function checkNamesAreUnique(fields: Array<z.output<typeof personalField>>, ctx: z.RefinementCtx): void {
  const owner = new Map<string, string>();
  fields.forEach((field, i) => {
    [field.name, ...(field.aliases ?? [])].forEach((name, j) => {
      const canonical = name.split('.').map(canonicalKey).join('.');
      const earlier = owner.get(canonical);
      if (earlier !== undefined) {
        ctx.addIssue({ code: 'custom', path: j === 0 ? [i, 'name'] : [i, 'aliases', j - 1], message: `"${name}" is already a name of field "${earlier}" (case and separators do not matter)` });
      } else owner.set(canonical, field.name);
    });
  });
}

export const eventPolicySchema = z.strictObject({
  $comment: z.string().optional(),
  eventTime: z.strictObject({
    $comment: z.string().optional(),
    futureToleranceMinutes: z.number().int().min(0).max(7 * 24 * 60),
    earliest: z.iso.datetime({ offset: true }),
  }),
  personalData: z.strictObject({
    $comment: z.string().optional(),
    fields: z.array(personalField).superRefine(checkNamesAreUnique),
    ip: z.enum(['hash', 'remove']),
  }),
});

export type PersonalField = z.output<typeof personalField>;

export interface EventPolicy {
  eventTime: { futureToleranceMs: number; earliestMs: number };
  personalData: { fields: PersonalField[]; ip: 'hash' | 'remove' };
}

/** Validates the policy; errors name the field (`personal data field "email" action: ...`). */
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
