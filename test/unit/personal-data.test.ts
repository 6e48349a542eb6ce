import { collect, type EventStream, type Privacy } from '../../lib/collect/collector';
import { parseRequest } from '../../lib/collect/request';
import { extractIdentifiers, hashPii, storedIdentifier } from '../../lib/events/identifiers';
import { MAX_REDACTION_DEPTH, REDACTED_WITH, redactForDeadLetter, redactionFingerprint, redactionSeal, redactPersonalData, redactRecordData } from '../../lib/events/personal';
import { defaultEventPolicy, loadEventPolicy } from '../../lib/events/policy';
import type { CollectedEvent } from '../../lib/events/segment';
import { loadIdentityRules } from '../../lib/identity/rules';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { lookupIdentity, readJourney, readProfile } from '../../lib/profile/read';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, SequenceFactory, toRecord, annIdentify } from '../support/factories';
import eventDefaults from '../../config/events.json';

const rules = loadIdentityRules();
const policy = defaultEventPolicy().personalData;
const SALT = 'test-salt';

describe('personal data redaction (defect 8)', () => {
  const message = annIdentify;

  it('hashes e-mail, phone and the IP address, and removes names and the street address', () => {
    const redacted = redactPersonalData(message, policy, SALT);
    const text = JSON.stringify(redacted);
    for (const clear of ['Ann', 'Smith', 'Acacia', '203.0.113.7', '7946']) expect(text).not.toContain(clear);
    expect(redacted.traits).toEqual({
      email: `sha256:${hashPii('email', 'ann.smith@example.com', SALT)}`,
      phone: `sha256:${hashPii('phone', '+442079460958', SALT)}`,
      plan: 'gold',
      address: { city: 'Leeds', country: 'GB' },
    });
    expect(redacted.context.ip).toMatch(/^sha256:[0-9a-f]{64}$/);
    // A product's name is not a person's.
    expect(redacted.properties).toMatchObject({ product_id: 'p1', name: 'Sage paint 2L', email: expect.stringMatching(/^sha256:/) });
    // The input is not changed.
    expect(message.traits.firstName).toBe('Ann');
  });

  it('is idempotent for what it produced, and hashes again a client-sent "hash" (nobody claims an identity by hash)', () => {
    const once = redactPersonalData(message, policy, SALT);
    expect(redactPersonalData(once, policy, SALT, { trustHashed: true })).toEqual(once);
    const claimed = redactPersonalData({ type: 'identify', traits: { email: once.traits.email } }, policy, SALT);
    expect(claimed.traits).toEqual({});
  });

  it('keeps the identifiers the same as from the clear values, so matching still works', () => {
    const clear = extractIdentifiers(message as unknown as CollectedEvent, rules, SALT);
    const redacted = extractIdentifiers(redactPersonalData(message, policy, SALT) as unknown as CollectedEvent, rules, SALT);
    expect(redacted).toEqual(clear);
  });

  it('masks what it cannot parse in a dead letter', () => {
    const text = '{"traits":{"email":"ann.smith@example.com","phone":"+44 20 7946 0958"},"context":{"ip":"203.0.113.7"} broken';
    const kept = Buffer.from(redactRecordData(Buffer.from(text).toString('base64'), policy, SALT), 'base64').toString('utf8');
    for (const clear of ['ann.smith', '7946', '203.0.113.7']) expect(kept).not.toContain(clear);
    expect(JSON.parse(kept)).toMatchObject({ undecodable: true, bytes: text.length });
  });
});

describe('personal data redaction: every spelling, every depth', () => {
  const hashOf = (ns: 'email' | 'phone', raw: string) => `sha256:${hashPii(ns, raw, SALT)}`;

  it('finds a field whatever its case and separators (Email, E-mail, e_mail, EMAIL, first_name, FIRST NAME) and by its aliases (surname, fullName)', () => {
    const traits = { Email: 'Ann@example.com', 'E-mail': 'ann@example.com', e_mail: 'ann@example.com', EMAIL: 'ann@example.com', first_name: 'Ann', 'FIRST NAME': 'Ann', surname: 'Smith', fullName: 'Ann Smith', plan: 'gold' };
    const redacted = redactPersonalData({ type: 'identify', userId: 'u1', traits }, policy, SALT);
    const email = hashOf('email', 'ann@example.com');
    expect(redacted.traits).toEqual({ Email: email, 'E-mail': email, e_mail: email, EMAIL: email, plan: 'gold' });
  });

  it('hashes an alias as the field it stands for, so a hashed emailAddress equals the e-mail identifier', () => {
    const redacted = redactPersonalData({ type: 'identify', userId: 'u1', traits: { emailAddress: 'ann@example.com', phoneNumber: '+44 20 7946 0958' } }, policy, SALT);
    expect(redacted.traits).toEqual({ emailAddress: hashOf('email', 'ann@example.com'), phoneNumber: hashOf('phone', '+442079460958') });
  });

  it('looks inside nested objects and lists, and hashes every value under an e-mail or phone key (a list of addresses, each)', () => {
    const message = {
      type: 'track',
      userId: 'u1',
      event: 'Order Completed',
      properties: { total: 10, customer: { email: 'ann@example.com', name: 'Ann Smith' }, recipients: [{ email: 'bob@example.com' }], emails: ['ann@example.com', 'N/A'], products: [{ name: 'Sage paint 2L' }] },
    };
    const redacted = redactPersonalData(message, policy, SALT);
    expect(redacted.properties).toEqual({
      total: 10,
      customer: { email: hashOf('email', 'ann@example.com') },
      recipients: [{ email: hashOf('email', 'bob@example.com') }],
      emails: [hashOf('email', 'ann@example.com')],
      // A product's name is not a person's.
      products: [{ name: 'Sage paint 2L' }],
    });
    expect(message.properties.customer.email).toBe('ann@example.com');
  });

  it('removes an address written on one line, and only the street of an address given as an object', () => {
    const redacted = redactPersonalData({ type: 'identify', userId: 'u1', traits: { address: '1 Acacia Avenue, Leeds LS1 4AP' }, properties: { shipping: { address: { line1: '1 Acacia Avenue', city: 'Leeds', country: 'GB' } } } }, policy, SALT);
    expect(redacted.traits).toEqual({});
    expect(redacted.properties).toEqual({ shipping: { address: { city: 'Leeds', country: 'GB' } } });
  });

  it('masks e-mail addresses inside any other text of traits, properties and the page context (a newsletter link, a note), percent-encoded ones too', () => {
    const redacted = redactPersonalData(
      {
        type: 'page',
        anonymousId: 'visitor-1',
        properties: { url: 'https://shop.example/welcome?email=ann.smith%40example.com&src=news', note: 'call ann.smith@example.com' },
        context: { page: { url: 'https://shop.example/?e=ann.smith@example.com', referrer: 'https://mail.example/ann.smith@example.com', title: 'Welcome' }, campaign: { content: 'ann.smith@example.com' } },
      },
      policy,
      SALT,
    );
    expect(redacted.properties).toEqual({ url: 'https://shop.example/welcome?email=[e-mail]&src=news', note: 'call [e-mail]' });
    expect(redacted.context.page).toEqual({ url: 'https://shop.example/?e=[e-mail]', referrer: 'https://mail.example/[e-mail]', title: 'Welcome' });
    expect(redacted.context.campaign).toEqual({ content: '[e-mail]' });
  });

  it('hashes a userId, anonymousId, previousId or device id that holds an e-mail address, as the e-mail identifier is hashed', () => {
    const redacted = redactPersonalData({ type: 'alias', userId: ' Ann.Smith@Example.com ', previousId: 'ann.smith@example.com', anonymousId: 'v1', context: { device: { id: 'ann.smith@example.com', type: 'ios' } } }, policy, SALT);
    const hash = hashOf('email', 'ann.smith@example.com');
    expect(redacted).toMatchObject({ userId: hash, previousId: hash, anonymousId: 'v1', context: { device: { id: hash, type: 'ios' } } });
  });

  it('hashes again a userId a client sends in the hashed form, and keeps it when the ingest trusts it (records the collector hashed)', () => {
    const hashed = `sha256:${'a'.repeat(64)}`;
    expect(redactPersonalData({ type: 'track', userId: hashed }, policy, SALT).userId).toMatch(/^sha256:(?!a{64})[0-9a-f]{64}$/);
    expect(redactPersonalData({ type: 'track', userId: hashed }, policy, SALT, { trustHashed: true }).userId).toBe(hashed);
  });

  it(`walks no deeper than ${MAX_REDACTION_DEPTH} levels and keeps nothing below them (another producer's record, however deep, cannot overflow the stack)`, () => {
    let deep: unknown = { email: 'ann@example.com' };
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const redacted = redactPersonalData({ type: 'identify', userId: 'u1', traits: { deep } }, policy, SALT);
    const text = JSON.stringify(redacted);
    expect(text).not.toContain('ann@example.com');
    expect(text).toContain(`nested deeper than ${MAX_REDACTION_DEPTH} levels`);
  });

  it('removes an e-mail address or phone number that identifies nobody (a placeholder) rather than hash it', () => {
    const redacted = redactPersonalData({ type: 'identify', userId: 'u1', traits: { email: 'test@test.com', phone: '+1 000 000 0000', plan: 'gold' } }, policy, SALT);
    expect(redacted.traits).toEqual({ plan: 'gold' });
  });
});

describe('personal data redaction: every part of a message', () => {
  const hashOf = (ns: 'email' | 'phone', raw: string) => `sha256:${hashPii(ns, raw, SALT)}`;

  it('hashes or removes the policy\'s fields among the message\'s own fields (the schema keeps unknown ones), and masks e-mail addresses in their text', () => {
    const message = { type: 'identify', userId: 'u1', messageId: 'm1', email: 'Ann.Smith@example.com', phone: '+44 20 7946 0958', firstName: 'Annabel', name: 'Annabel Smith', extra: { note: 'write to ann.smith@example.com', homePhone: '+44 20 7946 0958' }, plan: 'gold' };
    const redacted = redactPersonalData(message, policy, SALT);
    expect(redacted).toEqual({ type: 'identify', userId: 'u1', messageId: 'm1', email: hashOf('email', 'ann.smith@example.com'), phone: hashOf('phone', '+442079460958'), extra: { note: 'write to [e-mail]', homePhone: hashOf('phone', '+442079460958') }, plan: 'gold' });
  });

  it('keeps the message\'s structure as it is (type, event, messageId, times, the time correction, the seal) and a page\'s own name and category', () => {
    const structure = { messageId: 'm1', timestamp: '2026-11-20T10:00:00.000Z', originalTimestamp: '2026-11-20T09:59:00.000Z', sentAt: '2026-11-20T10:00:01.000Z', receivedAt: '2026-11-20T10:00:02.000Z', timestampCorrection: { sent: '2999-01-01T00:00:00.000Z', reason: 'more than 60 minutes after receipt' }, [REDACTED_WITH]: 'seal:abc', anonymousId: 'v1' };
    expect(redactPersonalData({ type: 'track', event: 'Order Completed', ...structure }, policy, SALT)).toEqual({ type: 'track', event: 'Order Completed', ...structure });
    expect(redactPersonalData({ type: 'page', name: 'Welcome', category: 'Docs', ...structure }, policy, SALT)).toEqual({ type: 'page', name: 'Welcome', category: 'Docs', ...structure });
  });

  it('redacts an object or list sent where the structure has a text (only a rejected message or another producer\'s has one)', () => {
    const redacted = redactForDeadLetter({ type: 'track', event: { email: 'ann.smith@example.com' }, userId: { firstName: 'Annabel' }, messageId: 'm1' }, policy, SALT);
    expect(redacted).toEqual({ type: 'track', event: { email: hashOf('email', 'ann.smith@example.com') }, userId: {}, messageId: 'm1' });
  });

  it('hashes or removes the policy\'s fields anywhere in the context and masks e-mail addresses in all of its text, a session id too', () => {
    const context = { email: 'ann.smith@example.com', custom: { workPhone: '+44 20 7946 0958', firstName: 'Annabel' }, location: { latitude: 53.8, longitude: -1.55, city: 'Leeds', address: '1 Acacia Avenue' }, sessionId: 'ann.smith@example.com/1', page: { url: 'https://shop.example/?e=ann.smith@example.com' } };
    expect(redactPersonalData({ type: 'track', event: 'Signed Up', userId: 'u1', context }, policy, SALT).context).toEqual({
      email: hashOf('email', 'ann.smith@example.com'),
      custom: { workPhone: hashOf('phone', '+442079460958') },
      location: { latitude: 53.8, longitude: -1.55, city: 'Leeds' },
      sessionId: '[e-mail]/1',
      page: { url: 'https://shop.example/?e=[e-mail]' },
    });
  });

  it('keeps what the engine reads in the context as sent (locale, time zone, user agent, library, channel, session id, location, network, app, os, campaign names): only the IP address and a device id that is an e-mail change', () => {
    const context = {
      app: { name: 'Shop', version: '4.2.1', build: '421', namespace: 'com.example.shop' },
      device: { id: 'ann.smith@example.com', manufacturer: 'Apple', model: 'iPhone15,2', name: 'iPhone', type: 'ios', advertisingId: 'ad-1', adTrackingEnabled: false },
      library: { name: 'analytics-ios', version: '4.1.8' },
      locale: 'en-GB',
      timezone: 'Europe/London',
      userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
      userAgentData: { brands: [{ brand: 'Chromium', version: '120' }], mobile: true, platform: 'Android' },
      ip: '203.0.113.7',
      network: { bluetooth: false, carrier: 'EE', cellular: true, wifi: false },
      os: { name: 'iOS', version: '17.1' },
      screen: { width: 390, height: 844, density: 3 },
      location: { latitude: 53.8008, longitude: -1.5491, city: 'Leeds', country: 'GB', region: 'West Yorkshire', speed: 0 },
      page: { path: '/products/sage', referrer: 'https://www.google.com/', search: '?utm_source=news', title: 'Sage paint', url: 'https://shop.example/products/sage?utm_source=news' },
      campaign: { name: 'autumn', source: 'news', medium: 'email', term: 'paint', content: 'hero' },
      referrer: { type: 'web', url: 'https://www.google.com/' },
      sessionId: 's-1',
      channel: 'mobile',
    };
    const redacted = redactPersonalData({ type: 'track', event: 'Product Viewed', anonymousId: 'v1', context }, policy, SALT);
    expect(redacted.context).toEqual({ ...context, ip: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), device: { ...context.device, id: hashOf('email', 'ann.smith@example.com') } });
    expect(context.device.id).toBe('ann.smith@example.com');
  });

  it('takes a key ending with a phone word (homePhone, work_tel, Office Fax, primaryHomePhone, parentMobile) for a phone number: hashed as the phone identifier', () => {
    const phone = '+44 20 7946 0958';
    const traits = { homePhone: phone, work_tel: phone, 'Office Fax': phone, primaryHomePhone: phone, parentMobile: phone, emergency_contact_phone_number: phone, plan: 'gold' };
    const hash = hashOf('phone', '+442079460958');
    expect(redactPersonalData({ type: 'identify', userId: 'u1', traits }, policy, SALT).traits).toEqual({ homePhone: hash, work_tel: hash, 'Office Fax': hash, primaryHomePhone: hash, parentMobile: hash, emergency_contact_phone_number: hash, plan: 'gold' });
  });

  it('removes an address under a key ending with an address word sent on one line, or each line of a list of them; of one sent as an object, only its street lines', () => {
    const traits = { shippingAddress: '1 Acacia Avenue, Leeds', billing_address: '1 Acacia Avenue, Leeds', 'Home Address': '1 Acacia Avenue', previousAddresses: ['1 Acacia Avenue', '2 Privet Drive'], address: ['1 Acacia Avenue'], workAddress: { line1: '1 Acacia Avenue', billingStreet: '1 Acacia Avenue', city: 'Leeds', postalCode: 'LS1 4AP', country: 'GB' }, shipping_address_line1: '1 Acacia Avenue', plan: 'gold' };
    expect(redactPersonalData({ type: 'identify', userId: 'u1', traits }, policy, SALT).traits).toEqual({ previousAddresses: [], address: [], workAddress: { city: 'Leeds', postalCode: 'LS1 4AP', country: 'GB' }, plan: 'gold' });
  });

  it('removes names under keys ending with a name field (billing_first_name, contactLastName, customerFullName) but keeps a product\'s name and display name', () => {
    const properties = { billing_first_name: 'Annabel', contactLastName: 'Smithson', customerFullName: 'Annabel Smithson', name: 'Sage paint 2L', productDisplayName: 'Sage paint', product_name: 'Sage paint 2L' };
    expect(redactPersonalData({ type: 'track', event: 'Order Completed', userId: 'u1', properties }, policy, SALT).properties).toEqual({ name: 'Sage paint 2L', productDisplayName: 'Sage paint', product_name: 'Sage paint 2L' });
  });

  it('matches endings by whole words, so a hotel, a headphone, a subject line, an iPhone (an exception of the policy) and a mobile flag are not personal data', () => {
    const properties = { hotel: 'Ritz', headphone: 'wired', subjectLine1: 'Hello', iPhone: '15 Pro', webAddress: 'https://example.com', isMobile: true, smartphones: 2 };
    expect(redactPersonalData({ type: 'track', event: 'Viewed', userId: 'u1', properties }, policy, SALT).properties).toEqual(properties);
  });

  it('trusts in the ingest the hashes the collector wrote under the new names and places, and redacts them to the same result again', () => {
    const message = { type: 'identify', userId: 'u1', email: 'ann.smith@example.com', traits: { homePhone: '+44 20 7946 0958' }, context: { email: 'ann.smith@example.com' } };
    const once = redactPersonalData(message, policy, SALT);
    expect(redactPersonalData(once, policy, SALT, { trustHashed: true })).toEqual(once);
    // From a client, the same hashes are hashed again: nobody claims an identity by its hash.
    expect(redactPersonalData(once, policy, SALT).email).not.toBe(once.email);
  });
});

describe('personal data in dead letters of messages of the wrong shape', () => {
  it('redacts traits and context sent as lists: fields found anywhere, IP hashed, text no key labels kept only as its length', () => {
    const letter = redactForDeadLetter(
      { type: 'identify', userId: 'cust-4', traits: [{ email: 'ann.smith@example.com', phone: '+44 20 7946 0958', firstName: 'Annabel' }, 'Annabel Smithson'], context: [{ ip: '203.0.113.7', traits: { email: 'ann.smith@example.com' } }] },
      policy,
      SALT,
    );
    const text = JSON.stringify(letter);
    for (const clear of ['ann.smith', '7946', 'Annabel', '203.0.113.7']) expect(text).not.toContain(clear);
    expect(letter).toMatchObject({ userId: 'cust-4', traits: [{ email: expect.stringMatching(/^sha256:/) }, '[text: 16 characters]'], context: [{ ip: expect.stringMatching(/^sha256:/) }] });
  });

  it('keeps of unparseable data only its keys and punctuation, however it is cut', () => {
    const text = '{"traits":{"firstName":"Annabel","email":"ann.smith@example.com"}, broken "Smiths';
    const kept = JSON.parse(Buffer.from(redactRecordData(Buffer.from(text).toString('base64'), policy, SALT), 'base64').toString('utf8'));
    expect(kept.preview).toBe('{"traits":{"firstName":"…","email":"…"}, broken "…"');
  });
});

describe('redacted once: the collector marks what it redacted', () => {
  const policy = defaultEventPolicy().personalData;
  const record = (event: Record<string, unknown>, seq: SequenceFactory, messageId = `mark-${Math.random()}`) =>
    toRecord({ type: 'identify', userId: 'mark-1', messageId, receivedAt: '2026-11-20T10:00:00.000Z', timestamp: '2026-11-20T10:00:00.000Z', ...event }, seq.take());

  it('the ingest redacts a record another producer marked without the salt, with another message\'s seal, or not at all', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const config = ingestConfig();
    // An unkeyed fingerprint of the policy (anyone can compute it), another message's seal, or none at all.
    const otherSeal = redactionSeal('another-message', policy, config.salt, config.rules);
    await ingestBatch(
      [
        record({ traits: { firstName: 'Ann' }, [REDACTED_WITH]: redactionFingerprint(policy, config.rules) }, seq),
        record({ traits: { firstName: 'Anna' }, [REDACTED_WITH]: otherSeal }, seq),
        record({ traits: { lastName: 'Smith' } }, seq),
      ],
      stores,
      config,
    );
    expect(JSON.stringify([...stores.eventItems.values(), ...stores.profileItems.values()])).not.toMatch(/Ann|Smith/);
  });

  it('the ingest takes a record marked with the current policy as redacted (the collector\'s own), so the second pass costs nothing', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const config = ingestConfig();
    const marked = { traits: { plan: 'gold', [`probe${'X'}`]: 'kept as sent' }, [REDACTED_WITH]: redactionSeal('sealed-1', policy, config.salt, config.rules) };
    await ingestBatch([record(marked, seq, 'sealed-1')], stores, config);
    expect([...stores.eventItems.values()][0]?.event).toMatchObject({ traits: { plan: 'gold', probeX: 'kept as sent' } });
  });

  it('the collector marks every message it puts on the stream, whatever a client wrote in that field', async () => {
    const put: string[] = [];
    const stream: EventStream = { putRecords: async (records) => (put.push(...records.map((r) => r.data)), []) };
    const privacy: Privacy = { salt: 'test-salt', personalData: policy };
    const body = JSON.stringify({ batch: [{ type: 'identify', userId: 'u1', traits: { firstName: 'Ann' }, [REDACTED_WITH]: 'policy:forged' }] });
    await collect(parseRequest('batch', body), new Date('2026-11-20T10:00:00.000Z'), { stream, deadLetters: new MemoryStores().deadLetters }, privacy);
    const sent = JSON.parse(put[0] as string) as Record<string, unknown>;
    expect(sent[REDACTED_WITH]).toBe(redactionSeal(sent.messageId as string, policy, 'test-salt'));
    expect(JSON.stringify(sent)).not.toContain('Ann');
  });
});

describe('the personal data policy as configuration', () => {
  it('refuses a name or alias that two fields claim, naming the field (case and separators do not matter)', () => {
    const fields = [...eventDefaults.personalData.fields, { name: 'contact', aliases: ['E_Mail'], in: ['traits'], action: 'remove' }];
    expect(() => loadEventPolicy({ ...eventDefaults, personalData: { ...eventDefaults.personalData, fields } })).toThrow(
      'Invalid event policy: personal data field "contact" aliases.0: "E_Mail" is already a name of field "email" (case and separators do not matter)',
    );
  });

  it('refuses an ending that is not one of the field\'s names, endings on a field with only dotted names, and an exception that is not a key, naming the field', () => {
    const load = (personalData: object) => () => loadEventPolicy({ ...eventDefaults, personalData: { ...eventDefaults.personalData, ...personalData } });
    expect(load({ fields: [{ name: 'street', aliases: ['line1'], in: ['traits'], action: 'remove', endings: ['street', 'lines'] }] })).toThrow(
      'Invalid event policy: personal data field "street" endings.1: "lines" is not a name or alias (without dots) of this field',
    );
    expect(load({ fields: [{ name: 'customer.name', in: ['traits'], action: 'remove', endings: true }] })).toThrow('personal data field "customer.name" endings: needs a name or alias without dots');
    expect(load({ endingExceptions: ['i.Phone'] })).toThrow('personalData.endingExceptions.0: must be a key');
    expect(load({ fields: [{ name: 'phone', in: ['contxt'], action: 'hash' }] })).toThrow(/personal data field "phone" in.0: /);
  });

  it('refuses an unknown action, naming the field', () => {
    const fields = [{ name: 'address', in: ['traits'], action: 'blur' }];
    expect(() => loadEventPolicy({ ...eventDefaults, personalData: { ...eventDefaults.personalData, fields } })).toThrow(/personal data field "address" action: /);
  });
});

/**
 * Personal data never at rest in clear, end to end: a batch through the collector (validation,
 * redaction, dead letters), its stream records through the ingest, then everything stored and what
 * the read API answers.
 */
describe('personal data through the whole engine (collector, stream, ingest, stores, read API)', () => {
  const received = new Date('2026-11-20T10:00:00.000Z');
  const privacy: Privacy = { salt: SALT, personalData: policy };

  async function throughTheEngine(batch: unknown[]) {
    const stores = new MemoryStores();
    const stream: string[] = [];
    const sink: EventStream = { putRecords: async (records) => (stream.push(...records.map((r) => r.data)), []) };
    const result = await collect(parseRequest('batch', JSON.stringify({ batch })), received, { stream: sink, deadLetters: stores.deadLetters }, privacy);
    const seq = new SequenceFactory();
    const ingest = await ingestBatch(
      stream.map((data) => ({ shardId: 'shardId-000000000000', sequenceNumber: seq.take(), data: Buffer.from(data).toString('base64') })),
      stores,
      ingestConfig({ salt: SALT, now: () => received }),
    );
    expect(ingest.failedSequenceNumbers).toEqual([]);
    const live = [...stores.profileItems.values()].filter((p) => p.mergedInto === undefined);
    const api = await Promise.all(live.map(async (p) => [await readProfile(stores, p.profileId, ingestConfig(), received), await readJourney(stores, p.profileId)]));
    const everything = JSON.stringify({
      stream,
      rejected: result.rejected,
      profiles: [...stores.profileItems.values()],
      owners: [...stores.owners.keys()],
      events: [...stores.eventItems.values()],
      letters: [...stores.letters.values()].map((l) => ({ ...l, data: l.source === 'ingest' ? Buffer.from(l.data, 'base64').toString('utf8') : l.data })),
      api,
    });
    return { result, stores, everything };
  }

  /** Which of the clear values can be found anywhere. */
  const leaked = (everything: string, clear: string[]) => clear.filter((c) => everything.includes(c));

  it('hashes or removes e-mail, phone and names whatever the key is spelled (Email, E-mail, e_mail, Phone, first_name, last_name, full_name)', async () => {
    const { everything } = await throughTheEngine([
      {
        type: 'identify',
        userId: 'cust-1',
        traits: { Email: 'ann.smith@example.com', 'e-mail': 'ann.smith@example.com', e_mail: 'ann.smith@example.com', Phone: '+44 20 7946 0958', first_name: 'Annabel', last_name: 'Smithson', full_name: 'Annabel Smithson' },
      },
    ]);
    expect(leaked(everything, ['ann.smith@example.com', '7946 0958', 'Annabel', 'Smithson'])).toEqual([]);
  });

  it('removes a street address sent as a string (traits.address: "1 Acacia Avenue, Leeds")', async () => {
    const { everything } = await throughTheEngine([{ type: 'identify', userId: 'cust-2', traits: { address: '1 Acacia Avenue, Leeds LS1 4AP', plan: 'gold' } }]);
    expect(leaked(everything, ['Acacia'])).toEqual([]);
  });

  it('keeps no e-mail address in clear from nested objects and arrays (traits.contact.email, properties.customer.email, traits.emails[])', async () => {
    const { everything } = await throughTheEngine([
      { type: 'identify', userId: 'cust-3', traits: { contact: { email: 'ann.smith@example.com' }, emails: ['ann.smith@example.com'] } },
      { type: 'track', userId: 'cust-3', event: 'Order Completed', properties: { total: 10, customer: { email: 'ann.smith@example.com', phone: '+44 20 7946 0958' } } },
    ]);
    expect(leaked(everything, ['ann.smith@example.com', '7946 0958'])).toEqual([]);
  });

  it('keeps no e-mail address in clear from a page URL (a newsletter link: ?email=...)', async () => {
    const { everything } = await throughTheEngine([
      {
        type: 'page',
        anonymousId: 'visitor-1',
        name: 'Welcome',
        properties: { url: 'https://shop.example/welcome?email=ann.smith%40example.com', search: '?email=ann.smith@example.com' },
        context: { page: { url: 'https://shop.example/welcome?email=ann.smith@example.com', search: '?email=ann.smith@example.com' } },
      },
    ]);
    expect(leaked(everything, ['ann.smith@example.com', 'ann.smith%40example.com'])).toEqual([]);
  });

  it('keeps no e-mail in clear when the userId is an e-mail address (identities, identifier keys, events, stream)', async () => {
    const { everything } = await throughTheEngine([{ type: 'track', userId: 'ann.smith@example.com', event: 'Product Viewed', properties: { product_id: 'p1' } }]);
    expect(leaked(everything, ['ann.smith@example.com'])).toEqual([]);
  });

  it('finds the profile of a userId sent as an e-mail address by that address in clear, through the read API and the key the decision API reads', async () => {
    const { stores } = await throughTheEngine([{ type: 'track', userId: 'Ann.Smith@example.com', event: 'Product Viewed', properties: { product_id: 'p1' } }]);
    const [owner] = [...stores.owners.entries()].filter(([key]) => key.startsWith('userId:'));
    expect(owner?.[0]).toBe(`userId:${storedIdentifier('userId', 'ann.smith@example.com', SALT).value}`);
    await expect(lookupIdentity(stores, 'userId', 'ann.smith@example.com', SALT)).resolves.toEqual({ profileId: owner?.[1] });
  });

  it('keeps no e-mail or phone in clear in the dead letter of a rejected message whose traits are not an object', async () => {
    const { result, everything } = await throughTheEngine([
      { type: 'identify', userId: 'cust-4', traits: [{ email: 'ann.smith@example.com', phone: '+44 20 7946 0958', firstName: 'Annabel' }] },
      { type: 'identify', userId: 'cust-5', context: [{ ip: '203.0.113.7', traits: { email: 'ann.smith@example.com' } }] },
    ]);
    expect(result.rejected.map((r) => r.index)).toEqual([0, 1]);
    expect(leaked(everything, ['ann.smith@example.com', '7946 0958', 'Annabel', '203.0.113.7'])).toEqual([]);
  });

  it('hashes in the ingest an e-mail userId from another producer as the collector does, so both reach one profile', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const event = (messageId: string) => ({ type: 'track', event: 'Product Viewed', userId: 'ann.smith@example.com', messageId, receivedAt: received.toISOString(), timestamp: received.toISOString(), context: {} });
    const collected = redactPersonalData(event('m1'), policy, SALT);
    await ingestBatch([toRecord(collected, seq.take()), toRecord(event('m2'), seq.take())], stores, ingestConfig({ salt: SALT, now: () => received }));
    expect([...stores.profileItems.values()].filter((p) => p.mergedInto === undefined)).toHaveLength(1);
    expect(JSON.stringify([...stores.eventItems.values()])).not.toContain('ann.smith');
  });
});

/**
 * Personal data outside the places the policy first had (review 2): a root-level field, the rest of the
 * context, and phone numbers and street addresses under names it did not list, through the
 * collector's single-message endpoints, the stream and the ingest.
 */
describe('personal data outside traits, context.traits and properties, and under unlisted names, through the engine', () => {
  const received = new Date('2026-11-20T10:00:00.000Z');
  const config = () => ingestConfig({ salt: SALT, now: () => received });

  async function throughTheEngine(path: 'identify' | 'track', message: Record<string, unknown>) {
    const stores = new MemoryStores();
    const stream: string[] = [];
    const sink: EventStream = { putRecords: async (records) => (stream.push(...records.map((r) => r.data)), []) };
    const privacy: Privacy = { salt: SALT, personalData: config().events.personalData, identity: loadIdentityRules() };
    await collect(parseRequest(path, JSON.stringify(message)), received, { stream: sink, deadLetters: stores.deadLetters }, privacy);
    const seq = new SequenceFactory();
    const ingest = await ingestBatch(stream.map((data) => ({ shardId: 'shardId-000000000000', sequenceNumber: seq.take(), data: Buffer.from(data).toString('base64') })), stores, config());
    expect(ingest.failedSequenceNumbers).toEqual([]);
    return { stream: stream.join('\n'), events: JSON.stringify([...stores.eventItems.values()]) };
  }

  it.each([
    ['a root-level email of an identify call (the schema keeps unknown fields)', 'identify', { userId: 'u-1', email: 'ann.smith@example.com', traits: { plan: 'gold' } }, 'ann.smith@example.com'],
    ['context.email of a track call', 'track', { userId: 'u-2', event: 'Signed Up', context: { email: 'ann.smith@example.com' } }, 'ann.smith@example.com'],
    ['traits.homePhone of an identify call', 'identify', { userId: 'u-4', traits: { homePhone: '+44 20 7946 0958' } }, '7946 0958'],
    ['traits.shippingAddress on one line of an identify call', 'identify', { userId: 'u-5', traits: { shippingAddress: '1 Acacia Avenue, Leeds' } }, 'Acacia'],
    ['properties.billing_address of an order', 'track', { userId: 'u-6', event: 'Order Completed', properties: { total: 10, billing_address: '1 Acacia Avenue, Leeds' } }, 'Acacia'],
  ] as const)('keeps off the stream and out of the events table %s', async (_what, path, message, clear) => {
    const { stream, events } = await throughTheEngine(path, message as Record<string, unknown>);
    expect({ onStream: stream.includes(clear), inEventsTable: events.includes(clear) }).toEqual({ onStream: false, inEventsTable: false });
  });

  it('links a homePhone hashed by the collector to the same phone identifier as a phone trait', async () => {
    const { events } = await throughTheEngine('identify', { userId: 'u-7', traits: { homePhone: '+44 20 7946 0958' } });
    expect(events).toContain(`sha256:${hashPii('phone', '+442079460958', SALT)}`);
  });
});
