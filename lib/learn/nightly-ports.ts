/**
 * The nightly job's ports from the engine's parts, the same on AWS (functions/nightly/handler.ts)
 * and locally (local/train.ts): the stores, a blob store, a table exporter, the champion read raw
 * from the config table (else the bundled config/model.json), publishing through the model source
 * (validated, size checked) and the identity weights beside it, and the job's configuration with the
 * published model's features.
 */
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import bundledModel from '../../config/model.json';
import type { ModelSource } from '../decision/catalog-source';
import type { ModelConfig } from '../decision/model';
import { IdentityWeightsSource } from '../identity/weights';
import type { EngineConfig } from '../ingest/config';
import type { TableExporter } from '../store/exports';
import type { Stores } from '../store/ports';
import type { BlobStore, NightlyPorts } from './nightly-job';
import { loadNightlyConfig } from './nightly-config';

export interface NightlyParts {
  stores: Stores;
  blobs: BlobStore;
  exporter: TableExporter;
  doc: DynamoDBDocumentClient;
  configTable: string;
  models: ModelSource;
  engine: EngineConfig;
}

export function nightlyPorts(parts: NightlyParts): NightlyPorts {
  const settings = loadNightlyConfig();
  return {
    stores: parts.stores,
    blobs: parts.blobs,
    exporter: parts.exporter,
    ...modelPorts(parts),
    publishIdentityWeights: async (weights) => void (await new IdentityWeightsSource(parts.doc, parts.configTable, 0).publish(weights)),
    config: { ...settings, features: bundledModel.features as ModelConfig['features'], aggregates: parts.engine.aggregates, profileRules: parts.engine.profileRules },
    value: settings.value,
    shards: settings.shards,
    trainingSample: settings.trainingSample,
  };
}

/** The champion, read raw from the config table (else the bundled model), and publishing through the model source: what the registry's rollback needs. */
export function modelPorts(parts: Pick<NightlyParts, 'doc' | 'configTable' | 'models'>): Pick<NightlyPorts, 'champion' | 'publish'> {
  return {
    champion: async () => {
      const item = (await parts.doc.send(new GetCommand({ TableName: parts.configTable, Key: { name: 'model' }, ConsistentRead: true }))).Item;
      return (item ? JSON.parse(item.doc as string) : bundledModel) as ModelConfig;
    },
    publish: async (artifact) => void (await parts.models.publish(artifact)),
  };
}
