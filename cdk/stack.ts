import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { DataTables } from './constructs/data';
import { EngineHttpApi } from './constructs/http-api';
import { Ingestion } from './constructs/ingestion';
import { EngineKeys } from './constructs/keys';
import { applySuppressions } from './nag-suppressions';

export interface MomentEngineStackProps extends StackProps {
  /** RETAIN (default) keeps customer data when the stack is deleted; DESTROY is for test stacks. */
  dataRemovalPolicy?: RemovalPolicy;
}

/** The whole engine: tables, keys, the event stream and ingest, the HTTP API. */
export class MomentEngineStack extends Stack {
  constructor(scope: Construct, id: string, props: MomentEngineStackProps = {}) {
    super(scope, id, props);
    const data = new DataTables(this, 'Data', { removalPolicy: props.dataRemovalPolicy });
    const keys = new EngineKeys(this, 'Keys');
    const ingestion = new Ingestion(this, 'Ingestion', { data, keys });
    const http = new EngineHttpApi(this, 'Http', { data, keys, stream: ingestion.stream, sagemakerEndpoint: this.node.tryGetContext('sagemakerEndpoint') });

    new CfnOutput(this, 'ApiUrl', { value: http.api.apiEndpoint, description: 'Point Segment SDKs here (host)' });
    new CfnOutput(this, 'StreamName', { value: ingestion.stream.streamName });
    new CfnOutput(this, 'WriteKeysSecretArn', { value: keys.writeKeys.secretArn, description: 'aws secretsmanager get-secret-value --secret-id <arn>' });
    new CfnOutput(this, 'ApiKeysSecretArn', { value: keys.apiKeys.secretArn });
    for (const [name, table] of Object.entries(data.tables)) new CfnOutput(this, `${name}Table`, { value: table.tableName });
    applySuppressions(this);
  }
}
