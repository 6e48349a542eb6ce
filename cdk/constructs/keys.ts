import { RemovalPolicy } from 'aws-cdk-lib';
import type { Function } from 'aws-cdk-lib/aws-lambda';
import { Secret, type SecretProps } from 'aws-cdk-lib/aws-secretsmanager';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { KEY_SECRET_VARIABLES, type KeyKind } from '../../lib/http/keys';

/** A generated secret: 40 letters and digits (safe in a Basic auth user name and an HTTP header). */
export function generatedSecretDefaults(description: string, encryptionKey?: IKey): SecretProps {
  return { description, generateSecretString: { excludePunctuation: true, passwordLength: 40 }, removalPolicy: RemovalPolicy.DESTROY, ...(encryptionKey ? { encryptionKey } : {}) };
}

/**
 * The engine's credentials, generated at deploy time and never in the template: one secret per kind
 * of key (lib/http/keys.ts: Segment write keys for the collector; decision, read and admin keys in
 * `x-api-key`), and the salt for hashing e-mail and phone identifiers. One secret per kind because
 * CloudFormation generates exactly one random value per secret, and so that each function is granted
 * only the kinds it checks. A key secret may later hold a comma-separated list (clear keys, or
 * `sha256:<hex>` digests of them), so a new key can serve beside the old one before the old one is
 * removed; functions read the secrets again every minute. The functions read them through
 * functions/commons/resources.ts (`*_SECRET_ARN` variables, and `KEY_KINDS`: the kinds it may read).
 */
export class EngineKeys extends Construct {
  readonly writeKeys: Secret;
  /** Decision keys (the secret was the single API key before keys had kinds: its id is kept, so a deployed key stays). */
  readonly decideKeys: Secret;
  readonly readKeys: Secret;
  readonly adminKeys: Secret;
  readonly identitySalt: Secret;

  /** `encryptionKey`: a customer managed key for the secrets (else Secrets Manager's AWS managed key). */
  constructor(scope: Construct, id: string, props: { encryptionKey?: IKey } = {}) {
    super(scope, id);
    const key = props.encryptionKey;
    this.writeKeys = new Secret(this, 'WriteKeys', generatedSecretDefaults('Segment write keys accepted by the collector (comma-separated)', key));
    this.decideKeys = new Secret(this, 'ApiKeys', generatedSecretDefaults('Decision keys (x-api-key) accepted by POST /v1/decisions (comma-separated)', key));
    this.readKeys = new Secret(this, 'ReadKeys', generatedSecretDefaults('Read keys (x-api-key) accepted by the profile, identity and statistics routes (comma-separated)', key));
    this.adminKeys = new Secret(this, 'AdminKeys', generatedSecretDefaults('Admin keys (x-api-key) accepted by the catalog, model, dead-letter and privacy routes (comma-separated)', key));
    // Losing the salt would orphan every hashed identifier: it outlives the stack.
    this.identitySalt = new Secret(this, 'IdentitySalt', {
      ...generatedSecretDefaults('Salt for hashing e-mail and phone identifiers', key),
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** Each kind's secret. */
  get byKind(): Record<KeyKind, Secret> {
    return { write: this.writeKeys, decide: this.decideKeys, read: this.readKeys, admin: this.adminKeys };
  }

  /** The variables functions/commons/resources.ts reads the secrets' ARNs from. */
  environment(): Record<string, string> {
    return {
      ...Object.fromEntries((Object.entries(this.byKind) as Array<[KeyKind, Secret]>).map(([kind, secret]) => [KEY_SECRET_VARIABLES[kind], secret.secretArn])),
      IDENTITY_SALT_SECRET_ARN: this.identitySalt.secretArn,
    };
  }

  /** Lets a function read the salt and the keys of these kinds, and no others; tells it which kinds it may read. */
  grantRead(fn: Function, kinds: KeyKind[]): void {
    this.identitySalt.grantRead(fn);
    for (const kind of kinds) this.byKind[kind].grantRead(fn);
    fn.addEnvironment('KEY_KINDS', kinds.join(','));
  }
}
