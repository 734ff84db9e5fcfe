// A short lease on an S3 object (conditional writes: If-None-Match / If-Match), so that two syncs of
// the same step running at once - two hook replicas, a replayed request - never copy the same page
// twice: one holds the lease and copies, the other reports "busy" and comes back later. A crashed
// holder's lease simply expires (ttl covers one sync's budget plus its slowest call).
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readCapped } from '../shared/storage/readCapped.ts';
import { keyOrder } from './multipartCopy.ts';

interface LeaseBody { holder: string; until: string }
type Leased<T> = { held: true; value: T } | { held: false; until: string };

const isName = (e: unknown, ...names: string[]) => names.includes((e as { name?: string }).name ?? '');

/** Leases and checkpoints are a few hundred bytes; they sit where the project's key can write, so they are capped and checked. */
const MAX_BOOKKEEPING_BYTES = 64 * 1024;

/** The JSON of a small bookkeeping object, read with a size cap (never buffered past it); a bigger or broken one is not ours. */
async function readSmallJson(s3: S3Client, bucket: string, key: string, timeoutMs: number): Promise<{ value: unknown; etag?: string } | undefined> {
  const invalid = (why: string) => Object.assign(new Error(`${bucket}/${key} is not a lease or checkpoint (${why})`), { name: 'BookkeepingInvalid' });
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: AbortSignal.timeout(timeoutMs) });
    const bytes = await readCapped(out.Body, out.ContentLength, MAX_BOOKKEEPING_BYTES);
    if (!bytes) throw invalid('too large');
    try { return { value: JSON.parse(bytes.toString('utf8')) as unknown, ...(out.ETag ? { etag: out.ETag } : {}) }; } catch { throw invalid('not JSON'); }
  } catch (e) {
    if (isName(e, 'NoSuchKey', 'NotFound')) return undefined;
    throw e;
  }
}

/** A lease's expiry, never further than `ttlMs` from now (a planted "until 9999" cannot block for ever). */
function leaseUntil(value: unknown, ttlMs: number): number {
  const until = Date.parse(String((value as Partial<LeaseBody> | null)?.until ?? ''));
  return Number.isFinite(until) ? Math.min(until, Date.now() + ttlMs) : 0;
}

async function withLease<T>(s3: S3Client, bucket: string, key: string, ttlMs: number, timeoutMs: number, fn: () => Promise<T>): Promise<Leased<T>> {
  const opts = () => ({ abortSignal: AbortSignal.timeout(timeoutMs) });
  let etag: string | undefined;
  const current = await readSmallJson(s3, bucket, key, timeoutMs);
  if (current) {
    const until = leaseUntil(current.value, ttlMs);
    if (until > Date.now()) return { held: false, until: new Date(until).toISOString() };
    etag = current.etag;
  }
  const mine: LeaseBody = { holder: randomUUID(), until: new Date(Date.now() + ttlMs).toISOString() };
  let myTag: string | undefined;
  try {
    const put = await s3.send(new PutObjectCommand({
      Bucket: bucket, Key: key, Body: JSON.stringify(mine), ContentType: 'application/json', ...(etag ? { IfMatch: etag } : { IfNoneMatch: '*' }),
    }), opts());
    myTag = put.ETag;
  } catch (e) {
    // Someone else took it between our read and our write.
    if (isName(e, 'PreconditionFailed', 'ConditionalRequestConflict')) return { held: false, until: mine.until };
    throw e;
  }
  try {
    return { held: true, value: await fn() };
  } finally {
    // Hand it back early (expired) so the next sync need not wait out the ttl; best effort.
    await s3.send(new PutObjectCommand({
      Bucket: bucket, Key: key, Body: JSON.stringify({ ...mine, until: new Date(0).toISOString() }), ContentType: 'application/json', IfMatch: myTag,
    }), opts()).catch(() => undefined);
  }
}

/** Until when a live holder has the lease of `key` (a step's checkpoint key), or undefined when it is free. */
export async function leaseHeldUntil(s3: S3Client, bucket: string, key: string, timeoutMs: number, ttlMs: number): Promise<string | undefined> {
  const current = await readSmallJson(s3, bucket, `${key}.lease`, timeoutMs);
  const until = current ? leaseUntil(current.value, ttlMs) : 0;
  return until > Date.now() ? new Date(until).toISOString() : undefined;
}

/** `completedAt` is recorded once, by the run that finished: every later reader reports the same time. */
export interface Checkpoint<P> { progress: P; done: boolean; completedAt?: string }
export type StepRun<P> = Checkpoint<P> & { busyUntil?: string };

/**
 * A resumable step run under the lease, with its progress also saved beside the data: whoever holds
 * the lease starts from the furthest of (status, saved checkpoint) and saves where it got to, so the
 * cursor never depends on which concurrent answer Metacontroller happened to apply. A sync that
 * finds the lease taken reports the saved progress. `rank` orders progress (further = greater).
 */
const ISO_UTC = /^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/;
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * The MAC of a checkpoint, bound to where it is stored: the checkpoint sits where the tenant can
 * write, so with a secret only what a hook server wrote for THIS step is believed (a planted "done",
 * or one copied from another backup's folder, is as if none had been saved).
 */
const macOf = (secret: string, bucket: string, key: string, c: Checkpoint<unknown>): string =>
  createHmac('sha256', secret).update(`${bucket}/${key}\n${JSON.stringify([c.progress, c.done, c.completedAt ?? null])}`).digest('base64url');
const sameMac = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * The checkpoint saved for `key`, or undefined: only a well-formed one, signed with `secret` when
 * there is one, counts (it sits where the tenant can write; a planted one is as if none were there).
 */
export async function readCheckpoint<P>(s3: S3Client, bucket: string, key: string, timeoutMs: number, secret?: string): Promise<Checkpoint<P> | undefined> {
  const read = await readSmallJson(s3, bucket, `${key}.json`, timeoutMs);
  const c = read?.value as Partial<Checkpoint<P>> & { mac?: unknown } | null | undefined;
  if (!c || typeof c !== 'object' || typeof c.done !== 'boolean' || !c.progress || typeof c.progress !== 'object') return undefined;
  if (secret && (typeof c.mac !== 'string' || !sameMac(c.mac, macOf(secret, bucket, key, { progress: c.progress, done: c.done, ...(c.completedAt !== undefined ? { completedAt: c.completedAt } : {}) })))) return undefined;
  // Only a plain UTC time, not in the future, is believed.
  const at = typeof c.completedAt === 'string' && ISO_UTC.test(c.completedAt) && Date.parse(c.completedAt) <= Date.now() + CLOCK_SKEW_MS ? c.completedAt : undefined;
  return { progress: c.progress as P, done: c.done, ...(c.done && at ? { completedAt: at } : {}) };
}

export async function leasedStep<P>(
  s3: S3Client, bucket: string, key: string, ttlMs: number, timeoutMs: number,
  fromStatus: P, rank: (p: P) => string, run: (start: P, save: (progress: P) => Promise<void>) => Promise<Checkpoint<P>>, secret?: string,
): Promise<StepRun<P>> {
  const opts = () => ({ abortSignal: AbortSignal.timeout(timeoutMs) });
  const write = async (c: Checkpoint<P>) => {
    const body = secret ? { ...c, mac: macOf(secret, bucket, key, c) } : c;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${key}.json`, Body: JSON.stringify(body), ContentType: 'application/json' }), opts());
  };
  const saved = () => readCheckpoint<P>(s3, bucket, key, timeoutMs, secret);
  // Cursors are S3 keys: compared in S3's (UTF-8 byte) order.
  const furthest = (c: Checkpoint<P> | undefined): Checkpoint<P> => (c && keyOrder(rank(c.progress), rank(fromStatus)) >= 0 ? c : { progress: fromStatus, done: false });
  const leased = await withLease(s3, bucket, `${key}.lease`, ttlMs, timeoutMs, async () => {
    const start = furthest(await saved());
    if (start.done) return start;
    // The run may save where it is mid-way (an upload begun), so a holder that dies is continued.
    const ran = await run(start.progress, (progress) => write({ progress, done: false }));
    const next = ran.done ? { ...ran, completedAt: new Date().toISOString() } : ran;
    await write(next);
    return next;
  });
  if (leased.held) return leased.value;
  const c = furthest(await saved());
  // Another sync holds the lease: a finished checkpoint is a fact (only a holder writes it, once
  // the step is done); anything else is reported as how far it got.
  if (c.done) return c;
  return { progress: c.progress, done: false, busyUntil: leased.until };
}
