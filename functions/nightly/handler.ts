import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { nightlyTasks } from '../../lib/learn/nightly-job';
import { nightlyPorts } from '../../lib/learn/nightly-ports';
import { NIGHTLY_TASKS, type NightlyTask } from '../../lib/learn/state-machine';
import { S3BlobStore } from '../../lib/store/blobs';
import { DynamoTableExporter } from '../../lib/store/exports';
import { tableNamesFromEnv } from '../../lib/store/tables';
import { logger } from '../commons/powertools';
import { engineConfig, getDynamoClient, getModelSource, getStores } from '../commons/resources';

/** Which task of the nightly state machine this function runs (one function per task, the same code). */
const task = process.env.NIGHTLY_TASK as NightlyTask;
if (!NIGHTLY_TASKS.includes(task)) throw new Error(`NIGHTLY_TASK must be one of ${NIGHTLY_TASKS.join(', ')}`);

let tasks: ReturnType<typeof nightlyTasks> | undefined;
const bucket = process.env.NIGHTLY_BUCKET ?? '';
const getTasks = () =>
  (tasks ??= nightlyTasks(
    nightlyPorts({
      stores: getStores(),
      blobs: new S3BlobStore(new S3Client({}), bucket),
      // The tables' ARNs are given to the task that starts the exports (Snapshot) only.
      exporter: new DynamoTableExporter(getDynamoClient(), bucket, { events: process.env.EVENTS_TABLE_ARN ?? '', profiles: process.env.PROFILES_TABLE_ARN ?? '' }),
      doc: DynamoDBDocumentClient.from(getDynamoClient()),
      configTable: tableNamesFromEnv().config,
      models: getModelSource(),
      engine: engineConfig,
    }),
  ));

/** A task of the nightly state machine: the state in, the task's summary out (errors go to the state machine's Retry and Catch). */
export const handler = middy<Record<string, unknown>, Record<string, unknown>>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (state) => {
    const out = await getTasks()[task](state as never);
    logger.info('nightly task done', { task, night: state.night });
    return out;
  });
