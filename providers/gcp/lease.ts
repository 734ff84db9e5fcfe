// A short lease on a GCS object (create-only write: ifGenerationMatch 0; takeover of an expired one:
// ifGenerationMatch <its generation>), so that two syncs never both look for a cloud resource, find
// none and create two. Used where the cloud assigns the ID (a Cloud SQL backup, an export): under the
// lease a sync looks up by its marker, creates if absent and records the operation, all before another
// sync may look. A crashed holder's lease expires (ttl covers its slowest calls).
import { randomUUID } from 'node:crypto';
import type { Storage } from '@google-cloud/storage';
import { withDeadline } from './deadline.ts';
import { httpStatus, isNotFound } from './errors.ts';

interface LeaseBody { holder: string; until: string }

/** A record written once (create-only) beside the data: what a create started, read by every later sync. */
export async function readRecord<T>(storage: Storage, bucket: string, key: string, timeoutMs: number): Promise<T | undefined> {
  const file = storage.bucket(bucket).file(key);
  try {
    const [meta] = await withDeadline(file.getMetadata(), timeoutMs, `GCS head ${key}`);
    if (Number(meta.size ?? 0) > 64 * 1024) throw Object.assign(new Error(`${bucket}/${key} is not a record of ours (too large)`), { name: 'RecordInvalid' });
    const [bytes] = await withDeadline(file.download({ validation: false }), timeoutMs, `GCS get ${key}`);
    try { return JSON.parse(bytes.toString('utf8')) as T; } catch { throw Object.assign(new Error(`${bucket}/${key} is not a record of ours (not JSON)`), { name: 'RecordInvalid' }); }
  } catch (e) { if (isNotFound(e)) return undefined; throw e; }
}

/**
 * Whether a sync holds the lease now (it may be about to create what the lease guards). A lease that
 * cannot be read as ours counts as expired, as withLease would take it over.
 */
export async function leaseLive(storage: Storage, bucket: string, key: string, timeoutMs: number): Promise<boolean> {
  const lease = await readRecord<Partial<LeaseBody>>(storage, bucket, key, timeoutMs).catch((e: unknown) => {
    if ((e as { name?: string }).name === 'RecordInvalid') return undefined;
    throw e;
  });
  const until = Date.parse(String(lease?.until ?? ''));
  return Number.isFinite(until) && until > Date.now();
}

/** Writes the record unless one exists; the one that is there wins (and is returned). */
export async function writeRecordOnce<T>(storage: Storage, bucket: string, key: string, value: T, timeoutMs: number): Promise<T> {
  try {
    await withDeadline(storage.bucket(bucket).file(key).save(JSON.stringify(value), { resumable: false, contentType: 'application/json', validation: false, preconditionOpts: { ifGenerationMatch: 0 } }), timeoutMs, `GCS put ${key}`);
    return value;
  } catch (e) {
    if (httpStatus(e) !== 412) throw e;
    return (await readRecord<T>(storage, bucket, key, timeoutMs)) ?? value;
  }
}

/**
 * Runs `fn` holding the lease at `key`, or returns { busy: true } when another sync holds it. The
 * lease is released after fn (also when it throws); a crash leaves it to expire after ttlMs. fn asks
 * `stillHeld()` before a create: a holder slowed past its lease must not create what a successor may too.
 */
export async function withLease<T>(storage: Storage, bucket: string, key: string, ttlMs: number, timeoutMs: number, fn: (stillHeld: () => boolean) => Promise<T>): Promise<{ busy: true } | { busy: false; value: T }> {
  const file = storage.bucket(bucket).file(key);
  const body: LeaseBody = { holder: randomUUID(), until: new Date(Date.now() + ttlMs).toISOString() };
  // Time enough left for one more call and the record before another sync may take the lease over.
  const stillHeld = () => Date.now() + 2 * timeoutMs < Date.parse(body.until);
  const write = (generation: number) => withDeadline(file.save(JSON.stringify(body), { resumable: false, contentType: 'application/json', validation: false, preconditionOpts: { ifGenerationMatch: generation } }), timeoutMs, `GCS lease ${key}`);
  try {
    await write(0);
  } catch (e) {
    if (httpStatus(e) !== 412) throw e;
    // Held: by a live holder (busy) or by one that crashed (take it over, conditionally on its generation).
    let current: { generation: number; lease?: LeaseBody };
    try {
      const [meta] = await withDeadline(file.getMetadata(), timeoutMs, `GCS lease ${key}`);
      const [bytes] = await withDeadline(file.download({ validation: false }), timeoutMs, `GCS lease ${key}`);
      let lease: LeaseBody | undefined;
      try { lease = JSON.parse(bytes.toString('utf8')) as LeaseBody; } catch { lease = undefined; }
      current = { generation: Number(meta.generation ?? 0), ...(lease ? { lease } : {}) };
    } catch (e2) {
      if (isNotFound(e2)) return { busy: true }; // released in between: the next sync takes it
      throw e2;
    }
    const until = Date.parse(current.lease?.until ?? '');
    if (Number.isFinite(until) && until > Date.now()) return { busy: true };
    try { await write(current.generation); } catch (e3) { if (httpStatus(e3) === 412) return { busy: true }; throw e3; }
  }
  try {
    return { busy: false, value: await fn(stillHeld) };
  } finally {
    // Only our own lease is released (a holder that overran its ttl must not free a successor's): by its generation.
    try {
      const generation = Number(file.metadata?.generation ?? 0);
      if (generation) await withDeadline(file.delete({ ifGenerationMatch: generation }), timeoutMs, `GCS lease ${key}`);
    } catch { /* expires by itself */ }
  }
}
