import { synthesize } from '../cdk/synth';

/**
 * Review 2, areas 7 and 8: what the deployed event source mapping gives up on. On AWS it gives up on a
 * batch after 5 retries (or 6 hours) and sends its on-failure destination a pointer (shard, sequence
 * range), not the records; the stream keeps records 24 hours and nothing consumes the queue. The local
 * stack instead writes each given-up record's data into the dead-letter table, and the reliability run
 * sets the mapping's retries to 10,000 ("AWS: retryAttempts -1"), so neither ever shows the loss.
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
