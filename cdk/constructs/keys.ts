import { RemovalPolicy } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Secret, type SecretProps } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** A generated secret: 40 letters and digits (safe in a Basic auth user name and an HTTP header). */
export function generatedSecretDefaults(description: string): SecretProps {
  return { description, generateSecretString: { excludePunctuation: true, passwordLength: 40 }, removalPolicy: RemovalPolicy.DESTROY };
}

/**
 * The engine's credentials, generated at deploy time and never in the template: the Segment write
 * keys (collector), the API keys (read and decision APIs), and the salt for hashing e-mail and phone
 * identifiers. Three secrets rather than one JSON document because CloudFormation generates exactly
 * one random value per secret; a key secret may later hold a comma-separated list, so a new key can
 * be added beside the old one before the old one is retired. The functions read them through
 * functions/commons/resources.ts (`*_SECRET_ARN` variables).
 */
export class EngineKeys extends Construct {
  readonly writeKeys: Secret;
  readonly apiKeys: Secret;
  readonly identitySalt: Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.writeKeys = new Secret(this, 'WriteKeys', generatedSecretDefaults('Segment write keys accepted by the collector (comma-separated)'));
    this.apiKeys = new Secret(this, 'ApiKeys', generatedSecretDefaults('API keys accepted by the read and decision APIs (comma-separated)'));
    // Losing the salt would orphan every hashed identifier: it outlives the stack.
    this.identitySalt = new Secret(this, 'IdentitySalt', {
      ...generatedSecretDefaults('Salt for hashing e-mail and phone identifiers'),
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  get secrets(): Secret[] {
    return [this.writeKeys, this.apiKeys, this.identitySalt];
  }

  /** The variables functions/commons/resources.ts reads the secrets' ARNs from. */
  environment(): Record<string, string> {
    return {
      WRITE_KEYS_SECRET_ARN: this.writeKeys.secretArn,
      API_KEYS_SECRET_ARN: this.apiKeys.secretArn,
      IDENTITY_SALT_SECRET_ARN: this.identitySalt.secretArn,
    };
  }

  /** Every function that checks keys or hashes identifiers needs all three. */
  grantRead(grantee: IGrantable): void {
    for (const secret of this.secrets) secret.grantRead(grantee);
  }
}
