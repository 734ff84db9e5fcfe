// The AWS provider's server-side document-library copy against moto S3, through a proxy that
// counts the copy requests moto received: a library of 20,000 objects (LC2_TEST_COPY_FILES) copied
// across many syncs with a small time budget - resumed from the cursor, no object copied twice or
// missed, exclusions applied, every 50th object through the multipart path (threshold lowered) -
// then replays, concurrency, large multipart objects and faults on one folder of it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { startS3, type S3Server } from './support/processes.ts';
import { allKeys } from './support/s3Keys.ts';
import { startS3Proxy, type S3Proxy } from './support/s3Proxy.ts';
import { copyStep, type CopyProgress, type CopySpec } from '../providers/aws/s3Copy.ts';
import { abortUploadsUnder, checkSse } from '../providers/aws/multipartCopy.ts';
import { classify } from '../providers/aws/rds.ts';
import { isOwnEntry } from '../core/layout.ts';
import { excluder } from '../core/glob.ts';
import { LIFERAY_GENERATED_PATTERNS } from '../core/exclusions.ts';
import { sampleDocumentLibrary } from '../demo/sample.ts';

const OBJECTS = Number(process.env.LC2_TEST_COPY_FILES ?? 20000);
let server: S3Server;
let proxy: S3Proxy;
let direct: S3Client;
let viaProxy: S3Client;
// Originals of 64 bytes, every 50th of 100 (above the lowered multipart threshold of 80).
const files = sampleDocumentLibrary(Math.round(OBJECTS / 1.9), (i) => (i % 50 === 0 ? 100 : 64));
const originals = files.filter((f) => !f.generated);
/** One folder of the library (file entries 30100-30199) for the replay, concurrency and fault tests. */
const FOLDER = 'document_library/20097/20121/301';
const inFolder = originals.filter((f) => f.key.startsWith(FOLDER));

const client = (endpoint: string, s: S3Server, maxAttempts = 3) => new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', maxAttempts, credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } });
const spec = (destinationPrefix: string, over: Partial<CopySpec> = {}): CopySpec => ({
  sourceBucket: 'liferay-dl', sourcePrefix: 'document_library/', destinationBucket: 'lc2-backups', destinationPrefix,
  exclude: excluder(LIFERAY_GENERATED_PATTERNS), multipartThreshold: 5 * 1024 ** 3, partSize: 512 * 1024 ** 2, parallelism: 16, pageSize: 100, ...over,
});
const start: CopyProgress = { copied: 0, alreadyThere: 0, excluded: 0, bytes: 0 };
const folder = (destinationPrefix: string, over: Partial<CopySpec> = {}) => spec(destinationPrefix, { sourcePrefix: FOLDER, ...over });

const keys = (bucket: string, prefix: string) => allKeys(direct, bucket, prefix);

before(async () => {
  server = await startS3();
  proxy = await startS3Proxy(server.endpoint);
  direct = client(server.endpoint, server);
  viaProxy = client(proxy.endpoint, server, 6);
  for (const b of ['liferay-dl', 'lc2-backups']) await direct.send(new CreateBucketCommand({ Bucket: b }));
  for (let i = 0; i < files.length; i += 32) {
    await Promise.all(files.slice(i, i + 32).map((f) => direct.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: f.key, Body: f.body }))));
  }
});
after(async () => { await proxy?.close(); await server?.stop(); });

describe(`S3 server-side copy (${files.length} objects)`, () => {
  it('copies across many syncs with a small time budget: every original exactly once, no generated file', async () => {
    proxy.copies.clear();
    let progress = start;
    let syncs = 0;
    for (let done = false; !done; syncs += 1) ({ progress, done } = await copyStep(viaProxy, spec('retail/prd/b1/dl/', { multipartThreshold: 80, pageSize: 500 }), progress, 1000));
    assert.ok(syncs > 3, `resumed across ${syncs} syncs`);
    assert.equal(progress.copied, originals.length);
    assert.equal(progress.bytes, originals.reduce((n, f) => n + f.body.length, 0));
    assert.equal(progress.excluded, files.length - originals.length);
    const copied = await keys('lc2-backups', 'retail/prd/b1/dl/');
    assert.deepEqual(copied, originals.map((f) => `retail/prd/b1/dl/${f.key.slice('document_library/'.length)}`).sort());
    assert.equal(proxy.copies.size, originals.length, 'one copy request path per original');
    assert.ok([...proxy.copies.values()].every((n) => n === 1), 'no object copied twice');
    for (const f of [...originals.slice(0, 20), ...originals.filter((o) => o.body.length === 100).slice(0, 20)]) {
      const body = await (await direct.send(new GetObjectCommand({ Bucket: 'lc2-backups', Key: `retail/prd/b1/dl/${f.key.slice('document_library/'.length)}` }))).Body!.transformToByteArray();
      assert.ok(Buffer.from(body).equals(f.body));
    }
  });

  it('a stale sync replayed 10 times from an old cursor copies nothing again', async () => {
    proxy.copies.clear();
    const stale = { ...start };
    const b5 = (p: CopyProgress) => copyStep(viaProxy, folder('retail/prd/b5/dl/', { multipartThreshold: 80 }), p, 10_000);
    for (let p = start, done = false; !done;) ({ progress: p, done } = await b5(p));
    proxy.copies.clear();
    for (let i = 0; i < 10; i += 1) {
      let p = stale;
      for (let done = false; !done;) ({ progress: p, done } = await b5(p));
      assert.equal(p.copied, 0);
      assert.equal(p.alreadyThere, inFolder.length);
    }
    assert.equal(proxy.copies.size, 0);
  });

  it('two concurrent syncs of the same step both finish and leave exactly one copy of each object', async () => {
    proxy.copies.clear();
    const run = async () => { let p = start; for (let done = false; !done;) ({ progress: p, done } = await copyStep(viaProxy, folder('retail/prd/b2/dl/', { pageSize: 10 }), p, 10_000)); return p; };
    const [a, b] = await Promise.all([run(), run()]);
    assert.equal(a.copied + a.alreadyThere, inFolder.length);
    assert.equal(b.copied + b.alreadyThere, inFolder.length);
    assert.deepEqual((await keys('lc2-backups', 'retail/prd/b2/dl/')).length, inFolder.length);
  });

  it('objects above the multipart threshold are copied with UploadPartCopy, byte-identical', async () => {
    const big = Buffer.alloc(12 * 1024 * 1024, 7);
    big.write('lc2 multipart copy', 1234);
    await direct.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: 'big/20097/20121/99999/1.0', Body: big }));
    proxy.copies.clear();
    let p = start;
    for (let done = false; !done;) ({ progress: p, done } = await copyStep(viaProxy, spec('retail/prd/b3/', { sourcePrefix: 'big/', multipartThreshold: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024 }), p, 10_000));
    assert.equal(p.copied, 1);
    const path = '/lc2-backups/retail/prd/b3/20097/20121/99999/1.0';
    assert.equal(proxy.copies.get(path), 3, 'three UploadPartCopy requests (5 + 5 + 2 MiB)');
    const copy = Buffer.from(await (await direct.send(new GetObjectCommand({ Bucket: 'lc2-backups', Key: 'retail/prd/b3/20097/20121/99999/1.0' }))).Body!.transformToByteArray());
    assert.ok(copy.equals(big));
    // Replayed: the recorded source ETag says it is there; nothing is copied again.
    proxy.copies.clear();
    let again = start;
    for (let done = false; !done;) ({ progress: again, done } = await copyStep(viaProxy, spec('retail/prd/b3/', { sourcePrefix: 'big/', multipartThreshold: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024 }), again, 10_000));
    assert.equal(again.alreadyThere, 1);
    assert.equal(proxy.copies.size, 0);
  });

  it('a backup folder about to be deleted has its unfinished multipart uploads ended (they are not objects, yet stored), and only its own', async () => {
    // b9-other is a neighbour; b9/nested-x/ a backup nested in b9's folder: another backup's, left alone.
    for (const key of ['retail/prd/b9/dl/a/1.0', 'retail/prd/b9/dl/b/1.0', 'retail/prd/b9-other/dl/a/1.0', 'retail/prd/b9/nested-x/dl/a/1.0']) {
      await direct.send(new CreateMultipartUploadCommand({ Bucket: 'lc2-backups', Key: key }));
    }
    const location = { bucket: 'lc2-backups', prefix: 'retail/prd/b9/' };
    assert.equal(await abortUploadsUnder(direct, 'lc2-backups', location.prefix, 5000, (key) => isOwnEntry(location, key)), 2);
    const left = (await direct.send(new ListMultipartUploadsCommand({ Bucket: 'lc2-backups', Prefix: 'retail/prd/b9' }))).Uploads ?? [];
    assert.deepEqual(left.map((u) => u.Key).sort(), ['retail/prd/b9-other/dl/a/1.0', 'retail/prd/b9/nested-x/dl/a/1.0']);
  });

  it('with throttling, 500s and dropped connections on a share of requests, the copy still completes without duplicates', async () => {
    proxy.copies.clear();
    proxy.faults.share = 0.1;
    let p = start;
    let failures = 0;
    try {
      for (let done = false; !done;) {
        try { ({ progress: p, done } = await copyStep(viaProxy, folder('retail/prd/b4/dl/', { pageSize: 10 }), p, 200)); } catch { failures += 1; /* the next sync resumes from the cursor */ }
        assert.ok(failures < 200, 'bounded retries');
      }
    } finally { proxy.faults.share = 0; }
    assert.ok(proxy.faults.seen > 0, 'faults were injected');
    assert.deepEqual((await keys('lc2-backups', 'retail/prd/b4/dl/')).length, inFolder.length);
    assert.ok([...proxy.copies.values()].every((n) => n === 1), `no successful copy twice: ${JSON.stringify([...proxy.copies].filter(([, n]) => n > 1).slice(0, 3))}`);
  });

  it('a checkpoint a tenant plants is not believed: with a secret only one the hook signed for this very step counts; a finish time is a plain past UTC time', async () => {
    const { leasedStep } = await import('../providers/aws/lease.ts');
    const key = 'signed/results/transfer-progress';
    let ran = 0;
    const run = async (p: typeof start) => { ran += 1; return { progress: { ...p, after: 'z' }, done: true }; };
    // Planted "done" (unsigned): ignored, the step runs.
    await direct.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: `${key}.json`, Body: JSON.stringify({ progress: { ...start, copied: 999 }, done: true, completedAt: '2099-01-01T00:00:00Z' }) }));
    const first = await leasedStep(direct, 'lc2-backups', key, 60_000, 4000, start, (p) => p.after ?? '', run, 'secret-1');
    assert.equal(ran, 1, 'the planted checkpoint was not believed');
    assert.equal(first.progress.copied, 0);
    assert.ok(first.completedAt && Date.parse(first.completedAt) <= Date.now());
    // The genuine one is believed by a later sync (no second run) and keeps its finish time.
    const again = await leasedStep(direct, 'lc2-backups', key, 60_000, 4000, start, (p) => p.after ?? '', run, 'secret-1');
    assert.equal(ran, 1);
    assert.equal(again.completedAt, first.completedAt);
    // Copied into another backup's folder, it is not believed there.
    const genuine = await direct.send(new GetObjectCommand({ Bucket: 'lc2-backups', Key: `${key}.json` }));
    await direct.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: 'other/results/transfer-progress.json', Body: await genuine.Body!.transformToString() }));
    await leasedStep(direct, 'lc2-backups', 'other/results/transfer-progress', 60_000, 4000, start, (p) => p.after ?? '', run, 'secret-1');
    assert.equal(ran, 2);
    // Without a secret (single-process tests), a finish time that is not a plain past UTC time is dropped.
    await direct.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: 'odd/x.json', Body: JSON.stringify({ progress: start, done: true, completedAt: '+275760-09-13' }) }));
    const odd = await leasedStep(direct, 'lc2-backups', 'odd/x', 60_000, 4000, start, (p) => p.after ?? '', run);
    assert.equal(odd.completedAt, undefined);
  });

  it('bookkeeping a tenant could plant is capped and checked: a huge lease or checkpoint is refused unread, a refs entry\'s size is never believed', async () => {
    const { leaseHeldUntil, leasedStep } = await import('../providers/aws/lease.ts');
    const { copyReferenced, refsPageKey } = await import('../providers/aws/s3Copy.ts');
    const huge = Buffer.alloc(8 * 1024 * 1024, 'x');
    await direct.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: 'planted/results/transfer-progress.lease', Body: huge }));
    await direct.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: 'planted/results/transfer-progress.json', Body: huge }));
    const rss = process.memoryUsage().rss;
    await assert.rejects(leaseHeldUntil(direct, 'lc2-backups', 'planted/results/transfer-progress', 4000, 60_000), { name: 'BookkeepingInvalid' });
    await assert.rejects(leasedStep(direct, 'lc2-backups', 'planted/results/transfer-progress', 60_000, 4000, start, () => '', async (p) => ({ progress: p, done: true })), { name: 'BookkeepingInvalid' });
    assert.ok(process.memoryUsage().rss - rss < 64 * 1024 ** 2, 'never buffered');
    // A lease claiming to last for ever counts only for its ttl.
    await direct.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: 'forever/x.lease', Body: JSON.stringify({ holder: 'h', until: '9999-01-01T00:00:00Z' }) }));
    const until = await leaseHeldUntil(direct, 'lc2-backups', 'forever/x', 4000, 60_000);
    assert.ok(until && Date.parse(until) <= Date.now() + 61_000, `clamped: ${until}`);
    // A refs page naming an absurd size: the object's own size (HEAD) is what is copied, at once.
    const f = originals[0]!;
    const rel = f.key.slice('document_library/'.length);
    await direct.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: refsPageKey('absurd/refs/', 'x'), Body: JSON.stringify([[rel, 5e12, '"etag"'], ['../escape', 1, 'e'], [rel, 1e300, 'e']]) }));
    const out = await copyReferenced(direct, { ...spec('restored/'), sourceBucket: 'liferay-dl', sourcePrefix: 'document_library/', refsBucket: 'lc2-backups', refsPrefix: 'absurd/refs/' }, start, 10_000);
    assert.equal(out.done, true);
    assert.equal(out.progress.copied, 1, 'only the well-formed entry, with its real size');
    assert.equal(out.progress.bytes, f.body.length);
  });
});

describe('SSE-KMS with the customer key', () => {
  const arn = 'arn:aws:kms:us-east-1:123456789012:key/0b7c6c5e-1f5e-4d3a-9a35-2b1c0f0e9d11';
  it('an answer without SSE-KMS, or with another key, fails the copy for good, with what to check', () => {
    assert.doesNotThrow(() => checkSse(arn, 'k', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: arn }));
    assert.doesNotThrow(() => checkSse(undefined, 'k', {}), 'no key asked for: nothing to check');
    for (const out of [{}, { ServerSideEncryption: 'AES256' }, { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: `${arn}0` }]) {
      let err: unknown;
      try { checkSse(arn, 'retail/prd/b/dl/x', out); } catch (e) { err = e; }
      assert.equal((err as Error | undefined)?.name, 'EncryptionNotApplied', JSON.stringify(out));
      const c = classify(err);
      assert.equal(c.retryable, false);
      assert.match(c.message, /did not encrypt a copy with the project's KMS key/);
    }
  });
});
