import { BatchGetCommand, BatchWriteCommand, type BatchGetCommandOutput, type BatchWriteCommandInput, type BatchWriteCommandOutput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** DynamoDB's batch sizes, and how often a batch's unprocessed part is tried again. */
const MAX_BATCH_GET = 100;
const MAX_BATCH_WRITE = 25;
const MAX_ATTEMPTS = 8;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const pause = (attempt: number) => new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt) * Math.random()));

/**
 * Runs `fn` on each chunk, `inFlight` at a time. Once one fails no further chunk is started, and the
 * first failure is thrown only when every started chunk has finished: nothing is left in flight
 * behind the caller (a request retried after an error must not race its own first attempt).
 */
async function eachChunk<T>(chunks: T[][], inFlight: number, fn: (chunk: T[]) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < chunks.length) {
      const chunk = chunks[next++] as T[];
      try {
        await fn(chunk);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(inFlight, chunks.length)) }, worker));
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}

/**
 * BatchGetItem with retry of unprocessed keys (throttling returns them instead of failing).
 * `consistent` for reads that decide what is written: an eventually consistent read can miss an
 * item written a moment ago. `inFlight` requests at once (1 unless asked).
 */
export async function batchGetItems(doc: DynamoDBDocumentClient, table: string, keys: Array<Record<string, unknown>>, options: { projection?: string; consistent?: boolean; inFlight?: number } = {}): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  await eachChunk(chunks(keys, MAX_BATCH_GET), options.inFlight ?? 1, async (chunk) => {
    let pending: Array<Record<string, unknown>> | undefined = chunk;
    for (let attempt = 0; pending && pending.length > 0; attempt++) {
      if (attempt >= MAX_ATTEMPTS) throw new Error(`BatchGetItem on ${table} left keys unprocessed after ${MAX_ATTEMPTS} attempts`);
      if (attempt > 0) await pause(attempt);
      const res: BatchGetCommandOutput = await doc.send(
        new BatchGetCommand({
          RequestItems: { [table]: { Keys: pending, ...(options.projection ? { ProjectionExpression: options.projection } : {}), ...(options.consistent ? { ConsistentRead: true } : {}) } },
        }),
      );
      out.push(...(res.Responses?.[table] ?? []));
      pending = res.UnprocessedKeys?.[table]?.Keys;
    }
  });
  return out;
}

/**
 * Puts items (or, with `remove`, deletes the items with these keys), 25 to a request, retrying what
 * DynamoDB leaves unprocessed; `inFlight` requests at once (1 unless asked: a caller with many items
 * on a request path asks for more). With more than one, no two items of a call may have the same key:
 * which of them lands last would not be known.
 */
export async function batchWriteItems(doc: DynamoDBDocumentClient, table: string, items: Array<Record<string, unknown>>, remove = false, inFlight = 1): Promise<void> {
  await eachChunk(chunks(items, MAX_BATCH_WRITE), inFlight, async (chunk) => {
    let pending: BatchWriteCommandInput['RequestItems'] | undefined = { [table]: chunk.map((item) => (remove ? { DeleteRequest: { Key: item } } : { PutRequest: { Item: item } })) };
    for (let attempt = 0; pending && Object.keys(pending).length > 0; attempt++) {
      if (attempt >= MAX_ATTEMPTS) throw new Error(`BatchWriteItem on ${table} left items unprocessed after ${MAX_ATTEMPTS} attempts`);
      if (attempt > 0) await pause(attempt);
      const res: BatchWriteCommandOutput = await doc.send(new BatchWriteCommand({ RequestItems: pending }));
      pending = res.UnprocessedItems;
    }
  });
}
