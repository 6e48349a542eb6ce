import { loadCampaigns } from '../../lib/campaign/campaign';
import { deviceClass } from '../../lib/decision/context';
import { loadModel } from '../../lib/decision/model';
import shipped from '../../config/campaigns.json';
import bundledModel from '../../config/model.json';

/**
 * Names a client or a publisher chooses are looked up among a map's own entries only:
 * `constructor`, `toString` or `__proto__` are names like any other, never Object.prototype's members.
 */
describe('lookups keyed by names from documents and requests see own entries only', () => {
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])('refuses a campaign whose action.channel is %s (no adapter of that name in channels)', (channel) => {
    const input = structuredClone(shipped) as { campaigns: Array<Record<string, unknown>> };
    input.campaigns[0] = { ...input.campaigns[0], action: { placement: 'email', channel } };
    expect(() => loadCampaigns(input)).toThrow(`campaign "cart-abandoned" action.channel: no adapter for channel "${channel}" in channels`);
  });

  it.each(['constructor', 'toString', 'valueOf'])('refuses an association rule whose consequent %s has no itemSupport of its own', (item) => {
    const model = structuredClone(bundledModel) as Record<string, unknown>;
    model.associations = { rules: [{ if: ['paint-sage-2l'], then: item, support: 0.1, confidence: 0.5, lift: 3 }], itemSupport: { 'paint-sage-2l': 0.2 } };
    expect(() => loadModel(model)).toThrow(`association rule #0 then: no itemSupport for "${item}"`);
  });

  it.each(['constructor', 'toString', '__proto__', 'CONSTRUCTOR'])('takes a device type of %s for an unknown one (desktop), not a member of Object.prototype', (type) => {
    expect(deviceClass({ type })).toBe('desktop');
  });
});
