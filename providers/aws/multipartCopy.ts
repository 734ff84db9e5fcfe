// Server-side copy of one large (or multipart) S3 object with UploadPartCopy, resumable part by
// part across syncs: the upload's ID, the source ETag it copies and its part size are what the
// caller keeps (in status and in the step's checkpoint); the parts already finished are read back
// from S3 itself (ListParts), so a part is copied once however often a sync is cut short, replayed
// or the hook restarted. No new part starts after the sync's deadline (at least one does, so every
// sync moves on); the next sync continues from the last finished part.
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, HeadObjectCommand,
  ListMultipartUploadsCommand, ListPartsCommand, UploadPartCopyCommand, type S3Client, type _Object,
} from '@aws-sdk/client-s3';

type Send = S3Client['send'];
export interface Timed { send: Send; copy: Send }

/** What is kept of an unfinished multipart copy between syncs (never a secret). */
export interface UploadState { id: string; etag: string; partSize: number }

export const SOURCE_ETAG = 'lc2-source-etag';
export const bare = (etag: string | undefined) => (etag ?? '').replace(/"/g, '');
/** S3 lists keys in UTF-8 byte order, not JavaScript's UTF-16 order: every key comparison uses this. */
export const keyOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
export const copySource = (bucket: string, key: string) => `${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;

const MiB = 1024 ** 2;
/** S3's largest object (5 TiB), most parts (10,000), smallest and largest part (5 MiB, 5 GiB). */
export const MAX_OBJECT_BYTES = 5 * 1024 ** 4;
const MAX_PARTS = 10_000;
const MIN_PART = 5 * MiB;
const MAX_PART = 5 * 1024 * MiB;

/** The configured part size, grown (whole MiB) where the object would need more than 10,000 parts. */
export const partSizeFor = (size: number, configured: number) => Math.max(configured, Math.ceil(size / MAX_PARTS / MiB) * MiB);

/** A kept upload state is believed only in its plain shape: anything else starts the object afresh. */
export function isUploadState(u: unknown): u is UploadState {
  const s = u as Partial<UploadState> | null;
  return !!s && typeof s === 'object' && typeof s.id === 'string' && s.id.length > 0 && s.id.length <= 1024
    && typeof s.etag === 'string' && s.etag.length <= 200 && Number.isSafeInteger(s.partSize) && s.partSize! >= MIN_PART && s.partSize! <= MAX_PART;
}

export interface MultipartTarget {
  sourceBucket: string;
  destinationBucket: string;
  /** Part copies in flight at once for this object. */
  parallelism: number;
  partSize: number;
  /**
   * Whether an upload of the destination key that is not the kept one may be aborted: true in a
   * backup's own folder (only an earlier attempt of ours, cut before its ID was kept, can be there);
   * false in a restore target, where another writer's upload is not ours to end.
   */
  ownsDestination: boolean;
  /** SSE-KMS with the customer's key (s3Copy.ts). */
  kmsKeyArn?: string;
}

/** The request parameters of SSE-KMS with this key, or none. */
export const sseParams = (kmsKeyArn: string | undefined) => (kmsKeyArn ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: kmsKeyArn } : {});

/**
 * A store that ignores the SSE headers (or a key other than the customer's) must not pass for an
 * encrypted copy: every answer that wrote an object is checked.
 */
export function checkSse(kmsKeyArn: string | undefined, key: string, out: { ServerSideEncryption?: string; SSEKMSKeyId?: string }): void {
  if (!kmsKeyArn || (out.ServerSideEncryption === 'aws:kms' && out.SSEKMSKeyId === kmsKeyArn)) return;
  throw Object.assign(new Error(`${key} was written with ${out.ServerSideEncryption ?? 'no'} encryption${out.SSEKMSKeyId ? ` (key ${out.SSEKMSKeyId})` : ''}, not SSE-KMS with the project's key ${kmsKeyArn}`), { name: 'EncryptionNotApplied' });
}

export type PartResult = { done: true } | { done: false; upload: UploadState };

const isName = (e: unknown, ...names: string[]) => names.includes((e as { name?: string }).name ?? '');

/** Finished parts of an upload (number → ETag, size), or undefined when the upload is gone. */
async function finishedParts(t: Timed, bucket: string, key: string, uploadId: string): Promise<Map<number, { etag: string; size: number }> | undefined> {
  const parts = new Map<number, { etag: string; size: number }>();
  let marker: string | undefined;
  try {
    for (;;) {
      const out = await t.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, ...(marker ? { PartNumberMarker: marker } : {}) }));
      for (const p of out.Parts ?? []) if (p.PartNumber && p.ETag) parts.set(p.PartNumber, { etag: p.ETag, size: p.Size ?? -1 });
      if (!out.IsTruncated || !out.NextPartNumberMarker) return parts;
      marker = out.NextPartNumberMarker;
    }
  } catch (e) {
    if (isName(e, 'NoSuchUpload', 'NotFound')) return undefined;
    throw e;
  }
}

export async function abortUpload(t: Timed, bucket: string, key: string, uploadId: string): Promise<void> {
  await t.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
    .catch((e: unknown) => { if (!isName(e, 'NoSuchUpload', 'NotFound')) throw e; });
}

/** Uploads of exactly `key` other than `keep` (an earlier attempt cut before its ID was kept). */
async function abortStale(t: Timed, bucket: string, key: string, keep: string | undefined): Promise<void> {
  const out = await t.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
  for (const u of out.Uploads ?? []) if (u.Key === key && u.UploadId && u.UploadId !== keep) await abortUpload(t, bucket, key, u.UploadId);
}

async function begin(t: Timed, target: MultipartTarget, source: _Object, destKey: string): Promise<UploadState> {
  const size = source.Size ?? 0;
  const partSize = partSizeFor(size, target.partSize);
  if (!(size <= MAX_OBJECT_BYTES) || partSize > MAX_PART) {
    throw Object.assign(new Error(`${source.Key} (${size} bytes) is larger than S3 allows (5 TiB)`), { name: 'ObjectTooLargeToCopy' });
  }
  // The copy keeps the source's content type and metadata, plus the source ETag it was made from.
  const src = await t.send(new HeadObjectCommand({ Bucket: target.sourceBucket, Key: source.Key!, IfMatch: source.ETag }));
  const { UploadId } = await t.send(new CreateMultipartUploadCommand({
    Bucket: target.destinationBucket, Key: destKey, ...(src.ContentType ? { ContentType: src.ContentType } : {}),
    Metadata: { ...src.Metadata, [SOURCE_ETAG]: bare(source.ETag) }, ...sseParams(target.kmsKeyArn),
  }));
  return { id: UploadId!, etag: bare(source.ETag), partSize };
}

/**
 * Copies `source` to `destKey` part by part, continuing `kept` when it is an upload of this very
 * source version; returns done, or the upload to keep for the next sync.
 */
export async function multipartCopy(
  t: Timed, target: MultipartTarget, source: _Object, destKey: string, deadline: number, kept?: UploadState,
  /** Records a new upload where the next sync finds it (the step's checkpoint) before any part is copied. */
  onBegin?: (upload: UploadState) => Promise<void>,
): Promise<PartResult> {
  const size = source.Size ?? 0;
  let upload: UploadState | undefined;
  let finished = new Map<number, { etag: string; size: number }>();
  if (kept && isUploadState(kept)) {
    const parts = kept.etag === bare(source.ETag) ? await finishedParts(t, target.destinationBucket, destKey, kept.id) : undefined;
    if (parts) { upload = kept; finished = parts; }
    // The source changed since (or the upload is gone): its parts are of another version.
    else await abortUpload(t, target.destinationBucket, destKey, kept.id);
  }
  if (target.ownsDestination) await abortStale(t, target.destinationBucket, destKey, upload?.id);
  // An upload begun now and not yet recorded anywhere is ended on failure; a recorded one keeps its parts.
  let unrecorded = !upload;
  upload ??= await begin(t, target, source, destKey);
  const { id, partSize } = upload;
  const ranges: Array<[number, number, number]> = [];
  for (let start = 0, n = 1; start < size || n === 1; start += partSize, n += 1) ranges.push([n, start, Math.max(start, Math.min(size, start + partSize) - 1)]);
  const expected = (a: number, b: number) => (size === 0 ? 0 : b - a + 1);
  const todo = ranges.filter(([n, a, b]) => finished.get(n)?.size !== expected(a, b));
  let started = 0;
  let next = 0;
  try {
    // Written ahead: a hook that dies mid-part leaves an upload the next sync continues, not one it must end.
    if (unrecorded && onBegin) { await onBegin(upload); unrecorded = false; }
    await Promise.all(Array.from({ length: Math.min(target.parallelism, todo.length) }, async () => {
      while (next < todo.length) {
        // Past the deadline no new part starts (at least one per sync does, so the copy moves on).
        if (Date.now() >= deadline && started > 0) return;
        const [PartNumber, a, b] = todo[next++]!;
        started += 1;
        const out = await t.copy(new UploadPartCopyCommand({
          Bucket: target.destinationBucket, Key: destKey, UploadId: id, PartNumber,
          CopySource: copySource(target.sourceBucket, source.Key!), ...(size > 0 ? { CopySourceRange: `bytes=${a}-${b}` } : {}), CopySourceIfMatch: source.ETag,
        }));
        finished.set(PartNumber, { etag: out.CopyPartResult!.ETag!, size: expected(a, b) });
      }
    }));
  } catch (e) {
    // The source changed under the copy: this upload can never complete. An upload begun by this
    // call and not recorded anywhere is ended too; a recorded one stays, with its finished parts.
    if (unrecorded || isName(e, 'PreconditionFailed')) await abortUpload(t, target.destinationBucket, destKey, id).catch(() => undefined);
    throw e;
  }
  if (ranges.some(([n]) => !finished.has(n))) return { done: false, upload };
  const parts = ranges.map(([n]) => ({ PartNumber: n, ETag: finished.get(n)!.etag }));
  const out = await t.send(new CompleteMultipartUploadCommand({ Bucket: target.destinationBucket, Key: destKey, UploadId: id, MultipartUpload: { Parts: parts } }));
  checkSse(target.kmsKeyArn, destKey, out);
  return { done: true };
}

/**
 * Aborts the unfinished uploads under `prefix` that `isOwn` accepts (a backup's own folder before it
 * is deleted; a backup nested below it is another one's and is left alone).
 */
export async function abortUploadsUnder(s3: S3Client, bucket: string, prefix: string, timeoutMs: number, isOwn: (key: string) => boolean = () => true): Promise<number> {
  const send = ((cmd: Parameters<Send>[0]) => s3.send(cmd, { abortSignal: AbortSignal.timeout(timeoutMs) })) as Send;
  let aborted = 0;
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const out = await send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix, ...(keyMarker ? { KeyMarker: keyMarker } : {}), ...(uploadIdMarker ? { UploadIdMarker: uploadIdMarker } : {}) }));
    for (const u of out.Uploads ?? []) {
      if (!u.Key?.startsWith(prefix) || !u.UploadId || !isOwn(u.Key)) continue;
      await abortUpload({ send, copy: send }, bucket, u.Key, u.UploadId);
      aborted += 1;
    }
    if (!out.IsTruncated) return aborted;
    keyMarker = out.NextKeyMarker;
    uploadIdMarker = out.NextUploadIdMarker;
    if (!keyMarker && !uploadIdMarker) return aborted;
  }
}
