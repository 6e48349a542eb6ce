import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLES, type TableDefinition, type TableName } from '../../lib/store/tables';

/**
 * The engine's tables, built from the definitions the local stack uses too (lib/store/tables.ts):
 * on-demand, encrypted, point-in-time recovery, TTL where the definition has one, and retained when
 * the stack is deleted (customer data is never dropped by accident).
 */
export class DataTables extends Construct {
  readonly tables: Record<TableName, TableV2>;

  constructor(scope: Construct, id: string, props: { removalPolicy?: RemovalPolicy } = {}) {
    super(scope, id);
    const build = (def: TableDefinition) =>
      new TableV2(this, def.id, {
        partitionKey: { name: def.partitionKey, type: AttributeType.STRING },
        sortKey: def.sortKey ? { name: def.sortKey, type: AttributeType.STRING } : undefined,
        billing: Billing.onDemand(),
        encryption: TableEncryptionV2.awsManagedKey(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        timeToLiveAttribute: def.ttlAttribute,
        globalSecondaryIndexes: def.indexes?.map((index) => ({
          indexName: index.name,
          partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
          sortKey: { name: index.sortKey, type: AttributeType.STRING },
        })),
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      });
    this.tables = Object.fromEntries(
      (Object.entries(TABLES) as Array<[TableName, TableDefinition]>).map(([name, def]) => [name, build(def)]),
    ) as Record<TableName, TableV2>;
  }

  /** The environment variables that tell the functions the physical table names. */
  environment(): Record<string, string> {
    return Object.fromEntries(
      (Object.entries(TABLES) as Array<[TableName, TableDefinition]>).map(([name, def]) => [def.envVar, this.tables[name].tableName]),
    );
  }
}
