import { extractIdentifiers, identifierKey, type Identifier } from '../../lib/events/identifiers';
import type { CollectedEvent } from '../../lib/events/segment';
import { defaultIdentityRules } from '../../lib/identity/rules';
import { messageMoment, suppressionVerdict, withoutIdentifiers } from '../../lib/privacy/suppression';

const SALT = 'test-salt';
const rules = defaultIdentityRules();
const ERASED_AT = '2026-11-20T12:00:00.000Z';
const before = Date.parse('2026-11-20T11:00:00.000Z');
const after = Date.parse('2026-11-20T13:00:00.000Z');
const id = (ns: Identifier['ns'], value: string): Identifier => ({ ns, value });
const suppressed = (...keys: string[]) => new Map(keys.map((k) => [k, ERASED_AT]));

describe('what a suppression holds back of one message', () => {
  it('drops a message carrying her userId whole, whenever it comes', () => {
    const ids = [id('userId', 'ann'), id('anonymousId', 'tablet')];
    expect(suppressionVerdict(ids, suppressed('userId:ann'), after)).toEqual({ drop: true, strip: [], release: [] });
  });

  it("takes her device out of a message from before the erasure, keeping someone else's userId", () => {
    const ids = [id('userId', 'ben'), id('anonymousId', 'tablet')];
    expect(suppressionVerdict(ids, suppressed('anonymousId:tablet'), before)).toEqual({ drop: false, strip: ['anonymousId:tablet'], release: [] });
  });

  it('releases her device to the customer who logs in on it after the erasure', () => {
    const ids = [id('userId', 'ben'), id('anonymousId', 'tablet')];
    expect(suppressionVerdict(ids, suppressed('anonymousId:tablet'), after)).toEqual({ drop: false, strip: [], release: ['anonymousId:tablet'] });
  });

  it('drops an anonymous message that names nothing but her identifiers, before or after', () => {
    const ids = [id('anonymousId', 'tablet'), id('deviceId', 'd-1')];
    for (const moment of [before, after]) expect(suppressionVerdict(ids, suppressed('anonymousId:tablet', 'deviceId:d-1'), moment).drop).toBe(true);
  });

  it('keeps an anonymous message that also names an identifier of nobody erased, without hers', () => {
    const ids = [id('anonymousId', 'tablet'), id('deviceId', 'd-2')];
    expect(suppressionVerdict(ids, suppressed('anonymousId:tablet'), after)).toEqual({ drop: false, strip: ['anonymousId:tablet'], release: [] });
  });

  it('leaves a message naming no suppressed identifier alone', () => {
    expect(suppressionVerdict([id('userId', 'ben')], suppressed('userId:ann'), after)).toEqual({ drop: false, strip: [], release: [] });
  });

  it('dates a message by the earlier of its receipt and its event time: a replay through the collector is from before', () => {
    expect(messageMoment({ receivedAt: '2026-12-01T00:00:00.000Z', timestamp: '2026-11-20T10:00:00.000Z' })).toBe(Date.parse('2026-11-20T10:00:00.000Z'));
    expect(messageMoment({ receivedAt: '2026-11-20T10:00:00.000Z', timestamp: '2026-12-01T00:00:00.000Z' })).toBe(Date.parse('2026-11-20T10:00:00.000Z'));
  });
});

describe('a message without the identifiers taken out', () => {
  const event = {
    type: 'identify',
    messageId: 'm-1',
    userId: 'ben',
    anonymousId: 'tablet',
    receivedAt: ERASED_AT,
    timestamp: ERASED_AT,
    traits: { email: 'sha256:' + 'a'.repeat(64), name: 'Ben', Phone: '+44 7700 900123' },
    context: { device: { id: 'd-1', model: 'Tab' }, traits: { e_mail: 'sha256:' + 'a'.repeat(64) } },
  } as unknown as CollectedEvent;
  const keys = (e: CollectedEvent) => extractIdentifiers(e, rules, SALT).map(identifierKey).sort();

  it('removes each field that holds one, and nothing else', () => {
    const all = keys(event);
    const strip = new Set(all.filter((k) => !k.startsWith('userId:')));
    const out = withoutIdentifiers(event, strip, rules, SALT) as any;
    expect(keys(out)).toEqual(['userId:ben']);
    expect(out).toMatchObject({ userId: 'ben', traits: { name: 'Ben' }, context: { device: { model: 'Tab' } } });
    expect(out.anonymousId).toBeUndefined();
    expect(out.context.device.id).toBeUndefined();
    expect(out.traits.email).toBeUndefined();
    expect(out.traits.Phone).toBeUndefined();
    expect(out.context.traits.e_mail).toBeUndefined();
  });

  it('leaves the original message as it was', () => {
    withoutIdentifiers(event, new Set(['anonymousId:tablet']), rules, SALT);
    expect((event as any).anonymousId).toBe('tablet');
  });
});
