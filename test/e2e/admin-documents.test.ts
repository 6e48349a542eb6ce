import { createHash } from 'node:crypto';
import campaignsDoc from '../../config/campaigns.json';
import catalogDoc from '../../config/catalog.json';
import modelDoc from '../../config/model.json';
import { useLocalStack } from '../support/local-api';

/**
 * Through HTTP on the embedded stack, with the admin key held only as its SHA-256 digest
 * (`ADMIN_KEYS=sha256:<hex>`, as a secret may hold it): what the document routes refuse with a 400
 * that names the field (waits beyond a year, a channel named after a prototype member, documents
 * nested past the limit, model coefficients whose score could overflow), a campaign that can enter no
 * one saying why in its statistics, and the embedded stack's own `/local/*` routes taking the key as
 * the API does.
 */
const ADMIN_KEY = 'e2e-admin-key-held-as-a-digest';
const DIGEST = createHash('sha256').update(ADMIN_KEY).digest('hex');
const ADMIN = { 'x-api-key': ADMIN_KEY };
const READ = { 'x-api-key': 'dev-read-key' };

// Published documents are read again at once, so a published campaign serves at the next request.
const local = useLocalStack({ clock: 'manual' }, { ADMIN_KEYS: `sha256:${DIGEST}`, CATALOG_REFRESH_MS: '0' });

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = ADMIN): Promise<{ status: number; body: any }> {
  const res = await fetch(`${local.stack.url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  return { status: res.status, body: await res.json() };
}

type Doc = { campaigns: Array<Record<string, unknown>> };
const campaignsWith = (change: Record<string, unknown>): Doc => {
  const doc = structuredClone(campaignsDoc) as Doc;
  doc.campaigns[0] = { ...doc.campaigns[0], ...change };
  return doc;
};

describe('campaign documents the trigger could not plan are refused when published', () => {
  it.each([
    [{ wait: { delay: 'P100000001D' } }, 'campaign "cart-abandoned" wait.delay: must be at most P365D'],
    [{ wait: { until: { event: ['Order Completed'], timeout: `P1${'0'.repeat(30)}D` } } }, 'campaign "cart-abandoned" wait.until.timeout: must be at most P365D'],
    [{ action: { placement: 'email', channel: 'constructor' } }, 'campaign "cart-abandoned" action.channel: no adapter for channel "constructor" in channels'],
  ])('answers 400 naming the campaign and the field: %j', async (change, message) => {
    const answer = await call('PUT', '/v1/campaigns', campaignsWith(change));
    expect(answer.status).toBe(400);
    expect(answer.body.message).toContain(message);
  });
});

describe('a campaign that can enter no one says why in its statistics', () => {
  it('names the geofence kind the catalog has no place of, and a paused campaign', async () => {
    const doc = structuredClone(campaignsDoc) as Doc;
    doc.campaigns.push(
      { ...doc.campaigns[2], id: 'kiosk-visit', trigger: { event: ['Location Updated'], geofence: { kinds: ['kiosk'] } } },
      { ...doc.campaigns[0], id: 'paused', enabled: false },
    );
    expect((await call('PUT', '/v1/campaigns', doc)).status).toBe(200);
    const kiosk = await call('GET', '/v1/campaigns/kiosk-visit/stats', undefined, READ);
    expect(kiosk).toEqual({ status: 200, body: expect.objectContaining({ entered: 0, blocked: ['trigger.geofence.kinds: the catalog has no place of kind "kiosk": it enters no one'] }) });
    expect((await call('GET', '/v1/campaigns/paused/stats', undefined, READ)).body.blocked).toEqual(['enabled: false: it enters no one']);
    expect((await call('GET', '/v1/campaigns/cart-abandoned/stats', undefined, READ)).body.blocked).toEqual([]);
  });
});

describe('one depth limit for every document route', () => {
  /** The shipped document with JSON 5,000 deep where it takes any value (a condition's value; the model's comment), as text. */
  const DEEP = `${'['.repeat(5000)}${']'.repeat(5000)}`;
  const deepCampaigns = () => {
    const doc = structuredClone(campaignsDoc) as Doc;
    doc.campaigns[0] = { ...doc.campaigns[0], audience: [{ path: 'traits.plan', op: 'eq', value: 'DEEP' }] };
    return doc;
  };
  const deepCatalog = () => {
    const doc = structuredClone(catalogDoc) as { offers: Array<Record<string, unknown>> };
    doc.offers[0] = { ...doc.offers[0], eligibility: [{ path: 'traits.plan', op: 'eq', value: 'DEEP' }] };
    return doc;
  };
  const deepModel = () => ({ ...modelDoc, $comment: 'DEEP' });
  it.each([
    ['/v1/campaigns', deepCampaigns],
    ['/v1/catalog', deepCatalog],
    ['/v1/model', deepModel],
  ])('answers PUT %s with JSON 5,000 deep with 400 and the same words, not 500', async (path, doc) => {
    const answer = await call('PUT', path, JSON.stringify(doc()).replace('"DEEP"', DEEP));
    expect(answer).toEqual({ status: 400, body: { success: false, message: 'the document is nested deeper than 40 levels' } });
  });

  it.each([
    ['/v1/campaigns', campaignsDoc],
    ['/v1/catalog', catalogDoc],
    ['/v1/model', modelDoc],
  ])('still takes the shipped document at PUT %s', async (path, doc) => {
    expect((await call('PUT', path, doc)).status).toBe(200);
  });
});

describe('a model whose score could overflow is refused when published', () => {
  it('answers 400 for coefficients of ±1e308, naming the target and the field', async () => {
    const model = structuredClone(modelDoc) as { targets: Record<string, { intercept?: number; weights?: Record<string, number> }> };
    const [name, target] = Object.entries(model.targets).find(([, t]) => t.weights !== undefined)!;
    const [feature] = Object.keys(target.weights!);
    target.intercept = 1e308;
    target.weights![feature!] = -1e308;
    const answer = await call('PUT', '/v1/model', model);
    expect(answer.status).toBe(400);
    expect(answer.body.message).toContain(`target "${name}" intercept: must be between`);
    expect(answer.body.message).toContain(`target "${name}" weights.${feature}: must be between`);
  });
});

describe('the embedded stack\'s /local routes check x-api-key as the API does', () => {
  it('takes the admin key whose digest ADMIN_KEYS holds', async () => {
    expect((await call('POST', '/local/clock', { advance: 'PT1M' })).status).toBe(200);
    expect((await call('GET', '/local/outbox')).status).toBe(200);
  });

  it.each([
    ['the digest itself', { 'x-api-key': `sha256:${DIGEST}` }, 401],
    ['an unknown key', { 'x-api-key': 'not-a-key' }, 401],
    ['no key', {}, 401],
    ['a read key', READ, 403],
  ])('answers %s with %p', async (_what, headers, status) => {
    const clock = await call('POST', '/local/clock', { advance: 'PT1M' }, headers as Record<string, string>);
    expect(clock.status).toBe(status);
    expect(clock.body.success).toBe(false);
    expect((await call('GET', '/local/outbox', undefined, headers as Record<string, string>)).status).toBe(status);
  });
});
