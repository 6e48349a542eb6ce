import { Duration } from 'aws-cdk-lib';
import type { SqsEventSourceProps } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { QueueEncryption, type IQueue, type QueueProps } from 'aws-cdk-lib/aws-sqs';

/** The send function's timeout: a webhook's retries (4 attempts, 5 s each, backoff) fit with room. */
export const SEND_TIMEOUT = Duration.seconds(40);

/**
 * A channel's send queue: encrypted, TLS only, a visibility timeout above the function's (six times,
 * as Lambda advises), and after 5 receives its dead-letter queue.
 */
export function sendQueueDefaults(deadLetters: IQueue, key?: IKey): QueueProps {
  return {
    ...(key ? { encryption: QueueEncryption.KMS, encryptionMasterKey: key } : { encryption: QueueEncryption.SQS_MANAGED }),
    enforceSSL: true,
    visibilityTimeout: Duration.seconds(SEND_TIMEOUT.toSeconds() * 6),
    deadLetterQueue: { queue: deadLetters, maxReceiveCount: 5 },
  };
}

/**
 * The send queue -> send function mapping: one wake-up per invocation (a hung webhook, 4 attempts of 5
 * s, cannot hold others past the timeout), partial batch responses, and the channel's delivery speed
 * as maximum concurrency.
 */
export function sendEventSourceDefaults(maxConcurrency: number): SqsEventSourceProps {
  return { batchSize: 1, reportBatchItemFailures: true, maxConcurrency };
}
