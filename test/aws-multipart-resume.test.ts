// Objects of any size, part by part, on MinIO (a real multi-threaded S3 server): a multi-GB
// multipart object copied across many short syncs, each sync the hook's own copy code in its own
// process (leasedStep + copyStep, signed checkpoint), one of them killed in the middle of a part
// copy as a crashed or restarted hook would be. Every part must be copied once, the object
// byte-identical, its source ETag kept; an upload that is not the kept one is ended only in the
// backup's own folder; a source that changes between syncs restarts its object, never mixes versions.
// (Ending every upload under a deleted backup's folder lists uploads by prefix, which MinIO does not
// do: that is tested on moto, test/aws-s3-copy.test.ts.)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  S3Client, CreateBucketCommand, CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand,
  GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, PutObjectCommand, CopyObjectCommand, DeleteObjectCommand, ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { startMinio, minioMissing, type MinioServer } from './support/minio.ts';
import { startS3Proxy, type S3Proxy } from './support/s3Proxy.ts';
import type { CopyStepInput } from './support/copyStepProcess.ts';
import { classify } from '../providers/aws/rds.ts';
import { copyStep, type CopyProgress, type CopySpec } from '../providers/aws/s3Copy.ts';

const MiB = 1024 ** 2;
/** A multi-GB object (LC2_TEST_BIG_OBJECT_MB; 2 GiB by default) uploaded in 64 MiB parts: its ETag is a multipart one. */
const BIG_MB = Number(process.env.LC2_TEST_BIG_OBJECT_MB ?? 2048);
const UPLOAD_PART = 64 * MiB;
/** About 32 parts whatever the size (S3's smallest part is 5 MiB). */
const COPY_PART = Math.max(5, Math.ceil(BIG_MB / 32)) * MiB;
const BIG_KEY = 'document_library/20097/20121/40001/1.0';

let minio: MinioServer;
let proxy: S3Proxy;
let direct: S3Client;
const start: CopyProgress = { copied: 0, alreadyThere: 0, excluded: 0, bytes: 0 };
const client = (endpoint: string) => new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey } });

/** Part n of the big object: distinct bytes per part, so a part copied into the wrong place shows. */
function partBody(n: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) b.writeUInt32BE((n * 2654435761 + i) >>> 0, i);
  return b;
}

async function sha256Of(bucket: string, key: string): Promise<string> {
  const out = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const h = createHash('sha256');
  for await (const chunk of out.Body as AsyncIterable<Buffer>) h.update(chunk);
  return h.digest('hex');
}

/** Uploads of exactly `key` (MinIO lists uploads of one key, not of a folder, unlike S3). */
const uploadsOf = async (bucket: string, key: string) => ((await direct.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))).Uploads ?? []).filter((u) => u.Key === key);

/** One sync in a child process; `killAtCopy` kills it (SIGKILL) as its n-th copy request arrives. */
async function syncInProcess(input: CopyStepInput, killAtCopy?: number): Promise<{ progress: CopyProgress; done: boolean; busyUntil?: string } | 'killed'> {
  const child = spawn(process.execPath, [new URL('./support/copyStepProcess.ts', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  let seen = 0;
  proxy.onCopyStart = killAtCopy === undefined ? undefined : () => { seen += 1; if (seen === killAtCopy) child.kill('SIGKILL'); };
  child.stdin.end(JSON.stringify(input));
  const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.once('exit', (c, s) => r([c, s])));
  proxy.onCopyStart = undefined;
  if (signal === 'SIGKILL') return 'killed';
  assert.equal(code, 0, `copy step process failed: ${err.slice(-2000)}`);
  return JSON.parse(out) as { progress: CopyProgress; done: boolean; busyUntil?: string };
}

before(async () => {
  if (minioMissing()) return;
  minio = await startMinio();
  proxy = await startS3Proxy(minio.endpoint);
  direct = client(minio.endpoint);
  for (const b of ['liferay-dl', 'lc2-backups']) await direct.send(new CreateBucketCommand({ Bucket: b }));
  const { UploadId } = await direct.send(new CreateMultipartUploadCommand({ Bucket: 'liferay-dl', Key: BIG_KEY, ContentType: 'application/pdf', Metadata: { origin: 'liferay' } }));
  const parts: Array<{ PartNumber: number; ETag: string }> = [];
  for (let n = 1, left = BIG_MB * MiB; left > 0; n += 1, left -= UPLOAD_PART) {
    const out = await direct.send(new UploadPartCommand({ Bucket: 'liferay-dl', Key: BIG_KEY, UploadId, PartNumber: n, Body: partBody(n, Math.min(UPLOAD_PART, left)) }));
    parts.push({ PartNumber: n, ETag: out.ETag! });
  }
  await direct.send(new CompleteMultipartUploadCommand({ Bucket: 'liferay-dl', Key: BIG_KEY, UploadId, MultipartUpload: { Parts: parts } }));
});
after(async () => { await proxy?.close(); await minio?.stop(); });

describe('multipart copies resume part by part (MinIO)', { skip: minioMissing() }, () => {
  it(`a ${BIG_MB} MiB object across many short syncs, one killed mid-part: every part copied once, byte-identical, source ETag kept`, async () => {
    const destinationPrefix = 'retail/prd/big-1/dl/';
    const input = (progress: CopyProgress): CopyStepInput => ({
      endpoint: proxy.endpoint, accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey,
      spec: { sourceBucket: 'liferay-dl', sourcePrefix: 'document_library/', destinationBucket: 'lc2-backups', destinationPrefix,
        multipartThreshold: 256 * MiB, partSize: COPY_PART, parallelism: 32, pageSize: 250, ownsDestination: true },
      progress, budgetMs: 300, checkpointKey: 'retail/prd/big-1/results/transfer-progress', ttlMs: 3000, secret: 'checkpoint-key-of-the-test',
    });
    // A stale upload of the same key that no sync kept (an attempt cut before its ID was saved).
    const stale = await direct.send(new CreateMultipartUploadCommand({ Bucket: 'lc2-backups', Key: `${destinationPrefix}20097/20121/40001/1.0` }));
    proxy.parts.clear();
    let status = start; // what Metacontroller last applied to status
    let syncs = 0;
    let killed = false;
    let busy = 0;
    let resumed = 0; // syncs that ended with the upload unfinished, kept for the next
    for (let done = false; !done; syncs += 1) {
      assert.ok(syncs < 500, 'bounded');
      // The third sync dies as its second part copy arrives.
      const r = await syncInProcess(input(status), syncs === 2 ? 2 : undefined);
      if (r === 'killed') { killed = true; continue; }
      if (r.busyUntil) { busy += 1; await new Promise((res) => setTimeout(res, 500)); continue; }
      status = r.progress;
      done = r.done;
      if (!done) assert.ok(status.uploads && Object.keys(status.uploads).length === 1, `the unfinished upload is kept: ${JSON.stringify(status)}`);
      if (!done) resumed += 1;
    }
    assert.ok(killed, 'one sync was killed mid-copy');
    assert.ok(busy > 0, 'the killed sync\'s lease held off the next ones until it expired');
    const totalParts = Math.ceil(BIG_MB * MiB / COPY_PART);
    // How many syncs the copy takes depends on the machine's speed (a quiet one needed only 5 in all).
    assert.ok(resumed >= 2, `resumed across ${resumed} syncs that left it unfinished (${syncs} in all)`);
    const path = `/lc2-backups/${destinationPrefix}20097/20121/40001/1.0`;
    const counts = Array.from({ length: totalParts }, (_, i) => proxy.parts.get(`${path}#${i + 1}`) ?? 0);
    assert.deepEqual(counts, counts.map(() => 1), `each of the ${totalParts} parts copied exactly once`);
    assert.equal(status.copied, 1);
    assert.equal(status.bytes, BIG_MB * MiB);
    assert.equal(status.uploads, undefined, 'nothing left under way');
    assert.equal(await sha256Of('lc2-backups', `${destinationPrefix}20097/20121/40001/1.0`), await sha256Of('liferay-dl', BIG_KEY));
    const [src, copy] = await Promise.all([
      direct.send(new HeadObjectCommand({ Bucket: 'liferay-dl', Key: BIG_KEY })),
      direct.send(new HeadObjectCommand({ Bucket: 'lc2-backups', Key: `${destinationPrefix}20097/20121/40001/1.0` })),
    ]);
    assert.equal(copy.Metadata?.['lc2-source-etag'], src.ETag!.replace(/"/g, ''));
    assert.equal(copy.Metadata?.origin, 'liferay');
    assert.equal(copy.ContentType, 'application/pdf');
    const left = await uploadsOf('lc2-backups', `${destinationPrefix}20097/20121/40001/1.0`);
    assert.deepEqual(left.map((u) => u.UploadId), [], `no upload left behind (the stale ${stale.UploadId} was ours to end)`);
    // Replayed from the start: found there, nothing copied again.
    proxy.parts.clear();
    const again = await copyStep(client(proxy.endpoint), { ...input(start).spec, exclude: () => false }, start, 10_000);
    assert.deepEqual([again.done, again.progress.alreadyThere, proxy.parts.size], [true, 1, 0]);
  });

  it('a source changed between syncs restarts its object: the copy holds the new version, the old upload is ended', async () => {
    const key = 'document_library/20097/20121/40002/1.0';
    await direct.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: key, Body: Buffer.alloc(15 * MiB, 1) }));
    const spec: CopySpec = {
      sourceBucket: 'liferay-dl', sourcePrefix: 'document_library/20097/20121/40002/', destinationBucket: 'lc2-backups', destinationPrefix: 'retail/prd/big-2/dl/',
      exclude: () => false, multipartThreshold: 6 * MiB, partSize: 5 * MiB, parallelism: 8, pageSize: 250, ownsDestination: true,
    };
    const first = await copyStep(direct, spec, start, 0);
    assert.equal(first.done, false);
    const old = Object.values(first.progress.uploads ?? {})[0]!;
    assert.ok(old, 'one part copied, the upload kept');
    const v2 = Buffer.alloc(15 * MiB, 2);
    await direct.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: key, Body: v2 }));
    let p = first.progress;
    for (let done = false, n = 0; !done; n += 1) { assert.ok(n < 20); ({ progress: p, done } = await copyStep(direct, spec, p, 0)); }
    const copy = Buffer.from(await (await direct.send(new GetObjectCommand({ Bucket: 'lc2-backups', Key: 'retail/prd/big-2/dl/1.0' }))).Body!.transformToByteArray());
    assert.ok(copy.equals(v2), 'the new version, whole');
    assert.deepEqual((await uploadsOf('lc2-backups', 'retail/prd/big-2/dl/1.0')).map((u) => u.UploadId), []);
  });

  it('outside the backup\'s own folder (a restore target) another writer\'s upload of the same key is left alone', async () => {
    const key = 'document_library/20097/20121/40003/1.0';
    await direct.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: key, Body: Buffer.alloc(11 * MiB, 3) }));
    const target = 'restored/prd/dl/';
    const theirs = await direct.send(new CreateMultipartUploadCommand({ Bucket: 'lc2-backups', Key: `${target}1.0` }));
    const spec: CopySpec = {
      sourceBucket: 'liferay-dl', sourcePrefix: 'document_library/20097/20121/40003/', destinationBucket: 'lc2-backups', destinationPrefix: target,
      exclude: () => false, multipartThreshold: 6 * MiB, partSize: 5 * MiB, parallelism: 8, pageSize: 250,
    };
    let p = start;
    for (let done = false, n = 0; !done; n += 1) { assert.ok(n < 20); ({ progress: p, done } = await copyStep(direct, spec, p, 0)); }
    assert.equal(p.copied, 1);
    assert.deepEqual((await uploadsOf('lc2-backups', `${target}1.0`)).map((u) => u.UploadId), [theirs.UploadId]);
  });

  // A large object held across syncs while the rest of its page is done: the slow part copies are
  // held by the proxy (8 parts start, the 9th and 10th wait for the next sync).
  const slowSpec = (source: string, dest: string, over: Partial<CopySpec> = {}): CopySpec => ({
    sourceBucket: 'liferay-dl', sourcePrefix: source, destinationBucket: 'lc2-backups', destinationPrefix: dest,
    exclude: () => false, multipartThreshold: 6 * MiB, partSize: 5 * MiB, parallelism: 8, pageSize: 250, ownsDestination: true, ...over,
  });
  const putSmall = (key: string, body: string) => direct.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: key, Body: body }));
  async function untilDone(s3: S3Client, spec: CopySpec, budgetMs: number): Promise<{ progress: CopyProgress; syncs: number }> {
    let p = start;
    let syncs = 0;
    for (let done = false; !done; syncs += 1) { assert.ok(syncs < 30, 'bounded'); ({ progress: p, done } = await copyStep(s3, spec, p, budgetMs)); }
    return { progress: p, syncs };
  }

  it('objects after a large one still under way are counted once, in the sync that passes them (the manifest\'s counts are exact)', async () => {
    const src = 'document_library/20097/20121/50001/';
    await direct.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: `${src}a-big`, Body: Buffer.alloc(50 * MiB, 5) }));
    for (const k of ['b', 'c', 'd']) await putSmall(`${src}${k}`, `small ${k}`);
    proxy.partDelayMs = 400;
    try {
      const { progress, syncs } = await untilDone(client(proxy.endpoint), slowSpec(src, 'retail/prd/count-1/dl/'), 300);
      assert.ok(syncs >= 2, `the large object took ${syncs} syncs`);
      assert.equal(progress.copied + progress.alreadyThere, 4, JSON.stringify(progress));
      assert.equal(progress.bytes + (progress.alreadyBytes ?? 0), 50 * MiB + 3 * 'small b'.length);
    } finally { proxy.partDelayMs = 0; }
  });

  it('an incremental backup whose first object is a large one under way: the unchanged objects after it are referenced once, no failure', async () => {
    const src = 'document_library/20097/20121/50002/';
    await direct.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: `${src}a-big`, Body: Buffer.alloc(50 * MiB, 6) }));
    for (const k of ['b', 'c']) {
      await putSmall(`${src}${k}`, `unchanged ${k}`);
      await direct.send(new CopyObjectCommand({ Bucket: 'lc2-backups', Key: `retail/prd/base-2/dl/${k}`, CopySource: `liferay-dl/${src}${k}` }));
    }
    proxy.partDelayMs = 400;
    try {
      const spec = slowSpec(src, 'retail/prd/inc-2/dl/', { base: { prefix: 'retail/prd/base-2/dl/', refsPrefix: 'retail/prd/inc-2/refs/' } });
      const { progress, syncs } = await untilDone(client(proxy.endpoint), spec, 300);
      assert.ok(syncs >= 2, `the large object took ${syncs} syncs`);
      assert.deepEqual([progress.copied, progress.alreadyThere, progress.referenced], [1, 0, 2], JSON.stringify(progress));
      const pages = (await direct.send(new ListObjectsV2Command({ Bucket: 'lc2-backups', Prefix: 'retail/prd/inc-2/refs/' }))).Contents ?? [];
      const entries = [];
      for (const page of pages) entries.push(...JSON.parse(await (await direct.send(new GetObjectCommand({ Bucket: 'lc2-backups', Key: page.Key! }))).Body!.transformToString()) as unknown[]);
      assert.deepEqual(entries.map((e) => (e as unknown[])[0]).sort(), ['b', 'c'], 'each unchanged object in exactly one refs entry');
    } finally { proxy.partDelayMs = 0; }
  });

  it('a large object named __proto__ is resumed like any other (no key is special in the kept uploads)', async () => {
    const src = 'document_library/20097/20121/50003/';
    const body = Buffer.alloc(11 * MiB, 7);
    await direct.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: `${src}__proto__`, Body: body }));
    const { progress, syncs } = await untilDone(direct, slowSpec(src, 'retail/prd/proto-1/dl/'), 0);
    assert.equal(progress.copied, 1);
    assert.ok(syncs <= 4, `3 parts, one per sync: ${syncs} syncs`);
    const copy = Buffer.from(await (await direct.send(new GetObjectCommand({ Bucket: 'lc2-backups', Key: 'retail/prd/proto-1/dl/__proto__' }))).Body!.transformToByteArray());
    assert.ok(copy.equals(body));
  });

  it('a kept upload whose source is deleted mid-copy is ended when the copy passes it', async () => {
    const src = 'document_library/20097/20121/50004/';
    await direct.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: `${src}gone`, Body: Buffer.alloc(11 * MiB, 8) }));
    const spec = slowSpec(src, 'retail/prd/gone-1/dl/');
    const first = await copyStep(direct, spec, start, 0);
    assert.equal(first.done, false);
    assert.equal((await uploadsOf('lc2-backups', 'retail/prd/gone-1/dl/gone')).length, 1, 'under way');
    await direct.send(new DeleteObjectCommand({ Bucket: 'liferay-dl', Key: `${src}gone` }));
    const next = await copyStep(direct, spec, first.progress, 0);
    assert.equal(next.done, true);
    assert.equal(next.progress.uploads, undefined);
    assert.deepEqual(await uploadsOf('lc2-backups', 'retail/prd/gone-1/dl/gone'), [], 'ended, not left to be billed');
  });

  it('keys in S3\'s order, not JavaScript\'s: a large object after a full-width key is continued, not restarted every sync', async () => {
    // "！" (U+FF01) sorts before "😀" in UTF-8 (S3's order) but after it in UTF-16 (JavaScript's).
    const src = 'document_library/20097/20121/50005/';
    await putSmall(`${src}！a`, 'small');
    await direct.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: `${src}😀big`, Body: Buffer.alloc(50 * MiB, 9) }));
    proxy.parts.clear();
    proxy.partDelayMs = 400;
    try {
      const { progress, syncs } = await untilDone(client(proxy.endpoint), slowSpec(src, 'retail/prd/order-1/dl/'), 300);
      assert.ok(syncs >= 2, `the large object took ${syncs} syncs`);
      assert.equal(progress.copied + progress.alreadyThere, 2);
      const parts = [...proxy.parts].filter(([k]) => k.includes('order-1'));
      assert.equal(parts.length, 10, 'ten parts');
      assert.ok(parts.every(([, n]) => n === 1), `each part once: ${JSON.stringify(parts)}`);
    } finally { proxy.partDelayMs = 0; }
  });

  it('a kept upload past the last key when the copy ends (its source deleted) is ended too', async () => {
    const src = 'document_library/20097/20121/50006/';
    await direct.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: `${src}a-big`, Body: Buffer.alloc(45 * MiB, 10) }));
    await putSmall(`${src}b`, 'b');
    await direct.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: `${src}z-big`, Body: Buffer.alloc(45 * MiB, 11) }));
    const spec = slowSpec(src, 'retail/prd/tail-1/dl/');
    proxy.partDelayMs = 400;
    try {
      // Both large objects begin (8 of their 9 parts each) and are kept; the cursor stays before a-big.
      const first = await copyStep(client(proxy.endpoint), spec, start, 300);
      assert.deepEqual(Object.keys(first.progress.uploads ?? {}).sort(), ['a-big', 'z-big']);
      await direct.send(new DeleteObjectCommand({ Bucket: 'liferay-dl', Key: `${src}z-big` }));
      let p = first.progress;
      for (let done = false, n = 0; !done; n += 1) { assert.ok(n < 10); ({ progress: p, done } = await copyStep(client(proxy.endpoint), spec, p, 300)); }
      assert.equal(p.uploads, undefined);
      assert.equal(p.copied + p.alreadyThere, 2);
      assert.deepEqual(await uploadsOf('lc2-backups', 'retail/prd/tail-1/dl/z-big'), [], 'ended, not left to be billed');
    } finally { proxy.partDelayMs = 0; }
  });

  it('a bare 412 (a source changed between the listing and the copy; the SDK cannot name it) is retried, not Failed', () => {
    const e = Object.assign(new Error('UnknownError'), { name: 'Unknown', $metadata: { httpStatusCode: 412 } });
    assert.equal(classify(e).retryable, true);
    assert.equal(classify(Object.assign(new Error('x'), { name: 'Unknown', $metadata: { httpStatusCode: 400 } })).retryable, false);
  });
});
