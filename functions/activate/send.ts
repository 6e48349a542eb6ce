import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { sendDue } from '../../lib/campaign/send';
import { logger } from '../commons/powertools';
import { addressOf, channelFor, engineConfig, getCampaignSource, getCatalogSource, getClock, getModelSource, getStores, getStream, getWakeups } from '../commons/resources';

const refSchema = z.strictObject({ profileId: z.string().min(1).max(100), campaignId: z.string().min(1).max(64), occurrence: z.string().min(1).max(64) });

/**
 * A channel's send queue -> the send step (lib/campaign/send.ts) for each wake-up, with the queue's
 * partial batch response: a wake-up that failed (a store or stream error) comes back after the
 * visibility timeout; one that is not a wake-up is dropped with a warning.
 */
export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    const [campaigns, catalog, model] = await Promise.all([getCampaignSource().get(), getCatalogSource().get(), getModelSource().get()]);
    const deps = { stores: getStores(), stream: getStream(), campaigns, catalog, model, config: engineConfig, wakeups: getWakeups(), channelFor: (c: string) => channelFor(c, campaigns), addressOf, now: getClock() };
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      let ref: z.output<typeof refSchema>;
      try {
        ref = refSchema.parse(JSON.parse(record.body));
      } catch (e) {
        logger.warn('not a wake-up: dropped', { messageId: record.messageId, error: (e as Error).message });
        continue;
      }
      try {
        const outcome = await sendDue(ref, deps);
        logger.info('send', { ...ref, outcome });
      } catch (e) {
        logger.warn('send failed; the queue retries it', { ...ref, error: (e as Error).message });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  });
