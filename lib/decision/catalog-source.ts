import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadCatalog, type Catalog } from './catalog';
import { loadModel, type Model } from './model';
import { PublishedDocument } from './published';

/**
 * Where the decision function gets its catalog: the item `catalog` of the config table when one has
 * been published (`PUT /v1/catalog`), else config/catalog.json. See PublishedDocument.
 */
export class CatalogSource extends PublishedDocument<Catalog, { offers: number }> {
  constructor(doc: DynamoDBDocumentClient, table: string, refreshMs = 30_000, bundled = () => loadCatalog(), onError: (e: Error) => void = () => undefined) {
    super(doc, table, 'catalog', loadCatalog, refreshMs, bundled, onError, (catalog) => ({ offers: catalog.offers.length }));
  }
}

/**
 * Where the decision function gets its model artifact: the item `model` of the config table when the
 * nightly job (or an operator, `PUT /v1/model`) has published one, else config/model.json.
 */
export class ModelSource extends PublishedDocument<Model, { modelVersion: string }> {
  constructor(doc: DynamoDBDocumentClient, table: string, refreshMs = 30_000, bundled = () => loadModel(), onError: (e: Error) => void = () => undefined) {
    super(doc, table, 'model', loadModel, refreshMs, bundled, onError, (model) => ({ modelVersion: model.version }));
  }
}
