// Server-side copy of a document library between S3 locations (AWS provider, issue 4 groundwork).
// Resumable and exactly-once across syncs: work goes page by page in key order, the cursor (last
// source key of a finished page) is what the caller keeps in status, and an object whose copy is
// already there (same size and ETag, or the source ETag recorded on a multipart copy) is never
// copied again - so a replayed or concurrent sync costs listings, not copies. Objects above the
// multipart threshold are copied with UploadPartCopy; stale uploads of the same key are aborted.
import {
  S3Client, ListObjectsV2Command, CopyObjectCommand, HeadObjectCommand, CreateMultipartUploadCommand,
  UploadPartCopyCommand, CompleteMultipartUploadCommand, ListMultipartUploadsCommand, AbortMultipartUploadCommand,
  type _Object,
} from '@aws-sdk/client-s3';

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
}

export const DEFAULT_COPY = { multipartThreshold: 5 * 1024 ** 3, partSize: 512 * 1024 ** 2, parallelism: 32, pageSize: 250 };

export interface CopyProgress { after?: string; copied: number; alreadyThere: number; excluded: number; bytes: number }

const SOURCE_ETAG = 'lc2-source-etag';
const copySource = (bucket: string, key: string) => `${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;

async function limit<T>(items: readonly T[], parallelism: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallelism, items.length) }, async () => {
    while (next < items.length) { const item = items[next++]!; await fn(item); }
  }));
}

/** Destination objects under `prefix` after `startAfter` up to `last`, by key (prefix replacement keeps key order). */
async function destinationRange(s3: S3Client, bucket: string, prefix: string, startAfter: string | undefined, last: string): Promise<Map<string, _Object>> {
  const found = new Map<string, _Object>();
  let after = startAfter;
  for (;;) {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1000, ...(after ? { StartAfter: after } : {}) }));
    const objects = out.Contents ?? [];
    for (const o of objects) if (o.Key! <= last) found.set(o.Key!, o);
    const lastKey = objects[objects.length - 1]?.Key;
    if (!out.IsTruncated || !lastKey || lastKey >= last) return found;
    after = lastKey;
  }
}

async function alreadyCopied(s3: S3Client, spec: CopySpec, source: _Object, destKey: string, existing: _Object | undefined): Promise<boolean> {
  if (!existing || existing.Size !== source.Size) return false;
  if (existing.ETag === source.ETag) return true;
  if ((source.Size ?? 0) <= spec.multipartThreshold) return false;
  const head = await s3.send(new HeadObjectCommand({ Bucket: spec.destinationBucket, Key: destKey }));
  return head.Metadata?.[SOURCE_ETAG] === source.ETag?.replace(/"/g, '');
}

async function multipartCopy(s3: S3Client, spec: CopySpec, source: _Object, destKey: string): Promise<void> {
  const size = source.Size ?? 0;
  // A crashed earlier attempt may have left an upload behind: abort it, start clean.
  const stale = await s3.send(new ListMultipartUploadsCommand({ Bucket: spec.destinationBucket, Prefix: destKey }));
  for (const u of stale.Uploads ?? []) {
    if (u.Key === destKey) await s3.send(new AbortMultipartUploadCommand({ Bucket: spec.destinationBucket, Key: destKey, UploadId: u.UploadId }));
  }
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({
    Bucket: spec.destinationBucket, Key: destKey, Metadata: { [SOURCE_ETAG]: source.ETag?.replace(/"/g, '') ?? '' },
  }));
  const ranges: Array<[number, number, number]> = [];
  for (let start = 0, n = 1; start < size; start += spec.partSize, n += 1) ranges.push([n, start, Math.min(size, start + spec.partSize) - 1]);
  const parts: Array<{ PartNumber: number; ETag: string }> = [];
  try {
    await limit(ranges, Math.min(spec.parallelism, 8), async ([PartNumber, a, b]) => {
      const out = await s3.send(new UploadPartCopyCommand({
        Bucket: spec.destinationBucket, Key: destKey, UploadId, PartNumber,
        CopySource: copySource(spec.sourceBucket, source.Key!), CopySourceRange: `bytes=${a}-${b}`, CopySourceIfMatch: source.ETag,
      }));
      parts.push({ PartNumber, ETag: out.CopyPartResult!.ETag! });
    });
    parts.sort((x, y) => x.PartNumber - y.PartNumber);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: spec.destinationBucket, Key: destKey, UploadId, MultipartUpload: { Parts: parts } }));
  } catch (e) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: spec.destinationBucket, Key: destKey, UploadId })).catch(() => undefined);
    throw e;
  }
}

/**
 * Copies from `progress.after` on, page by page, until done or `budgetMs` is spent; returns the
 * new progress (a page is either wholly done - cursor moves past it - or repeated next time).
 */
export async function copyStep(s3: S3Client, spec: CopySpec, progress: CopyProgress, budgetMs: number): Promise<{ progress: CopyProgress; done: boolean }> {
  const deadline = Date.now() + budgetMs;
  let p = { ...progress };
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({
      Bucket: spec.sourceBucket, Prefix: spec.sourcePrefix, MaxKeys: spec.pageSize, ...(p.after ? { StartAfter: p.after } : {}),
    }));
    const objects = page.Contents ?? [];
    if (objects.length === 0) return { progress: p, done: true };
    const relative = (k: string) => k.slice(spec.sourcePrefix.length);
    const included = objects.filter((o) => !spec.exclude(relative(o.Key!)));
    const destKeys = included.map((o) => spec.destinationPrefix + relative(o.Key!));
    const existing = destKeys.length
      ? await destinationRange(s3, spec.destinationBucket, spec.destinationPrefix, p.after ? spec.destinationPrefix + relative(p.after) : undefined, destKeys[destKeys.length - 1]!)
      : new Map<string, _Object>();
    let copied = 0;
    let already = 0;
    let bytes = 0;
    await limit(included, spec.parallelism, async (o) => {
      const destKey = spec.destinationPrefix + relative(o.Key!);
      if (await alreadyCopied(s3, spec, o, destKey, existing.get(destKey))) { already += 1; return; }
      if ((o.Size ?? 0) > spec.multipartThreshold) await multipartCopy(s3, spec, o, destKey);
      else {
        await s3.send(new CopyObjectCommand({
          Bucket: spec.destinationBucket, Key: destKey, CopySource: copySource(spec.sourceBucket, o.Key!), CopySourceIfMatch: o.ETag,
        }));
      }
      copied += 1;
      bytes += o.Size ?? 0;
    });
    p = {
      after: objects[objects.length - 1]!.Key!, copied: p.copied + copied, alreadyThere: p.alreadyThere + already,
      excluded: p.excluded + objects.length - included.length, bytes: p.bytes + bytes,
    };
    if (!page.IsTruncated) return { progress: p, done: true };
    if (Date.now() >= deadline) return { progress: p, done: false };
  }
}
