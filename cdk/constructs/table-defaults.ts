import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, type TablePropsV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { TableDefinition } from '../../lib/store/tables';

/**
 * The props of one table, from its shared definition (lib/store/tables.ts: keys, indexes, TTL) and
 * the safe defaults: on-demand billing (no capacity to plan for bursty event traffic), encryption at
 * rest with the AWS managed key, point-in-time recovery, and customer data kept when the stack is
 * deleted or a change would replace the table (RETAIN, plus deletion protection while retained).
 */
export function tableDefaults(def: TableDefinition, removalPolicy: RemovalPolicy = RemovalPolicy.RETAIN): TablePropsV2 {
  const key = (name: string) => ({ name, type: AttributeType.STRING });
  return {
    partitionKey: key(def.partitionKey),
    sortKey: def.sortKey ? key(def.sortKey) : undefined,
    timeToLiveAttribute: def.ttlAttribute,
    globalSecondaryIndexes: def.indexes?.map((index) => ({
      indexName: index.name,
      partitionKey: key(index.partitionKey),
      sortKey: key(index.sortKey),
    })),
    billing: Billing.onDemand(),
    encryption: TableEncryptionV2.awsManagedKey(),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy,
    deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
  };
}
