import type { RemovalPolicy } from 'aws-cdk-lib';
import { TableV2, type TablePropsV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { TABLES, type TableDefinition, type TableName } from '../../lib/store/tables';
import { tableDefaults } from './table-defaults';

export interface EngineTablesProps {
  /** RETAIN (default) keeps customer data when the stack is deleted; DESTROY is for throw-away stacks. */
  removalPolicy?: RemovalPolicy;
  /** A customer managed key for every table (else the AWS managed key). */
  encryptionKey?: IKey;
  /** Overrides per table, merged onto the defaults. */
  overrides?: Partial<Record<TableName, Partial<TablePropsV2>>>;
}

/**
 * One DynamoDB table per entry of TABLES (lib/store/tables.ts), the same definitions the local stack
 * creates, so keys, indexes and TTL cannot drift between AWS and the embedded stack.
 */
export class EngineTables extends Construct {
  readonly tables: Record<TableName, TableV2>;

  constructor(scope: Construct, id: string, props: EngineTablesProps = {}) {
    super(scope, id);
    const entries = Object.entries(TABLES) as Array<[TableName, TableDefinition]>;
    // The construct id is the definition's id: it names the CloudFormation resource, so it must not change.
    this.tables = Object.fromEntries(
      entries.map(([name, def]) => [name, new TableV2(this, def.id, { ...tableDefaults(def, props.removalPolicy, props.encryptionKey), ...props.overrides?.[name] })]),
    ) as Record<TableName, TableV2>;
  }

  /** The variables that tell a function the physical table names (each definition's `envVar`). */
  environment(): Record<string, string> {
    return Object.fromEntries((Object.entries(TABLES) as Array<[TableName, TableDefinition]>).map(([name, def]) => [def.envVar, this.tables[name].tableName]));
  }
}
