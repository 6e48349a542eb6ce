import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadCatalog, type Catalog } from './catalog';
import { loadModel, type Model } from './model';
import { PublishedDocument } from './published';

/**
 * Where the decision function gets its catalog: the item `catalog` of the config table when one has
 * been published (`PUT /v1/catalog`), else config/catalog.json. See PublishedDocument.
 */
export class CatalogSource {
  private readonly source: PublishedDocument<Catalog>;

  constructor(
    doc: DynamoDBDocumentClient,
    table: string,
    refreshMs = 30_000,
    bundled: () => Catalog = () => loadCatalog(),
    onError: (e: Error) => void = () => undefined,
  ) {
    this.source = new PublishedDocument(doc, table, 'catalog', loadCatalog, refreshMs, bundled, onError);
  }

  get(now = Date.now()): Promise<Catalog> {
    return this.source.get(now);
  }

  /** Validates and publishes a catalog; it serves from the next refresh. Returns its version. */
  async publish(input: unknown, now = new Date()): Promise<{ version: string; offers: number }> {
    const { version, value } = await this.source.publish(input, now);
    return { version, offers: value.offers.length };
  }
}

/**
 * Where the decision function gets its model artifact: the item `model` of the config table when the
 * nightly job (or an operator) has published one, else config/model.json. See PublishedDocument.
 */
export class ModelSource {
  private readonly source: PublishedDocument<Model>;

  constructor(
    doc: DynamoDBDocumentClient,
    table: string,
    refreshMs = 30_000,
    bundled: () => Model = () => loadModel(),
    onError: (e: Error) => void = () => undefined,
  ) {
    this.source = new PublishedDocument(doc, table, 'model', loadModel, refreshMs, bundled, onError);
  }

  get(now = Date.now()): Promise<Model> {
    return this.source.get(now);
  }

  /** Validates and publishes a model artifact; it serves from the next refresh. Returns its version. */
  async publish(input: unknown, now = new Date()): Promise<{ version: string; modelVersion: string }> {
    const { version, value } = await this.source.publish(input, now);
    return { version, modelVersion: value.version };
  }
}
