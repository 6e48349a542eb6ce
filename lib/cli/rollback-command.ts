/**
 * `moment rollback`: publishes an earlier model version from the nightly job's registry on AWS (its
 * bucket) to the config table, as `npm run train -- --rollback` does on the local stack. The SDK's
 * own configuration applies (credentials, region, AWS_ENDPOINT_URL_* for an emulator).
 */
import { options, required, type Streams } from './moment';

export const ROLLBACK_USAGE = `moment rollback --version VERSION --bucket NAME --config-table NAME

Publishes an earlier model version from the nightly job's registry again: the decision functions
serve it from their next refresh (30 s), and the registry records what it replaced.

  --version VERSION     a version in the registry (registry/VERSION.json in the bucket), such as
                        nightly-2026-11-27, or the first champion the nightly job replaced
  --bucket NAME         the nightly job's bucket (the stack's output NightlyBucketName)
  --config-table NAME   the config table (the stack's output ConfigTable)
`;

export async function rollbackCommand(args: string[], io: Streams): Promise<void> {
  const v = options(args, { version: { type: 'string' }, bucket: { type: 'string' }, 'config-table': { type: 'string' } });
  const version = required(v.version, 'version');
  const bucket = required(v.bucket, 'bucket');
  const configTable = required(v['config-table'], 'config-table');
  // Loaded here, not with the module: `moment rollback --help` (and a usage error) need no AWS SDK.
  const [{ DynamoDBClient }, { S3Client }, { DynamoDBDocumentClient }, { ModelSource }, { rollback }, { modelPorts }, { S3BlobStore }] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    import('@aws-sdk/client-s3'),
    import('@aws-sdk/lib-dynamodb'),
    import('../decision/catalog-source.js'),
    import('../learn/nightly-job.js'),
    import('../learn/nightly-ports.js'),
    import('../store/blobs.js'),
  ]);
  const dynamo = new DynamoDBClient({});
  const s3 = new S3Client({});
  try {
    const doc = DynamoDBDocumentClient.from(dynamo);
    const done = await rollback({ blobs: new S3BlobStore(s3, bucket), ...modelPorts({ doc, configTable, models: new ModelSource(doc, configTable, 0) }) }, version);
    io.out.write(`published ${done.version} again (it replaces ${done.replaced}); decision functions serve it from their next refresh\n`);
  } finally {
    dynamo.destroy();
    s3.destroy();
  }
}
