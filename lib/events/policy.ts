import { z } from 'zod';
import defaults from '../../config/events.json';
import { describeIssues } from '../config/issues';

/**
 * How far incoming events are trusted and which of their fields are personal data
 * (config/events.json), as data with a schema: validated when loaded and when the CDK app
 * synthesises, with errors that name the field.
 *
 * The places of a message a personal field is looked for in: `traits` (identify and group),
 * `context.traits`, `properties`, `context` (every other part of the context: page, campaign,
 * referrer, app, device, location, custom keys...; not its `traits`, `ip` or `device.id`, which have
 * their own treatment) and `message` (the message's own fields beyond the spec's, which the schema
 * keeps: a root-level `email`).
 */
const PLACES = ['traits', 'context.traits', 'properties', 'context', 'message'] as const;
export type PersonalPlace = (typeof PLACES)[number];

const FIELD_PATH = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;
const FIELD_KEY = /^[A-Za-z0-9_$-]+$/;

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
    // Keys repeat from event to event (product_id, category...): remembered, within a bound. When
    // the bound is reached the memory starts again, so a flood of one-off keys cannot keep the
    // usual keys out of it for good.
    if (key.length <= 64) {
      if (canonicalKeys.size >= 10_000) canonicalKeys.clear();
      canonicalKeys.set(key, canonical);
    }
  }
  return canonical;
};

/**
 * The words of a key, in lower case: split at spaces, `_`, `-` and `.`, where a lower-case letter or
 * a digit meets a capital (`homePhone`), and before the last capital of a run of capitals followed by
 * a lower-case letter (`IPAddress`). `billing_address`, `Billing Address` and `billingAddress` are all
 * `billing`, `address`; a key written in one run of lower case (`homephone`) is one word.
 */
const WORD_BREAKS = /[\s_.-]+|(?<=[\p{Ll}\p{N}])(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll})/u;
export const keyWords = (key: string): string[] =>
  key
    .split(WORD_BREAKS)
    .filter((w) => w !== '')
    .map((w) => w.toLowerCase());

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
  /**
   * Also a key whose last words are one of the field's names after one or more other words:
   * `homePhone`, `work_tel`, `Shipping Address`, `billing_address_line1`, `primaryHomePhone` (words as
   * `keyWords` splits them). `true`: every name and alias without dots; a list: only those names
   * (`line1` ends `subjectLine1` too, so the street's list leaves it out). Dotted names match only as
   * written.
   */
  endings: z.union([z.boolean(), z.array(z.string().regex(FIELD_KEY, 'must be a key (letters, digits, _, $ or -)'))]).optional(),
});

/**
 * Each name or alias (in its canonical form) belongs to one field, so no key can be both hashed and
 * removed; a field matched by its endings has a name or alias without dots (dotted ones match only as
 * written).
 */
function checkNames(fields: Array<z.output<typeof personalField>>, ctx: z.RefinementCtx): void {
  const owner = new Map<string, string>();
  fields.forEach((field, i) => {
    const keys = new Set([field.name, ...(field.aliases ?? [])].filter((name) => !name.includes('.')).map(canonicalKey));
    if (field.endings === true && keys.size === 0) {
      ctx.addIssue({ code: 'custom', path: [i, 'endings'], message: 'needs a name or alias without dots (dotted names match only as written)' });
    }
    if (Array.isArray(field.endings)) {
      field.endings.forEach((ending, j) => {
        if (!keys.has(canonicalKey(ending))) ctx.addIssue({ code: 'custom', path: [i, 'endings', j], message: `"${ending}" is not a name or alias (without dots) of this field` });
      });
    }
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
    fields: z.array(personalField).superRefine(checkNames),
    /**
     * Keys the ending rule never takes for a field, in any case and with any separator (`iPhone` is a
     * device, not a phone; `webAddress` a URL). A field's own names and aliases still match them.
     */
    endingExceptions: z.array(z.string().regex(FIELD_KEY, 'must be a key (letters, digits, _, $ or -)')).optional(),
    ip: z.enum(['hash', 'remove']),
  }),
});

export type PersonalField = z.output<typeof personalField>;

export interface EventPolicy {
  eventTime: { futureToleranceMs: number; earliestMs: number };
  personalData: { fields: PersonalField[]; ip: 'hash' | 'remove'; endingExceptions?: string[] };
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
    personalData: { fields: personalData.fields, ip: personalData.ip, endingExceptions: personalData.endingExceptions ?? [] },
  };
}

let cached: EventPolicy | undefined;
/** The shipped policy (config/events.json), validated once. */
export function defaultEventPolicy(): EventPolicy {
  return (cached ??= loadEventPolicy());
}
