// Azure Blob as the hook's object store (manifests, results, folder deletion) and as the lease and
// checkpoint store of the copies (conditional writes: If-None-Match "*" / If-Match). A bucket is
// "<container>" in the default account or "<account>.<container>" (ids.ts). Every call has a deadline.
import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { MAX_SMALL_OBJECT_BYTES, ObjectTooLarge, type ObjectInfo, type ObjectStore } from '../../core/provider.ts';
import { ConditionFailed, MAX_BOOKKEEPING_BYTES, type Bookkeeping } from '../shared/leasedStep.ts';
import { readCapped } from '../shared/storage/readCapped.ts';
import type { AzureClients } from './clients.ts';
import { containerRef } from './ids.ts';
import { codeOf, isNotFound } from './errors.ts';

export class AzureBlobStore implements ObjectStore {
  private readonly clients: AzureClients;
  private readonly defaultAccount: string | undefined;
  constructor(clients: AzureClients, defaultAccount: string | undefined) {
    this.clients = clients;
    this.defaultAccount = defaultAccount;
  }

  containerOf(bucket: string): ContainerClient {
    const ref = containerRef(bucket, this.defaultAccount);
    if (!ref) throw Object.assign(new Error(`"${bucket}" does not name an Azure container ("<container>" with LC2_AZURE_STORAGE_ACCOUNT, or "<account>.<container>")`), { name: 'InvalidBucket', code: 'InvalidBucket' });
    return this.clients.container(ref.account, ref.container);
  }

  async get(bucket: string, key: string, maxBytes = MAX_SMALL_OBJECT_BYTES): Promise<Buffer | null> {
    try {
      const out = await this.containerOf(bucket).getBlobClient(key).download(0, undefined, { abortSignal: this.clients.signal() });
      const bytes = await readCapped(out.readableStreamBody, out.contentLength, maxBytes);
      if (!bytes) throw new ObjectTooLarge(bucket, key, maxBytes);
      return bytes;
    } catch (e) { if (isNotFound(e)) return null; throw e; }
  }

  async put(bucket: string, key: string, body: string, contentType: string): Promise<void> {
    await this.containerOf(bucket).getBlockBlobClient(key).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: contentType }, abortSignal: this.clients.signal() });
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | null> {
    try {
      const p = await this.containerOf(bucket).getBlobClient(key).getProperties({ abortSignal: this.clients.signal() });
      return { key, size: p.contentLength ?? 0 };
    } catch (e) { if (isNotFound(e)) return null; throw e; }
  }

  /** Where the page holding the next names after a returned key starts: paging by `after` continues there instead of from the start. */
  private readonly resumeAt = new Map<string, string>();

  async list(bucket: string, prefix: string, after?: string, limit = 1000): Promise<ObjectInfo[]> {
    // Blob listings have no "start after": a listing continues from the marker of the page that
    // held the last key it returned (remembered), else from the start, skipping names up to `after`.
    const found: ObjectInfo[] = [];
    const c = this.containerOf(bucket);
    const where = (k: string) => `${bucket}\n${prefix}\n${k}`;
    let marker = after !== undefined ? this.resumeAt.get(where(after)) : undefined;
    for (;;) {
      const pages = c.listBlobsFlat({ prefix, abortSignal: this.clients.signal() }).byPage({ maxPageSize: Math.min(5000, Math.max(limit, 100)), ...(marker ? { continuationToken: marker } : {}) });
      const page = (await pages.next()).value as { segment: { blobItems: Array<{ name: string; properties: { contentLength?: number } }> }; continuationToken?: string } | undefined;
      for (const b of page?.segment.blobItems ?? []) {
        if (after !== undefined && Buffer.compare(Buffer.from(b.name), Buffer.from(after)) <= 0) continue;
        found.push({ key: b.name, size: b.properties.contentLength ?? 0 });
        if (found.length >= limit) { this.remember(where(b.name), marker); return found; }
      }
      if (!page?.continuationToken) return found;
      marker = page.continuationToken;
      if (found.length > 0) this.remember(where(found[found.length - 1]!.key), marker);
    }
  }

  private remember(key: string, marker: string | undefined): void {
    if (!marker) return;
    if (this.resumeAt.size >= 1000) this.resumeAt.delete(this.resumeAt.keys().next().value!);
    this.resumeAt.set(key, marker);
  }

  async sha256(bucket: string, key: string): Promise<string | null> {
    try {
      // No deadline: a whole artifact is read (CLI verify), never inside a hook call.
      const out = await this.containerOf(bucket).getBlobClient(key).download();
      const hash = createHash('sha256');
      for await (const chunk of out.readableStreamBody as AsyncIterable<Uint8Array>) hash.update(chunk);
      return hash.digest('hex');
    } catch (e) { if (isNotFound(e)) return null; throw e; }
  }

  async deleteMany(bucket: string, keys: string[]): Promise<void> {
    const c = this.containerOf(bucket);
    for (let i = 0; i < keys.length; i += 32) {
      await Promise.all(keys.slice(i, i + 32).map((k) => c.getBlobClient(k).deleteIfExists({ deleteSnapshots: 'include', abortSignal: this.clients.signal() })));
    }
  }

  /** Leases and checkpoints in a container, by conditional writes. */
  bookkeeping(bucket: string): Bookkeeping {
    const c = this.containerOf(bucket);
    const signal = () => this.clients.signal();
    return {
      where: `${c.accountName}/${c.containerName}`,
      read: async (key) => {
        try {
          const out = await c.getBlobClient(key).download(0, undefined, { abortSignal: signal() });
          const bytes = await readCapped(out.readableStreamBody, out.contentLength, MAX_BOOKKEEPING_BYTES);
          const invalid = (why: string) => Object.assign(new Error(`${key} is not a lease or checkpoint (${why})`), { name: 'BookkeepingInvalid', code: 'BookkeepingInvalid' });
          if (!bytes) throw invalid('too large');
          try { return { value: JSON.parse(bytes.toString('utf8')) as unknown, ...(out.etag ? { etag: out.etag } : {}) }; } catch { throw invalid('not JSON'); }
        } catch (e) { if (isNotFound(e)) return undefined; throw e; }
      },
      write: async (key, body, condition) => {
        try {
          const out = await c.getBlockBlobClient(key).upload(body, Buffer.byteLength(body), {
            blobHTTPHeaders: { blobContentType: 'application/json' }, abortSignal: signal(),
            ...(condition ? { conditions: 'ifMatch' in condition ? { ifMatch: condition.ifMatch } : { ifNoneMatch: '*' } } : {}),
          });
          return out.etag ? { etag: out.etag } : {};
        } catch (e) {
          // 409 BlobAlreadyExists (create-only) or 412 ConditionNotMet (replace-if-unchanged).
          if (condition && ['BlobAlreadyExists', 'ConditionNotMet'].includes(codeOf(e))) throw new ConditionFailed(key);
          throw e;
        }
      },
    };
  }
}
