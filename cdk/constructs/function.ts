import { ServicePrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { NodejsFunction, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { join } from 'node:path';
import { PROJECT_ROOT, functionDefaults, functionLogGroupDefaults } from './function-defaults';

export interface EngineFunctionProps extends Omit<NodejsFunctionProps, 'entry' | 'role' | 'logGroup'> {
  /** Entry file relative to the project root, as in FUNCTION_ENTRIES (functions/routes.ts). */
  entry: string;
  /** The Powertools service name: the `service` dimension of the function's metrics and logs. */
  serviceName: string;
}

/**
 * The house Lambda function: a NodejsFunction with the engine's defaults (function-defaults.ts), its
 * own log group, and its own role. The role starts empty apart from writing to that one log group
 * (instead of AWSLambdaBasicExecutionRole, which allows writing to every log group in the account);
 * everything else is granted by the construct that uses the function.
 */
export class EngineFunction extends NodejsFunction {
  readonly serviceName: string;
  readonly functionLogGroup: LogGroup;
  readonly executionRole: Role;

  constructor(scope: Construct, id: string, props: EngineFunctionProps) {
    const defaults = functionDefaults(props.serviceName);
    const logGroup = new LogGroup(scope, `${id}Logs`, functionLogGroupDefaults());
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.serviceName} function`,
    });
    logGroup.grantWrite(role);
    const { serviceName: _serviceName, entry, ...overrides } = props;
    super(scope, id, {
      ...defaults,
      ...overrides,
      entry: join(PROJECT_ROOT, entry),
      role,
      logGroup,
      environment: { ...defaults.environment, ...overrides.environment },
      bundling: { ...defaults.bundling, ...overrides.bundling },
    });
    this.serviceName = props.serviceName;
    this.functionLogGroup = logGroup;
    this.executionRole = role;
  }
}
