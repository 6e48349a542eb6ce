import { RemovalPolicy } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/**
 * Credentials as generated secrets: the Segment write keys (collector), the API keys (read and
 * decision APIs) and the salt for hashing e-mail and phone identifiers. Each key secret may hold a
 * comma-separated list, so a new key can be added beside the old one before the old one is retired.
 */
export class EngineKeys extends Construct {
  readonly writeKeys: Secret;
  readonly apiKeys: Secret;
  readonly identitySalt: Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const generated = (name: string, description: string, removalPolicy = RemovalPolicy.DESTROY) =>
      new Secret(this, name, {
        description,
        generateSecretString: { excludePunctuation: true, passwordLength: 40 },
        removalPolicy,
      });
    this.writeKeys = generated('WriteKeys', 'Segment write keys accepted by the collector (comma-separated)');
    this.apiKeys = generated('ApiKeys', 'API keys accepted by the read and decision APIs (comma-separated)');
    // Losing the salt would orphan every hashed identifier: it outlives the stack.
    this.identitySalt = generated('IdentitySalt', 'Salt for hashing e-mail and phone identifiers', RemovalPolicy.RETAIN);
  }

  environment(): Record<string, string> {
    return {
      WRITE_KEYS_SECRET_ARN: this.writeKeys.secretArn,
      API_KEYS_SECRET_ARN: this.apiKeys.secretArn,
      IDENTITY_SALT_SECRET_ARN: this.identitySalt.secretArn,
    };
  }

  grantRead(grantee: IGrantable): void {
    for (const secret of [this.writeKeys, this.apiKeys, this.identitySalt]) secret.grantRead(grantee);
  }
}
