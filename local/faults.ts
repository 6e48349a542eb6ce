import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * Faults injected into a DynamoDB client of the local stack, for reliability runs: a request
 * throttled before it reaches the table (nothing written), or a timeout after the table served it
 * (written, but the caller is told it failed: the ambiguous case). Both happen inside the SDK's
 * retries, as on AWS, so a retried conditional write that had already succeeded meets its own write.
 * Seeded, so a run can be repeated.
 */
export interface DynamoFaults {
  /** Probability that a request is throttled. */
  throttle: number;
  /** Probability that a served request is reported as timed out. */
  timeout: number;
  seed: number;
}

export type FaultKind = 'throttle' | 'timeout';

/** mulberry32: a small seeded generator of numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function injectDynamoFaults(client: DynamoDBClient, faults: DynamoFaults, onFault: (kind: FaultKind, command: string) => void): void {
  const random = seededRandom(faults.seed);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'command';
      if (random() < faults.throttle) {
        onFault('throttle', command);
        throw Object.assign(new Error(`injected throttle on ${command}`), { name: 'ProvisionedThroughputExceededException', $metadata: {} });
      }
      const result = await next(args);
      if (random() < faults.timeout) {
        onFault('timeout', command);
        throw Object.assign(new Error(`injected timeout after ${command} was served`), { name: 'TimeoutError', $metadata: {} });
      }
      return result;
    },
    { step: 'deserialize', name: 'injectedFaults' },
  );
}
