import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { S3BlobStore } from '../../lib/store/blobs';

/** S3 answers injected with aws-sdk-client-mock: a missing key, a failed precondition (the key exists), a throttle. */
describe("the nightly job's blob store on S3", () => {
  const s3 = mockClient(S3Client);
  const blobs = new S3BlobStore(new S3Client({ region: 'eu-west-1' }), 'nightly-bucket');
  beforeEach(() => s3.reset());

  it('claims a night with a write only if the key is absent, and says so when it is taken', async () => {
    s3.on(PutObjectCommand).resolvesOnce({}).rejectsOnce(new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 } }));
    expect(await blobs.claim('executions/nightly-2026-11-27.json', { night: '2026-11-27' })).toBe(true);
    expect(await blobs.claim('executions/nightly-2026-11-27.json', { night: '2026-11-27' })).toBe(false);
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({ Bucket: 'nightly-bucket', IfNoneMatch: '*', ContentType: 'application/json' });
  });

  it('reads a missing key as absent, and lets any other failure through (the state machine retries it)', async () => {
    s3.on(GetObjectCommand).rejectsOnce(new NoSuchKey({ message: 'no such key', $metadata: {} })).rejectsOnce(new S3ServiceException({ name: 'SlowDown', $fault: 'server', $metadata: { httpStatusCode: 503 } }));
    expect(await blobs.get('reports/2026-11-27.json')).toBeUndefined();
    await expect(blobs.get('reports/2026-11-27.json')).rejects.toThrow(S3ServiceException);
    s3.on(PutObjectCommand).rejects(new S3ServiceException({ name: 'SlowDown', $fault: 'server', $metadata: { httpStatusCode: 503 } }));
    await expect(blobs.claim('executions/x.json', {})).rejects.toThrow(S3ServiceException);
  });

  it('writes an SVG chart as an image and JSON as JSON', async () => {
    s3.on(PutObjectCommand).resolves({});
    await blobs.put('reports/2026-11-27-default.svg', '<svg/>');
    await blobs.put('reports/2026-11-27.json', { outcome: 'published' });
    expect(s3.commandCalls(PutObjectCommand).map((c) => [c.args[0].input.ContentType, c.args[0].input.Body])).toEqual([
      ['image/svg+xml', '<svg/>'],
      ['application/json', '{"outcome":"published"}'],
    ]);
  });
});
