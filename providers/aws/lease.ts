// A short lease on an S3 object (conditional writes: If-None-Match / If-Match), so that two syncs of
// the same step running at once - two hook replicas, a replayed request - never copy the same page
// twice: one holds the lease and copies, the other reports "busy" and comes back later. A crashed
// holder's lease simply expires (ttl covers one sync's budget plus its slowest call).
import { randomUUID } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

interface LeaseBody { holder: string; until: string }
type Leased<T> = { held: true; value: T } | { held: false; until: string };

const isName = (e: unknown, ...names: string[]) => names.includes((e as { name?: string }).name ?? '');

async function withLease<T>(s3: S3Client, bucket: string, key: string, ttlMs: number, timeoutMs: number, fn: () => Promise<T>): Promise<Leased<T>> {
  const opts = () => ({ abortSignal: AbortSignal.timeout(timeoutMs) });
  let etag: string | undefined;
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), opts());
    const body = JSON.parse(await out.Body!.transformToString()) as LeaseBody;
    if (Date.parse(body.until) > Date.now()) return { held: false, until: body.until };
    etag = out.ETag;
  } catch (e) {
    if (!isName(e, 'NoSuchKey', 'NotFound')) throw e;
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
export async function leaseHeldUntil(s3: S3Client, bucket: string, key: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${key}.lease` }), { abortSignal: AbortSignal.timeout(timeoutMs) });
    const body = JSON.parse(await out.Body!.transformToString()) as LeaseBody;
    return Date.parse(body.until) > Date.now() ? body.until : undefined;
  } catch (e) {
    if (isName(e, 'NoSuchKey', 'NotFound')) return undefined;
    throw e;
  }
}

export interface Checkpoint<P> { progress: P; done: boolean }
export type StepRun<P> = Checkpoint<P> & { busyUntil?: string };

/**
 * A resumable step run under the lease, with its progress also saved beside the data: whoever holds
 * the lease starts from the furthest of (status, saved checkpoint) and saves where it got to, so the
 * cursor never depends on which concurrent answer Metacontroller happened to apply. A sync that
 * finds the lease taken reports the saved progress. `rank` orders progress (further = greater).
 */
export async function leasedStep<P>(
  s3: S3Client, bucket: string, key: string, ttlMs: number, timeoutMs: number,
  fromStatus: P, rank: (p: P) => string, run: (start: P) => Promise<Checkpoint<P>>,
): Promise<StepRun<P>> {
  const opts = () => ({ abortSignal: AbortSignal.timeout(timeoutMs) });
  const saved = async (): Promise<Checkpoint<P> | undefined> => {
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${key}.json` }), opts());
      return JSON.parse(await out.Body!.transformToString()) as Checkpoint<P>;
    } catch (e) { if (isName(e, 'NoSuchKey', 'NotFound')) return undefined; throw e; }
  };
  const furthest = (c: Checkpoint<P> | undefined): Checkpoint<P> => (c && rank(c.progress) >= rank(fromStatus) ? c : { progress: fromStatus, done: false });
  const leased = await withLease(s3, bucket, `${key}.lease`, ttlMs, timeoutMs, async () => {
    const start = furthest(await saved());
    if (start.done) return start;
    const next = await run(start.progress);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${key}.json`, Body: JSON.stringify(next), ContentType: 'application/json' }), opts());
    return next;
  });
  if (leased.held) return leased.value;
  const c = furthest(await saved());
  // Another sync holds the lease: report how far it got, never "done" from here.
  return { progress: c.progress, done: false, busyUntil: leased.until };
}
