import { statsOf } from '../../lib/campaign/stats';
import { addressKeys } from '../../lib/campaign/addresses';
import { addressesInUse, campaignsOfProfile } from '../../lib/campaign/why';
import { boundedBody, notFound, parseJsonBody } from '../../lib/http/errors';
import { requireApiKey } from '../../lib/http/keys';
import { MAX_DOCUMENT_BYTES } from '../../lib/decision/published';
import { followMerges } from '../../lib/profile/read';
import { scopeOf } from '../routes';
import { bodyText, headersOf, httpHandler, json } from '../commons/http';
import { engineConfig, getCampaignSource, getCatalogSource, getClock, getKeys, getStores } from '../commons/resources';

/** Campaigns: list and publish them, their statistics, and why a customer did or did not get a message. */
export const handler = httpHandler(async (event) => {
  requireApiKey(await getKeys(), headersOf(event), scopeOf(event.routeKey));
  const source = getCampaignSource();
  switch (event.routeKey) {
    case 'GET /v1/campaigns': {
      const campaigns = await source.get();
      return json(200, { version: campaigns.version, channels: campaigns.channels, campaigns: campaigns.campaigns.map(({ firedBy: _f, inAudience: _a, exitReason: _e, ...c }) => c) });
    }
    case 'PUT /v1/campaigns':
      return json(200, await source.publish(parseJsonBody(boundedBody(bodyText(event), MAX_DOCUMENT_BYTES))));
    case 'GET /v1/campaigns/{campaignId}/stats': {
      const id = event.pathParameters?.campaignId ?? '';
      const [campaigns, catalog] = await Promise.all([source.get(), getCatalogSource().get()]);
      const campaign = campaigns.byId.get(id);
      if (campaign === undefined) throw notFound(`no campaign ${id}`);
      return json(200, await statsOf(campaign, getStores().activations, catalog));
    }
    case 'GET /v1/profiles/{profileId}/campaigns': {
      const id = event.pathParameters?.profileId ?? '';
      const stores = getStores();
      const profile = await followMerges(stores, id).catch(() => undefined);
      if (profile === undefined) throw notFound(`no profile ${id}`);
      const ids = [...new Set([id, profile.profileId, ...profile.members])];
      const instances = (await Promise.all(ids.map((p) => stores.activations.ofProfile(p)))).flat();
      const keys = (['email', 'phone'] as const).flatMap((kind) => addressKeys(profile, kind));
      const [campaigns, catalog, kept] = await Promise.all([source.get(), getCatalogSource().get(), keys.length > 0 ? stores.contacts.get(keys) : new Map()]);
      return json(200, { ...campaignsOfProfile(profile, instances, campaigns, catalog, engineConfig, getClock()()), addresses: addressesInUse(profile, kept) });
    }
    default:
      throw notFound(`no route ${event.routeKey}`);
  }
});
