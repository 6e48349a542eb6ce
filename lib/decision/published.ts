import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { valueNestedDeeperThan } from '../events/json';
import { badRequest } from '../http/errors';

/**
 * A document the decision function reads at run time from the config table (the offer catalog, the
 * model artifact): the item `name` when one has been published (validated before it is stored, so a
 * bad document never reaches a decision), else the one bundled with the code. Cached in memory and
 * re-checked every `refreshMs`, so a published document takes effect without a redeploy; if the table
 * cannot be read or the stored document does not validate, the last good one keeps serving.
 */
/** DynamoDB items hold 400 KB; what is left after the key and version. */
export const MAX_DOCUMENT_BYTES = 380 * 1024;

/**
 * How deep a published document may nest objects and arrays (the document itself is level 1): the
 * deepest one needs is a model's tree (16 levels, two a node, under the document, its targets and the
 * target), 40. One check, before any document is validated, on every route that publishes one (the
 * catalog, the model, the campaigns): a value nested thousands deep where a document takes any value
 * (a condition's value) would overflow the stack of the code that validates or stores it, a 500.
 */
export const MAX_DOCUMENT_DEPTH = 40;

export class PublishedDocument<T, Summary extends object> {
  private cached: { value: T; version: string; checkedAt: number } | undefined;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly name: string,
    private readonly load: (input: unknown) => T,
    private readonly refreshMs: number,
    private readonly bundled: () => T,
    private readonly onError: (e: Error) => void,
    /** What a publish answers about the document, besides its version. */
    private readonly summarise: (value: T) => Summary,
  ) {}

  /** The document last read, if any (no read). */
  peek(): T | undefined {
    return this.cached?.value;
  }

  async get(now = Date.now()): Promise<T> {
    if (this.cached && now - this.cached.checkedAt < this.refreshMs) return this.cached.value;
    try {
      const item = (await this.doc.send(new GetCommand({ TableName: this.table, Key: { name: this.name } }))).Item;
      const version = typeof item?.version === 'string' ? item.version : 'bundled';
      if (this.cached?.version !== version) {
        this.cached = { value: item ? this.load(JSON.parse(item.doc as string)) : this.bundled(), version, checkedAt: now };
      } else this.cached.checkedAt = now;
    } catch (e) {
      this.onError(e as Error);
      if (!this.cached) this.cached = { value: this.bundled(), version: 'bundled', checkedAt: now };
      else this.cached.checkedAt = now;
    }
    return this.cached.value;
  }

  /** Validates and publishes a document; it serves from the next refresh. A bad one is a 400. */
  async publish(input: unknown, now = new Date()): Promise<{ version: string } & Summary> {
    if (valueNestedDeeperThan(input, MAX_DOCUMENT_DEPTH)) throw badRequest(`the document is nested deeper than ${MAX_DOCUMENT_DEPTH} levels`);
    let value: T;
    try {
      value = this.load(input);
    } catch (e) {
      throw badRequest((e as Error).message);
    }
    const doc = JSON.stringify(input);
    const bytes = Buffer.byteLength(doc);
    if (bytes > MAX_DOCUMENT_BYTES) {
      throw badRequest(`${this.name} is ${Math.ceil(bytes / 1024)} KB; a config table item holds at most ${MAX_DOCUMENT_BYTES / 1024} KB of document`);
    }
    const version = now.toISOString();
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { name: this.name, version, doc } }));
    return { version, ...this.summarise(value) };
  }
}
