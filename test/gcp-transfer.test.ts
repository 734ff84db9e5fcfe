// Storage Transfer Service jobs of the GCP provider, through the REAL @google-cloud/storage-transfer
// client (REST fallback) against an in-repo FAKE of the service (test/support/fakeStorageTransfer.ts,
// which follows the v1 REST reference, "Filter by prefix" and "Scheduling"; no emulator exists),
// copying between buckets of a real fake-gcs-server. Also the exclusions → excludePrefixes translation.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeGcs, objectsUnder, type FakeGcs } from './support/fakeGcs.ts';
import { startFakeStorageTransfer, type FakeStorageTransfer } from './support/fakeStorageTransfer.ts';
import { gcpClients, type GcpClients } from '../providers/gcp/clients.ts';
import { ensureJob, observeJob, deleteJob, RUN_START_LIMIT_MS, type TransferTarget } from '../providers/gcp/transfer.ts';
import { excludePrefixes, prefixPatternProblem } from '../providers/gcp/excludePrefixes.ts';
import { transferJobName } from '../providers/gcp/ids.ts';
import { classify } from '../providers/gcp/errors.ts';
import { LIFERAY_GENERATED_PATTERNS } from '../core/exclusions.ts';

const PROJECT = 'lc2-test-project';
let gcs: FakeGcs;
let sts: FakeStorageTransfer;
let c: GcpClients;

const target = (uid: string, over: Partial<TransferTarget> = {}): TransferTarget => ({
  name: transferJobName(uid, 'dl'), project: PROJECT, description: `lc2:${uid}`, sourceBucket: 'liferay-dl', sourcePath: 'document_library/',
  sinkBucket: 'lc2-backups', sinkPath: `retail/prd/b-${uid.slice(-4)}/dl/`, excludePrefixes: [], ...over,
});

async function until<T extends { state: string }>(f: () => Promise<T>, max = 40): Promise<T> {
  for (let i = 0; i < max; i += 1) { const o = await f(); if (o.state !== 'running') return o; }
  throw new Error('still running');
}

before(async () => {
  gcs = await startFakeGcs();
  sts = await startFakeStorageTransfer(gcs.storage);
  c = gcpClients({ project: PROJECT, transferEndpoint: sts.endpoint, storageEndpoint: gcs.endpoint, callTimeoutMs: 4000, defaultDatabase: 'lportal', leaseTtlMs: 20_000 });
  for (const b of ['liferay-dl', 'lc2-backups']) await gcs.storage.createBucket(b);
  const put = (k: string, body: string) => gcs.storage.bucket('liferay-dl').file(k).save(body, { resumable: false });
  for (let i = 0; i < 12; i += 1) await put(`document_library/20097/20121/${i}/1.0`, `original ${i}`);
  await put('document_library/20097/0/document_thumbnail/1/1.0', 'thumb');
  await put('document_library/20097/0/adaptive/1/1.0', 'rendition');
  await put('document_library/0/document_preview/x', 'root preview');
  await put('other/outside', 'not in the library');
});

after(async () => { await sts?.close(); await gcs?.stop(); });

describe('GCP Storage Transfer jobs (fake STS through the real client, fake-gcs-server)', () => {
  it('translates the Liferay exclusions into prefixes at the root and under each company folder, none a prefix of another', () => {
    assert.deepEqual(excludePrefixes(LIFERAY_GENERATED_PATTERNS, ['20097/', '30000/']), [
      '0/adaptive/', '0/document_preview/', '0/document_thumbnail/',
      '20097/0/adaptive/', '20097/0/document_preview/', '20097/0/document_thumbnail/',
      '30000/0/adaptive/', '30000/0/document_preview/', '30000/0/document_thumbnail/',
    ]);
    assert.deepEqual(excludePrefixes(['/tmp/**', '/tmp/a/**'], ['x/']), ['tmp/'], 'anchored: not expanded, and a covered prefix dropped');
    assert.equal(prefixPatternProblem('*.tmp'), '"*.tmp": the gcp provider excludes by prefix only (Storage Transfer has no wildcards); write it as "folder/**" or "/folder/**"');
    assert.equal(prefixPatternProblem('0/adaptive/**'), undefined);
  });

  it('three concurrent creates make one job and one run; ALREADY_EXISTS (10 over REST) is adopted after a read; the copy honours the exclusions', async () => {
    const uid = '11111111-aaaa-4bbb-8ccc-000000000001';
    const prefixes = excludePrefixes(LIFERAY_GENERATED_PATTERNS, ['20097/']);
    const t = target(uid, { excludePrefixes: prefixes });
    await Promise.all([ensureJob(c, t), ensureJob(c, t), ensureJob(c, t)]);
    assert.equal(sts.accepted.get('POST /v1/transferJobs'), 1);
    assert.equal(sts.received.get('POST /v1/transferJobs'), 3);
    assert.equal(sts.runs.size, 1, 'the one-time schedule started exactly one run');
    assert.equal(sts.received.get('POST /v1/transferJobs/*:run') ?? 0, 0, 'runTransferJob never called');
    const done = await until(() => observeJob(c, t));
    assert.equal(done.state, 'done', JSON.stringify(done));
    if (done.state !== 'done') return;
    assert.deepEqual(done.result.counts, { found: 12, copied: 12, skipped: 0, failed: 0, bytesCopied: done.result.counts.bytesCopied, bytesSkipped: 0 });
    const copied = await objectsUnder(gcs.storage, 'lc2-backups', t.sinkPath);
    assert.deepEqual([...copied.keys()].sort(), Array.from({ length: 12 }, (_, i) => `${t.sinkPath}20097/20121/${i}/1.0`).sort());
    assert.equal(copied.get(`${t.sinkPath}20097/20121/3/1.0`)?.toString(), 'original 3');
    assert.ok([...sts.writes.values()].every((n) => n === 1));
  });

  it('objects already in the sink are skipped by sync and counted apart from those found: SUCCESS with found 7, copied 7, skipped 5 is done', async () => {
    const uid = '11111111-aaaa-4bbb-8ccc-000000000005';
    const t = target(uid, { sourcePath: 'document_library/20097/20121/' });
    // An approved overwrite into a prefix already holding 5 identical objects.
    for (let i = 0; i < 5; i += 1) await gcs.storage.bucket('liferay-dl').file(`document_library/20097/20121/${i}/1.0`).copy(gcs.storage.bucket('lc2-backups').file(`${t.sinkPath}${i}/1.0`));
    await ensureJob(c, t);
    const done = await until(() => observeJob(c, t));
    assert.equal(done.state, 'done', JSON.stringify(done));
    if (done.state !== 'done') return;
    assert.deepEqual([done.result.counts.found, done.result.counts.copied, done.result.counts.skipped, done.result.counts.failed], [7, 7, 5, 0]);
    assert.equal((await objectsUnder(gcs.storage, 'lc2-backups', t.sinkPath)).size, 12);
  });

  it('a job whose one-time run does not start (a create across midnight UTC, a skewed clock) fails with the reason and is deleted: never a wait without end', async () => {
    const day = 86_400_000;
    // The hook's clock a day behind: the start date has passed, the service never runs it.
    const behind = target('11111111-aaaa-4bbb-8ccc-000000000006');
    await ensureJob(c, behind, new Date(Date.now() - day));
    assert.equal(sts.jobs.get(behind.name)?.latestOperationName, undefined, 'no run');
    const past = await observeJob(c, behind);
    assert.deepEqual(past.state === 'failed' ? [past.reason, past.retryable] : past.state, ['TransferNotStarted', false]);
    assert.match(past.state === 'failed' ? past.message : '', /a day that has passed/);
    assert.equal(sts.jobs.get(behind.name)?.status, 'DELETED', 'it never starts later into the folder');
    // A day ahead (or created just before midnight): waits, with its first wait recorded, then gives up after the bound.
    const ahead = target('11111111-aaaa-4bbb-8ccc-000000000007');
    await ensureJob(c, ahead, new Date(Date.now() + day));
    const waiting = await observeJob(c, ahead);
    assert.equal(waiting.state, 'running');
    const since = waiting.state === 'running' ? (waiting.progress as { waitingSince?: string } | undefined)?.waitingSince : undefined;
    assert.ok(since && Math.abs(Date.parse(since) - Date.now()) < 60_000, String(since));
    assert.equal((await observeJob(c, ahead, undefined, since)).state, 'running', 'within the bound');
    const late = await observeJob(c, ahead, undefined, since, new Date(Date.parse(since!) + RUN_START_LIMIT_MS + 60_000));
    assert.deepEqual(late.state === 'failed' ? [late.reason, late.retryable] : late.state, ['TransferNotStarted', false]);
    assert.equal(sts.jobs.get(ahead.name)?.status, 'DELETED');
    assert.equal(sts.received.get('POST /v1/transferJobs/*:run') ?? 0, 0, 'runTransferJob never called');
  });

  it('a job under our name that another request made is an OwnershipConflict, never adopted', async () => {
    const uid = '11111111-aaaa-4bbb-8ccc-000000000002';
    await ensureJob(c, target(uid, { description: 'lc2:someone-else' }));
    await assert.rejects(ensureJob(c, target(uid)), (e: Error) => e.name === 'OwnershipConflict');
    const k = classify(Object.assign(new Error('x'), { name: 'OwnershipConflict' }));
    assert.equal(k.retryable, false);
  });

  it('a run with failed objects fails with its counters in the message; the job is deleted only once its run is over', async () => {
    const uid = '11111111-aaaa-4bbb-8ccc-000000000003';
    sts.config.failKey = (key) => key.endsWith('/5/1.0');
    try {
      const t = target(uid);
      await ensureJob(c, t);
      const obs = await until(() => observeJob(c, t));
      assert.equal(obs.state, 'failed');
      if (obs.state !== 'failed') return;
      assert.equal(obs.retryable, false);
      assert.match(obs.message, /ended FAILED: 15 objects found, 14 copied, 0 already there, 1 failed/);
    } finally { sts.config.failKey = () => false; }

    const slow = target('11111111-aaaa-4bbb-8ccc-000000000004');
    sts.config.polls = 50;
    try {
      await ensureJob(c, slow);
      // Running: not deleted - its run is cancelled first, and the delete waits.
      assert.equal(await deleteJob(c, slow), false);
      assert.equal(sts.jobs.get(slow.name)?.status, 'ENABLED');
      assert.equal(await deleteJob(c, slow), true);
      assert.equal(sts.jobs.get(slow.name)?.status, 'DELETED');
      assert.equal(await deleteJob(c, slow), true, 'a second delete is done');
    } finally { sts.config.polls = 2; }
  });

  it('throttling and dropped connections are retryable; a missing job is not', async () => {
    sts.faults.share = 1;
    try {
      const e = await c.transfer.getJob('transferJobs/lc2-nothing-dl').then(() => undefined, (x: unknown) => x);
      assert.equal(classify(e).retryable, true, JSON.stringify(classify(e)));
    } finally { sts.faults.share = 0; }
    const e = await c.transfer.getJob('transferJobs/lc2-nothing-dl').then(() => undefined, (x: unknown) => x);
    assert.deepEqual([classify(e).reason, classify(e).retryable], ['NotFound', false]);
  });
});
