import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { ingestBatch, type IngestStats } from '../../lib/ingest/pipeline';
import { logger, metrics } from '../commons/powertools';
import { engineConfig, getChangeBus, getIdentityWeightsSource, getKeys, getStores } from '../commons/resources';

const METRICS: Array<[keyof IngestStats, string]> = [
  ['records', 'RecordsReceived'],
  ['folded', 'EventsFolded'],
  ['duplicates', 'DuplicatesSkipped'],
  ['deadLettered', 'DeadLettered'],
  ['profilesWritten', 'ProfilesWritten'],
  ['profilesTrimmed', 'ProfilesTrimmed'],
  ['merges', 'ProfilesMerged'],
  ['limitReached', 'IdentifierLimitReached'],
  ['conflicts', 'UserIdConflicts'],
  ['moves', 'SharedDeviceMoves'],
  ['clusterContexts', 'ClusterContexts'],
  ['clusterContextsSkipped', 'ClusterContextsSkipped'],
  ['groupsFailed', 'ProfileGroupsFailed'],
  ['changesAnnounced', 'ChangesAnnounced'],
  ['popularityNotCounted', 'PopularityNotCounted'],
];

/**
 * Kinesis -> identity stitching -> profiles. Returns `batchItemFailures` itself (grouped by profile,
 * so Powertools' per-record batch utility does not fit): Lambda retries from the first failed record.
 */
export const handler = middy<KinesisStreamEvent, KinesisStreamBatchResponse>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(async (event) => {
    const [keys, identityWeights] = await Promise.all([getKeys(), getIdentityWeightsSource().get()]);
    const records = event.Records.map((r) => ({
      shardId: r.eventID.slice(0, r.eventID.lastIndexOf(':')),
      sequenceNumber: r.kinesis.sequenceNumber,
      data: r.kinesis.data,
    }));
    const result = await ingestBatch(records, getStores(), { ...engineConfig, salt: keys.identitySalt, identityWeights }, { changes: getChangeBus() });
    for (const [stat, name] of METRICS) {
      if (result.stats[stat] > 0) metrics.addMetric(name, MetricUnit.Count, result.stats[stat]);
    }
    for (const error of result.errors) logger.warn('profile group failed; the batch will be retried from it', error);
    for (const warning of result.warnings) logger.warn('product popularity not counted for this batch; nothing else failed', warning);
    return { batchItemFailures: result.failedSequenceNumbers.map((itemIdentifier) => ({ itemIdentifier })) };
  });
