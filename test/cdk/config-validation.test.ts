import { App } from 'aws-cdk-lib';

/** Builds the app with one config file replaced, in a fresh module registry so the mock is the one imported. */
async function buildWith(file: string, content: unknown): Promise<() => unknown> {
  jest.resetModules();
  jest.doMock(`../../config/${file}`, () => content);
  const { buildApp } = await import('../../cdk/app.js');
  return () => buildApp(new App({ context: { 'aws:cdk:bundling-stacks': [] } }));
}

afterEach(() => {
  jest.dontMock('../../config/aggregates.json');
  jest.dontMock('../../config/identity.json');
  jest.dontMock('../../config/model.json');
  jest.dontMock('../../config/events.json');
  jest.dontMock('../../config/campaigns.json');
  jest.resetModules();
});

describe('configuration validated at synth', () => {
  it('fails synth on a bad aggregate with a message naming the file, the aggregate and the field', async () => {
    const build = await buildWith('aggregates.json', { version: 2, defaultTimezone: 'Europe/London', aggregates: [{ name: 'revenue', op: 'sum' }] });
    expect(build).toThrow('config/aggregates.json: Invalid aggregate definitions: aggregate "revenue" field: is required for op "sum"');
  });

  it('fails synth on a bad identity rule with a message naming the file and the field', async () => {
    const rules = jest.requireActual('../../config/identity.json') as { namespaces: Record<string, object> };
    const build = await buildWith('identity.json', { ...rules, namespaces: { ...rules.namespaces, email: { unique: false, limit: 0, priority: 2 } } });
    expect(build).toThrow(/^config\/identity\.json: Invalid identity rules: namespaces\.email\.limit: /);
  });

  it('fails synth on a bad event policy with a message naming the file, the personal data field and what is wrong', async () => {
    const policy = jest.requireActual('../../config/events.json') as { personalData: { fields: object[] } };
    const build = await buildWith('events.json', { ...policy, personalData: { ...policy.personalData, fields: [{ name: 'email', in: ['traits'], action: 'encrypt' }] } });
    expect(build).toThrow(/^config\/events\.json: Invalid event policy: personal data field "email" action: /);
  });

  it('fails synth on a bad model artifact with a message naming the file, the target and the field', async () => {
    const model = jest.requireActual('../../config/model.json') as Record<string, unknown>;
    const build = await buildWith('model.json', { ...model, targets: { default: { intercept: 0, weights: { nope: 1 } } } });
    expect(build).toThrow('config/model.json: Invalid model: target "default" weights.nope: no feature of that name');
  });

  it('fails synth on a bad campaign with a message naming the file, the campaign and the field, and on one the catalog cannot serve', async () => {
    const shipped = jest.requireActual('../../config/campaigns.json') as { campaigns: Array<Record<string, unknown>> };
    const delay = await buildWith('campaigns.json', { ...shipped, campaigns: [{ ...shipped.campaigns[0], wait: { delay: 'an hour' } }] });
    expect(delay).toThrow(/^config\/campaigns\.json: Invalid campaigns: campaign "cart-abandoned" wait\.delay: must be an ISO 8601 duration/);
    const placement = await buildWith('campaigns.json', { ...shipped, campaigns: [{ ...shipped.campaigns[0], action: { placement: 'billboard', channel: 'email' } }] });
    expect(placement).toThrow('config/campaigns.json: Invalid campaigns: campaign "cart-abandoned" action: no offer of the catalog is for placement "billboard" on channel "email"');
    const fence = await buildWith('campaigns.json', { ...shipped, campaigns: [{ ...shipped.campaigns[2], trigger: { event: ['Store Entered'], geofence: { kinds: ['stadium'] } } }] });
    expect(fence).toThrow('campaign "store-visit" trigger.geofence.kinds: the catalog has no place of kind "stadium"');
  });

  it('builds the app from the shipped configuration', async () => {
    const { buildApp } = await import('../../cdk/app.js');
    expect(() => buildApp(new App({ context: { 'aws:cdk:bundling-stacks': [] } }))).not.toThrow();
  });
});
