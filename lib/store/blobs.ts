/**
 * The nightly job's blob store on S3 (lib/learn/nightly-job.ts BlobStore): JSON documents, SVG
 * text and raw bytes (exported tables' files) under keys, and a claim that writes a key only if it is absent (a conditional PutObject).
 */
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { BlobStore } from '../learn/nightly-job';

export class S3BlobStore implements BlobStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, value: unknown): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, ...body(key, value) }));
  }

  async get<T>(key: string): Promise<T | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return JSON.parse((await res.Body?.transformToString('utf-8')) ?? 'null') as T;
    } catch (e) {
      if (e instanceof NoSuchKey) return undefined;
      throw e;
    }
  }

  async putBytes(key: string, bytes: Uint8Array): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentType: 'application/octet-stream' }));
  }

  async getBytes(key: string): Promise<Uint8Array | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await res.Body?.transformToByteArray();
    } catch (e) {
      if (e instanceof NoSuchKey) return undefined;
      throw e;
    }
  }

  async claim(key: string, value: unknown): Promise<boolean> {
    try {
      await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, IfNoneMatch: '*', ...body(key, value) }));
      return true;
    } catch (e) {
      if (e instanceof S3ServiceException && e.$metadata.httpStatusCode === 412) return false;
      throw e;
    }
  }
}

const body = (key: string, value: unknown) =>
  typeof value === 'string' ? { Body: value, ContentType: key.endsWith('.svg') ? 'image/svg+xml' : 'text/plain' } : { Body: JSON.stringify(value), ContentType: 'application/json' };
