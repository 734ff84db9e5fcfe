// GCS as the hook's object store (manifests, results, leases, folder deletion) through
// @google-cloud/storage. Backup data never passes through here; every call has a deadline.
import { createHash } from 'node:crypto';
import type { Storage } from '@google-cloud/storage';
import { MAX_SMALL_OBJECT_BYTES, ObjectTooLarge, type ObjectInfo, type ObjectStore } from '../../core/provider.ts';
import { readCapped } from '../shared/storage/readCapped.ts';
import { withDeadline } from './deadline.ts';
import { isNotFound } from './errors.ts';

export class GcsObjectStore implements ObjectStore {
  private readonly storage: Storage;
  private readonly timeoutMs: number;

  constructor(storage: Storage, timeoutMs: number) {
    this.storage = storage;
    this.timeoutMs = timeoutMs;
  }

  private timed<T>(p: Promise<T>, what: string): Promise<T> { return withDeadline(p, this.timeoutMs, what); }

  async get(bucket: string, key: string, maxBytes = MAX_SMALL_OBJECT_BYTES): Promise<Buffer | null> {
    const file = this.storage.bucket(bucket).file(key);
    try {
      const [meta] = await this.timed(file.getMetadata(), `GCS get ${bucket}/${key}`);
      const size = Number(meta.size ?? 0);
      if (size > maxBytes) throw new ObjectTooLarge(bucket, key, maxBytes);
      // Counted as it streams too: an object replaced by a larger one between the two calls is still capped.
      const bytes = await this.timed(readCapped(file.createReadStream({ validation: false }), size, maxBytes), `GCS read ${bucket}/${key}`);
      if (!bytes) throw new ObjectTooLarge(bucket, key, maxBytes);
      return bytes;
    } catch (e) { if (isNotFound(e)) return null; throw e; }
  }

  async put(bucket: string, key: string, body: string, contentType: string): Promise<void> {
    await this.timed(this.storage.bucket(bucket).file(key).save(body, { resumable: false, contentType, validation: false }), `GCS put ${bucket}/${key}`);
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | null> {
    try {
      const [meta] = await this.timed(this.storage.bucket(bucket).file(key).getMetadata(), `GCS head ${bucket}/${key}`);
      return { key, size: Number(meta.size ?? 0) };
    } catch (e) { if (isNotFound(e)) return null; throw e; }
  }

  async list(bucket: string, prefix: string, after?: string, limit = 1000): Promise<ObjectInfo[]> {
    // startOffset is inclusive: one more is asked for and `after` itself dropped.
    const [files] = await this.timed(this.storage.bucket(bucket).getFiles({
      prefix, autoPaginate: false, maxResults: limit + (after ? 1 : 0), ...(after ? { startOffset: after } : {}),
    }), `GCS list ${bucket}/${prefix}`);
    return files.filter((f) => f.name !== after).slice(0, limit).map((f) => ({ key: f.name, size: Number(f.metadata.size ?? 0) }));
  }

  async deleteMany(bucket: string, keys: string[]): Promise<void> {
    const b = this.storage.bucket(bucket);
    for (let i = 0; i < keys.length; i += 32) {
      await Promise.all(keys.slice(i, i + 32).map((k) => this.timed(b.file(k).delete(), `GCS delete ${bucket}/${k}`)
        .catch((e: unknown) => { if (!isNotFound(e)) throw e; })));
    }
  }

  async sha256(bucket: string, key: string): Promise<string | null> {
    try {
      // No deadline: a whole artifact is read (CLI verify), never inside a hook call.
      const hash = createHash('sha256');
      for await (const chunk of this.storage.bucket(bucket).file(key).createReadStream({ validation: false })) hash.update(chunk as Buffer);
      return hash.digest('hex');
    } catch (e) { if (isNotFound(e)) return null; throw e; }
  }
}
