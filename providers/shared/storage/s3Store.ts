// S3-compatible object store (MinIO, moto, AWS) for the hook's small reads and writes. Every call
// has a short timeout so a sync stays well inside Metacontroller's webhook timeout.
import {
  S3Client, GetObjectCommand, PutObjectCommand, HeadObjectCommand, ListObjectsV2Command, DeleteObjectsCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { MAX_SMALL_OBJECT_BYTES, ObjectTooLarge, type ObjectInfo, type ObjectStore } from '../../../core/provider.ts';
import { readCapped } from './readCapped.ts';

export interface S3StoreOptions {
  endpoint?: string;
  region: string;
  timeoutMs?: number;
  /** Explicit keys for an S3-compatible store (MinIO); without them the default AWS chain (IRSA, ...). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  private readonly timeoutMs: number;

  constructor(options: S3StoreOptions) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      maxAttempts: 2,
    });
  }

  private signal(): AbortSignal { return AbortSignal.timeout(this.timeoutMs); }

  async get(bucket: string, key: string, maxBytes = MAX_SMALL_OBJECT_BYTES): Promise<Buffer | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: this.signal() });
      // Counted as it streams too: a missing or lying Content-Length never makes us buffer more.
      const bytes = await readCapped(out.Body, out.ContentLength, maxBytes);
      if (!bytes) throw new ObjectTooLarge(bucket, key, maxBytes);
      return bytes;
    } catch (e) { if (isNotFound(e)) return null; throw e; }
  }

  async put(bucket: string, key: string, body: string, contentType: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
      { abortSignal: this.signal() });
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: this.signal() });
      return { key, size: out.ContentLength ?? 0 };
    } catch (e) { if (isNotFound(e)) return null; throw e; }
  }

  async list(bucket: string, prefix: string, after?: string, limit = 1000): Promise<ObjectInfo[]> {
    const out = await this.client.send(new ListObjectsV2Command({
      Bucket: bucket, Prefix: prefix, MaxKeys: limit, ...(after ? { StartAfter: after } : {}),
    }), { abortSignal: this.signal() });
    return (out.Contents ?? []).map((o) => ({ key: o.Key ?? '', size: o.Size ?? 0 }));
  }

  async sha256(bucket: string, key: string): Promise<string | null> {
    try {
      // No timeout here: a whole artifact is read (CLI verify), never inside a hook call.
      const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const hash = createHash('sha256');
      for await (const chunk of out.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
      return hash.digest('hex');
    } catch (e) { if (isNotFound(e)) return null; throw e; }
  }

  async deleteMany(bucket: string, keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const out = await this.client.send(new DeleteObjectsCommand({
        Bucket: bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
      }), { abortSignal: this.signal() });
      // A 200 can still refuse some keys (AccessDenied per key): a caller that lists again would otherwise loop on them.
      const failed = out.Errors?.[0];
      if (failed) throw Object.assign(new Error(`${out.Errors!.length} of the objects in ${bucket} were not deleted (${failed.Key}: ${failed.Code ?? 'error'})`), { name: failed.Code ?? 'DeleteFailed' });
    }
  }
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === 'NoSuchKey' || err?.name === 'NotFound' || err?.$metadata?.httpStatusCode === 404;
}
