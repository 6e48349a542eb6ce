import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import { onProfileChange, type ChangeOutcome } from '../../lib/campaign/journey';
import { parseProfileChange } from '../../lib/ingest/changes';
import { logger } from '../commons/powertools';
import { engineConfig, getCampaignSource, getCatalogSource, getStores, getWakeups } from '../commons/resources';

/**
 * Activation bus -> campaigns: a profile change (lib/ingest/changes.ts) enters the campaigns it
 * triggers, ends the waits its events exit, and attributes conversions (lib/campaign/journey.ts).
 * An error makes EventBridge retry the delivery; entering is idempotent per trigger occurrence.
 */
export const handler = middy<EventBridgeEvent<string, unknown>, ChangeOutcome>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    const change = parseProfileChange(event.detail);
    const [campaigns, catalog] = await Promise.all([getCampaignSource().get(), getCatalogSource().get()]);
    const outcome = await onProfileChange(change, { stores: getStores(), campaigns, catalog, config: engineConfig, wakeups: getWakeups() });
    if (outcome.entered + outcome.exited + outcome.converted > 0) logger.info('campaigns', { profileId: change.profileId, ...outcome });
    return outcome;
  });
