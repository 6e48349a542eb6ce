import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

/**
 * AWS clients, created once per process. Endpoints come from the SDK's standard `AWS_ENDPOINT_URL_*`
 * variables, so the same code talks to AWS, LocalStack or the embedded stack. An explicit
 * NodeHttpHandler with keep-alive is used for all (the Kinesis client needs it against emulators).
 */
function handler(): NodeHttpHandler {
  return new NodeHttpHandler({
    httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
    connectionTimeout: 2000,
    requestTimeout: 5000,
  });
}

export function dynamoClient(): DynamoDBClient {
  return new DynamoDBClient({ requestHandler: handler(), maxAttempts: 5 });
}

export function kinesisClient(): KinesisClient {
  return new KinesisClient({ requestHandler: handler(), maxAttempts: 5 });
}

export function eventBridgeClient(): EventBridgeClient {
  return new EventBridgeClient({ requestHandler: handler(), maxAttempts: 5 });
}

export function schedulerClient(): SchedulerClient {
  return new SchedulerClient({ requestHandler: handler(), maxAttempts: 5 });
}
