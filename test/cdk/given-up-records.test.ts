import { synthesize } from '../cdk/synth';

/**
 * What the deployed event source mapping gives up on (found in the second review): on AWS a given-up
 * batch leaves only a pointer (shard, sequence range) in the on-failure queue, which outlives the
 * stream's data; so the mapping never gives up, and the ingest dead-letters what cannot be applied.
 */
const { template } = synthesize();

it("keeps the data of the records the mapping gives up on for longer than the stream keeps them (the on-failure queue only holds their sequence range)", () => {
  const queues = Object.keys(template.findResources('AWS::SQS::Queue')).filter((id) => id.startsWith('IngestionIngestFailures'));
  expect(queues).toHaveLength(1);
  const streams = Object.values(template.findResources('AWS::Kinesis::Stream')) as Array<{ Properties: { RetentionPeriodHours: number } }>;
  const consumers = Object.values(template.findResources('AWS::Lambda::EventSourceMapping') as Record<string, { Properties: { EventSourceArn: unknown } }>).filter((m) =>
    JSON.stringify(m.Properties.EventSourceArn).includes(queues[0]!),
  );
  const mapping = Object.values(template.findResources('AWS::Lambda::EventSourceMapping') as Record<string, { Properties: Record<string, unknown> }>).find((m) =>
    JSON.stringify(m.Properties.EventSourceArn).includes('IngestionEvents'),
  );
  // Either the mapping never gives up, or something turns each pointer into a dead letter with the data while the stream still has it.
  const givesUp = mapping?.Properties.MaximumRetryAttempts !== -1;
  const consumed = consumers.length > 0;
  expect({ givenUpDataLost: givesUp && !consumed, maximumRetryAttempts: mapping?.Properties.MaximumRetryAttempts, failurePointersConsumed: consumed, streamRetentionHours: streams[0]?.Properties.RetentionPeriodHours }).toEqual(
    expect.objectContaining({ givenUpDataLost: false }),
  );
});
