import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, TableEncryptionV2, type TablePropsV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey, KeyProps } from 'aws-cdk-lib/aws-kms';
import type { TableDefinition } from '../../lib/store/tables';

/**
 * The props of one table, from its shared definition (lib/store/tables.ts: keys, indexes, TTL) and
 * the safe defaults: on-demand billing (no capacity to plan for bursty event traffic), encryption at
 * rest with the AWS managed key (or the customer managed `key` when the stack has one), point-in-time recovery, and customer data kept when the stack is
 * deleted or a change would replace the table (RETAIN, plus deletion protection while retained).
 */
export function tableDefaults(def: TableDefinition, removalPolicy: RemovalPolicy = RemovalPolicy.RETAIN, key?: IKey): TablePropsV2 {
  const attribute = (name: string) => ({ name, type: AttributeType.STRING });
  return {
    partitionKey: attribute(def.partitionKey),
    sortKey: def.sortKey ? attribute(def.sortKey) : undefined,
    timeToLiveAttribute: def.ttlAttribute,
    globalSecondaryIndexes: def.indexes?.map((index) => ({
      indexName: index.name,
      partitionKey: attribute(index.partitionKey),
      sortKey: attribute(index.sortKey),
      projectionType: index.projection === 'KEYS_ONLY' ? ProjectionType.KEYS_ONLY : ProjectionType.ALL,
    })),
    billing: Billing.onDemand(),
    encryption: key ? TableEncryptionV2.customerManagedKey(key) : TableEncryptionV2.awsManagedKey(),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy,
    deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
  };
}

/**
 * The customer managed key (`-c encryptionKey=customer`): yearly rotation, kept when the stack is
 * deleted (the retained tables and salt need it). It encrypts the tables, the event stream, the
 * ingest's failure queue and the secrets; each function's grants on those include the key.
 */
export function dataKeyDefaults(): KeyProps {
  return { description: 'Moment Engine: customer data at rest (tables, event stream, failure queue, secrets)', enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN };
}
