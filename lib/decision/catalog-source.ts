import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { badRequest } from '../http/errors';
import { loadCatalog, type Catalog } from './catalog';

/**
 * Where the decision function gets its catalog: the item `catalog` of the config table when one has
 * been published (validated before it is stored, so a bad catalog never reaches a decision), else the
 * catalog bundled with the code (config/catalog.json). Cached in memory and re-checked every
 * `refreshMs`, so a published catalog takes effect without a redeploy; if the table cannot be read,
 * the last good catalog keeps serving.
 */
export class CatalogSource {
  private cached: { catalog: Catalog; version: string; checkedAt: number } | undefined;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly refreshMs = 30_000,
    private readonly bundled: () => Catalog = () => loadCatalog(),
    private readonly onError: (e: Error) => void = () => undefined,
  ) {}

  async get(now = Date.now()): Promise<Catalog> {
    if (this.cached && now - this.cached.checkedAt < this.refreshMs) return this.cached.catalog;
    try {
      const item = (await this.doc.send(new GetCommand({ TableName: this.table, Key: { name: 'catalog' } }))).Item;
      const version = typeof item?.version === 'string' ? item.version : 'bundled';
      if (this.cached?.version !== version) {
        this.cached = { catalog: item ? loadCatalog(JSON.parse(item.doc as string)) : this.bundled(), version, checkedAt: now };
      } else this.cached.checkedAt = now;
    } catch (e) {
      this.onError(e as Error);
      if (!this.cached) this.cached = { catalog: this.bundled(), version: 'bundled', checkedAt: now };
      else this.cached.checkedAt = now;
    }
    return this.cached.catalog;
  }

  /** Validates and publishes a catalog; it serves from the next refresh. Returns its version. */
  async publish(input: unknown, now = new Date()): Promise<{ version: string; offers: number }> {
    let catalog: Catalog;
    try {
      catalog = loadCatalog(input);
    } catch (e) {
      throw badRequest((e as Error).message);
    }
    const version = now.toISOString();
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { name: 'catalog', version, doc: JSON.stringify(input) } }));
    return { version, offers: catalog.offers.length };
  }
}
