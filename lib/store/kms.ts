import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { DataKeys } from '../campaign/addresses';

/** Data keys from AWS KMS (lib/campaign/addresses.ts): GenerateDataKey to seal, Decrypt to open, under one key. */
export class KmsDataKeys implements DataKeys {
  constructor(
    private readonly client: KMSClient,
    private readonly keyId: string,
  ) {}

  async generate(): Promise<{ plaintext: Buffer; wrapped: Buffer }> {
    const res = await this.client.send(new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: { purpose: 'contact-address' } }));
    if (!res.Plaintext || !res.CiphertextBlob) throw new Error('KMS returned no data key');
    return { plaintext: Buffer.from(res.Plaintext), wrapped: Buffer.from(res.CiphertextBlob) };
  }

  async unwrap(wrapped: Buffer): Promise<Buffer> {
    const res = await this.client.send(new DecryptCommand({ KeyId: this.keyId, CiphertextBlob: wrapped, EncryptionContext: { purpose: 'contact-address' } }));
    if (!res.Plaintext) throw new Error('KMS returned no plaintext');
    return Buffer.from(res.Plaintext);
  }
}
