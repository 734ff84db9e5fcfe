// A short lease and a signed checkpoint on any object store with conditional writes (create-only,
// replace-if-unchanged), so two syncs of the same step running at once - two hook replicas, a
// replayed request - never copy the same page twice: one holds the lease and runs, the other
// reports the saved progress. A crashed holder's lease simply expires (ttl covers one sync's budget
// plus its slowest call). The store-specific part is the `Bookkeeping` adapter (Azure Blob today;
// the same rules as providers/aws/lease.ts, which predates this and could move onto it).
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

/** Keys and cursors compared in UTF-8 byte order (S3's and Azure Blob's listing order). */
export const keyOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** Leases and checkpoints are a few hundred bytes; they sit where the project's key can write, so they are capped and checked. */
export const MAX_BOOKKEEPING_BYTES = 64 * 1024;

/** A conditional write lost the race (someone else wrote first). */
export class ConditionFailed extends Error {
  constructor(key: string) { super(`${key} changed under a conditional write`); this.name = 'ConditionFailed'; }
}

/** The few calls the lease needs from a store; each with its own deadline. */
export interface Bookkeeping {
  /** The JSON at `key` with its version tag; undefined when absent; throws BookkeepingInvalid past MAX_BOOKKEEPING_BYTES or on bad JSON. */
  read(key: string): Promise<{ value: unknown; etag?: string } | undefined>;
  /** Writes JSON; `ifNoneMatch` = create only, `ifMatch` = replace only that version; throws ConditionFailed when the condition fails. */
  write(key: string, body: string, condition?: { ifNoneMatch: true } | { ifMatch: string }): Promise<{ etag?: string }>;
  /** Where the keys live, bound into checkpoint MACs (a checkpoint copied elsewhere is not believed). */
  readonly where: string;
}

interface LeaseBody { holder: string; until: string }
type Leased<T> = { held: true; value: T } | { held: false; until: string };

/** A lease's expiry, never further than `ttlMs` from now (a planted "until 9999" cannot block for ever). */
function leaseUntil(value: unknown, ttlMs: number): number {
  const until = Date.parse(String((value as Partial<LeaseBody> | null)?.until ?? ''));
  return Number.isFinite(until) ? Math.min(until, Date.now() + ttlMs) : 0;
}

/** Runs `fn` while holding the lease `key`, or says until when someone else holds it. */
export async function withLease<T>(store: Bookkeeping, key: string, ttlMs: number, fn: () => Promise<T>): Promise<Leased<T>> {
  const current = await store.read(key);
  let etag: string | undefined;
  if (current) {
    const until = leaseUntil(current.value, ttlMs);
    if (until > Date.now()) return { held: false, until: new Date(until).toISOString() };
    etag = current.etag;
  }
  const mine: LeaseBody = { holder: randomUUID(), until: new Date(Date.now() + ttlMs).toISOString() };
  let myTag: string | undefined;
  try {
    myTag = (await store.write(key, JSON.stringify(mine), etag ? { ifMatch: etag } : { ifNoneMatch: true })).etag;
  } catch (e) {
    // Someone else took it between our read and our write.
    if (e instanceof ConditionFailed) return { held: false, until: mine.until };
    throw e;
  }
  try {
    return { held: true, value: await fn() };
  } finally {
    // Hand it back early (expired) so the next sync need not wait out the ttl; best effort.
    if (myTag) await store.write(key, JSON.stringify({ ...mine, until: new Date(0).toISOString() }), { ifMatch: myTag }).catch(() => undefined);
  }
}

/** Until when a live holder has the lease of a step's checkpoint `key`, or undefined when it is free. */
export async function leaseHeldUntil(store: Bookkeeping, key: string, ttlMs: number): Promise<string | undefined> {
  const current = await store.read(`${key}.lease`);
  const until = current ? leaseUntil(current.value, ttlMs) : 0;
  return until > Date.now() ? new Date(until).toISOString() : undefined;
}

/** `completedAt` is recorded once, by the run that finished: every later reader reports the same time. */
export interface Checkpoint<P> { progress: P; done: boolean; completedAt?: string }
export type StepRun<P> = Checkpoint<P> & { busyUntil?: string };

const ISO_UTC = /^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/;
const CLOCK_SKEW_MS = 5 * 60_000;

/** The MAC of a checkpoint, bound to where it is stored: a planted or copied checkpoint is as if none had been saved. */
const macOf = (secret: string, where: string, c: Checkpoint<unknown>): string =>
  createHmac('sha256', secret).update(`${where}\n${JSON.stringify([c.progress, c.done, c.completedAt ?? null])}`).digest('base64url');
/** One key, or a list: the first signs, every one verifies (keys retired by a rotation). */
export type Secret = string | readonly string[];
const keysOf = (s: Secret): readonly string[] => (typeof s === 'string' ? [s] : s);
const sameMac = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * The checkpoint saved for `key`, if well-formed and (with a secret) signed by a hook server for
 * exactly this place: anything else is as if none had been saved.
 */
export async function savedCheckpoint<P>(store: Bookkeeping, key: string, secret?: Secret): Promise<Checkpoint<P> | undefined> {
  const where = `${store.where}/${key}`;
  const c = (await store.read(`${key}.json`))?.value as Partial<Checkpoint<P>> & { mac?: unknown } | null | undefined;
  if (!c || typeof c !== 'object' || typeof c.done !== 'boolean' || !c.progress || typeof c.progress !== 'object') return undefined;
  const signed: Checkpoint<unknown> = { progress: c.progress, done: c.done, ...(c.completedAt !== undefined ? { completedAt: c.completedAt } : {}) };
  const mac = c.mac;
  if (secret && (typeof mac !== 'string' || !keysOf(secret).some((k) => sameMac(mac, macOf(k, where, signed))))) return undefined;
  // Only a plain UTC time, not in the future, is believed.
  const at = typeof c.completedAt === 'string' && ISO_UTC.test(c.completedAt) && Date.parse(c.completedAt) <= Date.now() + CLOCK_SKEW_MS ? c.completedAt : undefined;
  return { progress: c.progress as P, done: c.done, ...(c.done && at ? { completedAt: at } : {}) };
}

/**
 * A resumable step run under the lease, with its progress also saved beside the data: whoever holds
 * the lease starts from the furthest of (status, saved checkpoint) and saves where it got to, so the
 * cursor never depends on which concurrent answer Metacontroller happened to apply. A sync that
 * finds the lease taken reports the saved progress. `rank` orders progress (further = greater, byte order).
 */
export async function leasedStep<P>(
  store: Bookkeeping, key: string, ttlMs: number, fromStatus: P, rank: (p: P) => string,
  run: (start: P, save: (progress: P) => Promise<void>) => Promise<Checkpoint<P>>, secret?: Secret,
): Promise<StepRun<P>> {
  const where = `${store.where}/${key}`;
  const signer = secret ? keysOf(secret)[0] : undefined;
  const write = async (c: Checkpoint<P>) => {
    await store.write(`${key}.json`, JSON.stringify(signer ? { ...c, mac: macOf(signer, where, c) } : c));
  };
  const saved = () => savedCheckpoint<P>(store, key, secret);
  const furthest = (c: Checkpoint<P> | undefined): Checkpoint<P> => (c && keyOrder(rank(c.progress), rank(fromStatus)) >= 0 ? c : { progress: fromStatus, done: false });
  const leased = await withLease(store, `${key}.lease`, ttlMs, async () => {
    const start = furthest(await saved());
    if (start.done) return start;
    const ran = await run(start.progress, (progress) => write({ progress, done: false }));
    const next = ran.done ? { ...ran, completedAt: new Date().toISOString() } : ran;
    await write(next);
    return next;
  });
  if (leased.held) return leased.value;
  const c = furthest(await saved());
  // A finished checkpoint is a fact (only a holder writes it, once the step is done).
  if (c.done) return c;
  return { progress: c.progress, done: false, busyUntil: leased.until };
}
