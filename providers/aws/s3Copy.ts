// Server-side copy of a document library between S3 locations (AWS provider). Nothing streams
// through the hook. Resumable and exactly-once across syncs: work goes page by page in key order,
// the cursor (last source key of a finished page) is what the caller keeps in status, and an object
// whose copy is already there (same size and ETag, or the source ETag recorded on a multipart copy)
// is never copied again - so a replayed or concurrent sync costs listings, not copies. Objects above
// the multipart threshold, and multipart sources (whose ETag a single CopyObject would not keep),
// are copied with UploadPartCopy part by part, resumable across syncs (multipartCopy.ts). Incremental: an object
// the base backup already holds unchanged is not copied; its relative key goes into a refs page.
import { createHash } from 'node:crypto';
import { S3Client, PutObjectCommand, ListObjectsV2Command, CopyObjectCommand, HeadObjectCommand, GetObjectCommand, GetObjectTaggingCommand, type _Object } from '@aws-sdk/client-s3';
import { abortUpload, bare, checkSse, copySource, keyOrder, isUploadState, MAX_OBJECT_BYTES, multipartCopy, SOURCE_ETAG, sseParams, type MultipartTarget, type Timed, type UploadState } from './multipartCopy.ts';
import { MAX_KEPT_UPLOADS } from './config.ts';

export interface CopySpec {
  sourceBucket: string;
  sourcePrefix: string;
  destinationBucket: string;
  destinationPrefix: string;
  /** Relative keys (under sourcePrefix) that are not copied: the Liferay exclusions. */
  exclude: (relativeKey: string) => boolean;
  multipartThreshold: number;
  partSize: number;
  parallelism: number;
  pageSize: number;
  /** Timeout of one S3 call; a copy call gets more (server-side copies of large parts take seconds). */
  callTimeoutMs?: number;
  /** Incremental: the base backup's copy (in the destination bucket) and where the refs pages go. */
  base?: { prefix: string; refsPrefix: string };
  /** The destination is the backup's own folder: an upload there that is not a kept one is ours to abort (multipartCopy.ts). */
  ownsDestination?: boolean;
  /** SSE-KMS with the customer's key on every object written; each answer must name it. */
  kmsKeyArn?: string;
}

/** Parts of 128 MiB copy in about a second on S3, so one call never nears the webhook timeout. */
export const DEFAULT_COPY = { multipartThreshold: 256 * 1024 ** 2, partSize: 128 * 1024 ** 2, parallelism: 32, pageSize: 250 };

export interface CopyProgress {
  after?: string;
  /** Copied by this backup / found already copied (a replay) / left out by the exclusions. */
  copied: number; alreadyThere: number; excluded: number;
  /** Bytes copied, and bytes found already copied. */
  bytes: number; alreadyBytes?: number;
  /** Incremental: held unchanged by the base backup. */
  referenced?: number; referencedBytes?: number;
  /** Multipart copies under way past the cursor, by relative key: continued part by part next sync. */
  uploads?: Record<string, UploadState>;
}

type Send = S3Client['send'];
/** Every call gets a timeout well under the webhook's; copies get a longer one. */
function timed(s3: S3Client, ms = 10_000): Timed {
  const wrap = (t: number): Send => ((cmd: Parameters<Send>[0]) => s3.send(cmd, { abortSignal: AbortSignal.timeout(t) })) as Send;
  return { send: wrap(ms), copy: wrap(ms * 2.5) };
}

/** A multipart source's ETag ("…-n") is not kept by CopyObject, so such objects are copied part by part. */
const isMultipart = (spec: CopySpec, o: _Object) => (o.Size ?? 0) > spec.multipartThreshold || /-\d+"?$/.test(o.ETag ?? '');

async function limit<T>(items: readonly T[], parallelism: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallelism, items.length) }, async () => {
    while (next < items.length) { const item = items[next++]!; await fn(item); }
  }));
}

/** Objects under `prefix` after `startAfter` up to `last`, by key (prefix replacement keeps key order). */
async function range(send: Send, bucket: string, prefix: string, startAfter: string | undefined, last: string): Promise<Map<string, _Object>> {
  const found = new Map<string, _Object>();
  let after = startAfter;
  for (;;) {
    const out = await send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1000, ...(after ? { StartAfter: after } : {}) }));
    const objects = out.Contents ?? [];
    for (const o of objects) if (keyOrder(o.Key!, last) <= 0) found.set(o.Key!, o);
    const lastKey = objects[objects.length - 1]?.Key;
    if (!out.IsTruncated || !lastKey || keyOrder(lastKey, last) >= 0) return found;
    after = lastKey;
  }
}

/** Whether `existing` (a copy made by us, here or in the base backup) holds exactly the source object. */
async function sameObject(send: Send, spec: CopySpec, source: _Object, key: string, existing: _Object | undefined): Promise<boolean> {
  if (!existing || existing.Size !== source.Size) return false;
  if (existing.ETag === source.ETag) return true;
  if (isMultipart(spec, source)) {
    const head = await send(new HeadObjectCommand({ Bucket: spec.destinationBucket, Key: key }));
    return head.Metadata?.[SOURCE_ETAG] === bare(source.ETag);
  }
  // An SSE-KMS copy's ETag is not the content's MD5 on S3: the source ETag it was made from is its tag.
  if (!spec.kmsKeyArn) return false;
  const tags = await send(new GetObjectTaggingCommand({ Bucket: spec.destinationBucket, Key: key }));
  return tags.TagSet?.some((x) => x.Key === SOURCE_ETAG && x.Value === bare(source.ETag)) ?? false;
}

/** Where a multipart copy of this step goes; parts of one object go at most 8 at a time. */
const multipartTarget = (spec: CopySpec): MultipartTarget => ({
  sourceBucket: spec.sourceBucket, destinationBucket: spec.destinationBucket, parallelism: Math.min(spec.parallelism, 8),
  partSize: spec.partSize, ownsDestination: spec.ownsDestination ?? false, ...(spec.kmsKeyArn ? { kmsKeyArn: spec.kmsKeyArn } : {}),
});

export { MAX_KEPT_UPLOADS };

/** Kept uploads in their plain shape only, at most MAX_KEPT_UPLOADS; a Map, so no key (`__proto__`) is special. */
function keptUploads(u: CopyProgress['uploads']): Map<string, UploadState> {
  if (!u || typeof u !== 'object') return new Map();
  return new Map(Object.entries(u).filter(([rel, s]) => isCleanRelativeKey(rel) && rel.length <= 1024 && isUploadState(s)).slice(0, MAX_KEPT_UPLOADS));
}

/** Ends uploads no sync will continue (best effort: one that is already gone is fine). */
async function endUploads(t: Timed, spec: CopySpec, uploads: Array<[string, UploadState]>): Promise<void> {
  for (const [rel, u] of uploads) await abortUpload(t, spec.destinationBucket, spec.destinationPrefix + rel, u.id).catch(() => undefined);
}

/** The destination already holds this version of the source (its ETag, or the one a multipart copy recorded). */
async function copiedAlready(send: Send, bucket: string, key: string, source: _Object): Promise<boolean> {
  try {
    const head = await send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return head.ContentLength === source.Size && (head.ETag === source.ETag || head.Metadata?.[SOURCE_ETAG] === bare(source.ETag));
  } catch (e) {
    if (['NotFound', 'NoSuchKey'].includes((e as { name?: string }).name ?? '')) return false;
    throw e;
  }
}

/** Refs pages hold one listing page of entries (~100 KiB); the cap keeps a planted object from being buffered. */
const MAX_REFS_PAGE_BYTES = 8 * 1024 * 1024;

/**
 * A relative key that names a place inside its folder only: no empty, "." or ".." segment (a folder
 * marker's trailing "/" aside). Other keys are never copied: an S3-compatible store or proxy that
 * normalises paths would write them into another folder.
 */
export function isCleanRelativeKey(rel: unknown): rel is string {
  if (typeof rel !== 'string' || rel === '') return false;
  const segments = rel.split('/');
  return segments.every((seg, i) => (seg !== '' || i === segments.length - 1) && seg !== '.' && seg !== '..');
}

/** One referenced object: relative key, size, source ETag (what decides the copy method on restore). */
export type RefEntry = [string, number, string];

const isRefEntry = (e: unknown): e is RefEntry => Array.isArray(e) && e.length === 3 && isCleanRelativeKey(e[0])
  && Number.isSafeInteger(e[1]) && (e[1] as number) >= 0 && (e[1] as number) <= MAX_OBJECT_BYTES && typeof e[2] === 'string' && e[2].length <= 200;

/** Name of the refs page for a source extent: stable however often (or concurrently) the extent is redone. */
export const refsPageKey = (refsPrefix: string, extent: string) =>
  `${refsPrefix}${createHash('sha256').update(extent).digest('hex').slice(0, 32)}.json`;

/**
 * Copies from `progress.after` on, page by page, until done or `budgetMs` is spent; returns the
 * new progress (a page is either wholly done - cursor moves past it - or repeated next time).
 */
/** Saves a progress where the next sync starts from (the step's checkpoint); see `recorder`. */
export type SaveProgress = (progress: CopyProgress) => Promise<void>;

/**
 * Records each new upload, written ahead of its first part: the progress at the start of the page
 * (a consistent point to redo the page from) plus every upload under way. Saves run one at a time.
 */
function recorder(save: SaveProgress | undefined, pageStart: CopyProgress, kept: Map<string, UploadState>): (rel: string) => ((u: UploadState) => Promise<void>) | undefined {
  if (!save) return () => undefined;
  const recorded = new Map(kept);
  let chain = Promise.resolve();
  return (rel) => (u) => {
    recorded.set(rel, u);
    chain = chain.then(() => save({ ...pageStart, uploads: Object.fromEntries(recorded) }));
    return chain;
  };
}

export async function copyStep(s3: S3Client, spec: CopySpec, progress: CopyProgress, budgetMs: number, save?: SaveProgress): Promise<{ progress: CopyProgress; done: boolean }> {
  const t = timed(s3, spec.callTimeoutMs);
  const deadline = Date.now() + budgetMs;
  let p = { ...progress };
  for (;;) {
    const page = await t.send(new ListObjectsV2Command({
      Bucket: spec.sourceBucket, Prefix: spec.sourcePrefix, MaxKeys: spec.pageSize, ...(p.after ? { StartAfter: p.after } : {}),
    }));
    const objects = page.Contents ?? [];
    if (objects.length === 0) {
      // The copy is over: an upload still kept belongs to an object that is gone; none will continue.
      await endUploads(t, spec, [...keptUploads(p.uploads)]);
      const { uploads: _over, ...rest } = p;
      return { progress: rest, done: true };
    }
    const relative = (k: string) => k.slice(spec.sourcePrefix.length);
    const skipped = (o: _Object) => !isCleanRelativeKey(relative(o.Key!)) || spec.exclude(relative(o.Key!));
    const included = objects.filter((o) => !skipped(o));
    const lastRel = included.length ? relative(included[included.length - 1]!.Key!) : undefined;
    const fromRel = p.after ? relative(p.after) : undefined;
    const window = async (prefix: string) => (lastRel === undefined ? new Map<string, _Object>()
      : range(t.send, spec.destinationBucket, prefix, fromRel !== undefined ? prefix + fromRel : undefined, prefix + lastRel));
    const [existing, inBase] = await Promise.all([window(spec.destinationPrefix), spec.base ? window(spec.base.prefix) : Promise.resolve(new Map<string, _Object>())]);
    const kept = keptUploads(p.uploads);
    const record = recorder(save, p, kept);
    const unfinished = new Map<string, UploadState>();
    const completed = new Set<string>();
    // What became of each included object; only those before the first unfinished one count (the
    // cursor stays there, so the rest are seen again next sync and counted then, once).
    const outcomes: Array<'copied' | 'already' | 'referenced' | undefined> = [];
    // Past the budget no new copy starts (those in flight finish), so a sync ends soon after it.
    // At least one object per sync, so even a tiny budget always moves the cursor. A multipart copy
    // cut short by the budget holds the cursor at its object and is continued next sync.
    let firstSkipped = -1;
    let begun = 0;
    const skip = (i: number) => { if (firstSkipped < 0 || i < firstSkipped) firstSkipped = i; };
    await limit(included.map((o, i) => [o, i] as const), spec.parallelism, async ([o, i]) => {
      if (Date.now() >= deadline && begun > 0) { skip(i); return; }
      begun += 1;
      const rel = relative(o.Key!);
      const destKey = spec.destinationPrefix + rel;
      if (await sameObject(t.send, spec, o, destKey, existing.get(destKey))) { outcomes[i] = 'already'; return; }
      if (spec.base && await sameObject(t.send, spec, o, spec.base.prefix + rel, inBase.get(spec.base.prefix + rel))) { outcomes[i] = 'referenced'; return; }
      if (isMultipart(spec, o)) {
        const r = await multipartCopy(t, multipartTarget(spec), o, destKey, deadline, kept.get(rel), record(rel));
        if (!r.done) { unfinished.set(rel, r.upload); skip(i); return; }
        completed.add(rel);
      } else {
        const out = await t.copy(new CopyObjectCommand({
          Bucket: spec.destinationBucket, Key: destKey, CopySource: copySource(spec.sourceBucket, o.Key!), CopySourceIfMatch: o.ETag,
          ...sseParams(spec.kmsKeyArn),
          // Replaces the source's tags (Liferay's stores set none) with the one that recognises this copy later.
          ...(spec.kmsKeyArn ? { TaggingDirective: 'REPLACE' as const, Tagging: `${SOURCE_ETAG}=${encodeURIComponent(bare(o.ETag))}` } : {}),
        }));
        checkSse(spec.kmsKeyArn, destKey, out);
      }
      outcomes[i] = 'copied';
    });
    const counted = firstSkipped < 0 ? included.length : firstSkipped;
    const n = { copied: 0, already: 0, bytes: 0, alreadyBytes: 0, referenced: 0, referencedBytes: 0 };
    const refs: RefEntry[] = [];
    for (let i = 0; i < counted; i += 1) {
      const o = included[i]!;
      const size = o.Size ?? 0;
      if (outcomes[i] === 'copied') { n.copied += 1; n.bytes += size; }
      if (outcomes[i] === 'already') { n.already += 1; n.alreadyBytes += size; }
      if (outcomes[i] === 'referenced') { refs.push([relative(o.Key!), size, o.ETag ?? '']); n.referenced += 1; n.referencedBytes += size; }
    }
    const stop = firstSkipped < 0 ? objects.length : objects.indexOf(included[firstSkipped]!);
    if (spec.base && refs.length > 0) {
      // Named by the extent it covers: a replay of a different extent never overwrites another's entries.
      await t.send(new PutObjectCommand({
        Bucket: spec.destinationBucket, Key: refsPageKey(spec.base.refsPrefix, `${objects[0]!.Key!}\n${objects[stop - 1]!.Key!}`),
        Body: JSON.stringify(refs.sort((a, b) => (a[0] < b[0] ? -1 : 1))), ContentType: 'application/json',
      }));
    }
    // The cursor moves past what is done: the whole page, or everything before the first skipped object.
    const after = stop > 0 ? objects[stop - 1]!.Key! : p.after;
    const excluded = objects.slice(0, stop).filter(skipped).length;
    // Uploads still under way past the cursor: those cut short now, and kept ones this sync did not
    // reach. A kept one the cursor passed without finishing it (its source is gone) is ended.
    const afterRel = after ? relative(after) : undefined;
    const uploads = new Map([...kept, ...unfinished].filter(([rel]) => !completed.has(rel) && (afterRel === undefined || keyOrder(rel, afterRel) > 0)));
    await endUploads(t, spec, [...kept].filter(([rel]) => !uploads.has(rel) && !completed.has(rel)));
    p = {
      ...(after ? { after } : {}), copied: p.copied + n.copied, alreadyThere: p.alreadyThere + n.already,
      excluded: p.excluded + excluded, bytes: p.bytes + n.bytes, alreadyBytes: (p.alreadyBytes ?? 0) + n.alreadyBytes,
      ...(spec.base ? { referenced: (p.referenced ?? 0) + n.referenced, referencedBytes: (p.referencedBytes ?? 0) + n.referencedBytes } : {}),
      ...(uploads.size ? { uploads: Object.fromEntries(uploads) } : {}),
    };
    if (firstSkipped < 0 && !page.IsTruncated) {
      // The copy is over: a kept upload past the last key belongs to an object that is gone.
      await endUploads(t, spec, [...uploads]);
      const { uploads: _over, ...rest } = p;
      return { progress: rest, done: true };
    }
    if (Date.now() >= deadline) return { progress: p, done: false };
  }
}

/**
 * Restore of an incremental backup's referenced objects: for each refs page (in key order, the
 * page key is the cursor) copy the named objects from the base backup. Re-copying a page after a
 * crash overwrites identical bytes.
 */
export async function copyReferenced(
  s3: S3Client, spec: CopySpec & { refsBucket: string; refsPrefix: string }, progress: CopyProgress, budgetMs: number, save?: SaveProgress,
): Promise<{ progress: CopyProgress; done: boolean }> {
  const t = timed(s3, spec.callTimeoutMs);
  const deadline = Date.now() + budgetMs;
  let p = { ...progress };
  for (;;) {
    const pages = await t.send(new ListObjectsV2Command({ Bucket: spec.refsBucket, Prefix: spec.refsPrefix, MaxKeys: 1, ...(p.after ? { StartAfter: p.after } : {}) }));
    const pageKey = pages.Contents?.[0]?.Key;
    if (!pageKey) return { progress: p, done: true };
    const out = await t.send(new GetObjectCommand({ Bucket: spec.refsBucket, Key: pageKey }));
    // A refs page holds at most one listing page of entries; anything far larger is not ours and is never buffered.
    if ((out.ContentLength ?? Infinity) > MAX_REFS_PAGE_BYTES) throw Object.assign(new Error(`${spec.refsBucket}/${pageKey} is not a refs page (too large)`), { name: 'RefsPageInvalid' });
    const entries = (JSON.parse(await out.Body!.transformToString()) as unknown[]).filter(isRefEntry);
    // A page is redone while one of its multipart copies is under way: what is already there is not copied again.
    const kept = keptUploads(p.uploads);
    const record = recorder(save, p, kept);
    const redo = kept.size > 0;
    const unfinished = new Map<string, UploadState>();
    let bytes = 0;
    await limit(entries, spec.parallelism, async ([rel]) => {
      // Base copies made part by part carry a different ETag than the original: no source pinning there.
      // The size is the object's own (HEAD), never the page's: a page is data a tenant could have written.
      const head = await t.send(new HeadObjectCommand({ Bucket: spec.sourceBucket, Key: spec.sourcePrefix + rel }));
      const size = head.ContentLength ?? 0;
      bytes += size;
      const pinned: _Object = { Key: spec.sourcePrefix + rel, Size: size, ETag: head.ETag };
      const destKey = spec.destinationPrefix + rel;
      if (redo && !kept.has(rel) && await copiedAlready(t.send, spec.destinationBucket, destKey, pinned)) return;
      if (isMultipart(spec, pinned)) {
        const r = await multipartCopy(t, multipartTarget(spec), pinned, destKey, deadline, kept.get(rel), record(rel));
        if (!r.done) unfinished.set(rel, r.upload);
      } else await t.copy(new CopyObjectCommand({ Bucket: spec.destinationBucket, Key: destKey, CopySource: copySource(spec.sourceBucket, pinned.Key!), CopySourceIfMatch: head.ETag }));
    });
    // A kept upload this page no longer names is not continued by anyone: ended.
    const listed = new Set(entries.map(([rel]) => rel));
    await endUploads(t, spec, [...kept].filter(([rel]) => !listed.has(rel)));
    if (unfinished.size) p = { ...p, uploads: Object.fromEntries(unfinished) };
    else {
      const { uploads: _done, ...rest } = p;
      p = { ...rest, after: pageKey, copied: p.copied + entries.length, bytes: p.bytes + bytes };
    }
    if (Date.now() >= deadline) return { progress: p, done: false };
  }
}
