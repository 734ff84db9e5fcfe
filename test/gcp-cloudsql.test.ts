// Cloud SQL backups and exports of the GCP provider, through the REAL @googleapis/sqladmin client
// against an in-repo FAKE of the Cloud SQL Admin API v1 (test/support/fakeCloudSql.ts, which follows
// the v1 REST reference for backups, instances.export, instances.restoreBackup and operations; no
// emulator exists), with leases, records and exports in a real fake-gcs-server.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { startFakeGcs, type FakeGcs } from './support/fakeGcs.ts';
import { startFakeCloudSql, type FakeCloudSql } from './support/fakeCloudSql.ts';
import { startFakeStorageTransfer, type FakeStorageTransfer } from './support/fakeStorageTransfer.ts';
import { gcpClients, type GcpClients } from '../providers/gcp/clients.ts';
import type { GcpProviderConfig } from '../providers/gcp/config.ts';
import { deleteBackup, observeBackup, type BackupProgress } from '../providers/gcp/cloudSql.ts';
import { observeExport } from '../providers/gcp/cloudSqlExport.ts';
import { backupTarget, deleteGcpExternal, exportTarget, observeGcpBackupStep, quiesceGcp, verifyGcpExternal } from '../providers/gcp/backup.ts';
import type { BackupRequest } from '../core/crd.ts';
import { classify } from '../providers/gcp/errors.ts';
import { withLease } from '../providers/gcp/lease.ts';
import { ensureJob } from '../providers/gcp/transfer.ts';
import { transferTarget } from '../providers/gcp/backup.ts';
import { gcpRestorePreflight, observeGcpRestoreStep } from '../providers/gcp/restore.ts';
import { restoreRequest } from './support/resources.ts';
import type { RestoreContext } from '../core/provider.ts';
import type { BackupContext } from '../core/provider.ts';
import type { BackupRequestSpec } from '../core/crd.ts';
import type { Observation } from '../core/provider.ts';

const PROJECT = 'lc2-test-project';
let gcs: FakeGcs;
let sql: FakeCloudSql;
let sts: FakeStorageTransfer;
let c: GcpClients;
let config: GcpProviderConfig;

const spec = (over: Partial<BackupRequestSpec['database']> = {}): BackupRequestSpec => ({
  projectId: 'retail', environment: 'prd', provider: 'gcp',
  database: { type: 'snapshot', instanceId: 'retail-prd-db', export: {}, ...over },
  documentLibrary: { sourceBucket: 'liferay-dl', destinationBucket: 'lc2-backups' },
});
const ctxFor = (uid: string, s = spec()): BackupContext => ({ name: 'b', uid, spec: s, location: { bucket: 'lc2-backups', prefix: `retail/prd/b-${uid.slice(-6)}/` } });

/** Syncs until not running, carrying progress as the machine does; `width` syncs at once each round. */
async function settle<R>(sync: (progress: Record<string, unknown>) => Promise<Observation<R>>, width = 1, rounds = 40): Promise<Observation<R>> {
  let progress: Record<string, unknown> = {};
  for (let i = 0; i < rounds; i += 1) {
    const all = await Promise.all(Array.from({ length: width }, () => sync(progress)));
    const done = all.find((o) => o.state !== 'running');
    if (done) return done;
    const withProgress = all.find((o) => o.state === 'running' && o.progress);
    if (withProgress?.state === 'running' && withProgress.progress) progress = { ...progress, ...withProgress.progress };
  }
  throw new Error('still running');
}

before(async () => {
  gcs = await startFakeGcs();
  sql = await startFakeCloudSql(gcs.storage, PROJECT);
  sts = await startFakeStorageTransfer(gcs.storage);
  config = { project: PROJECT, sqlAdminEndpoint: `${sql.endpoint}/`, transferEndpoint: sts.endpoint, storageEndpoint: gcs.endpoint, callTimeoutMs: 4000, defaultDatabase: 'lportal', leaseTtlMs: 20_000 };
  c = gcpClients(config);
  await gcs.storage.createBucket('lc2-backups');
  sql.addInstance('retail-prd-db', 'POSTGRES_15');
  sql.addInstance('other-db', 'MYSQL_8_0');
  // Other backups of the instance, some with descriptions that look like ours: paging must find the right one.
  for (let i = 0; i < 5; i += 1) sql.addBackup({ instance: 'retail-prd-db', description: `lc2:not-this-one-${i}` });
});

after(async () => { await sts?.close(); await sql?.close(); await gcs?.stop(); });

describe('GCP Cloud SQL backups and exports (fake Cloud SQL Admin through the real client)', () => {
  it('five concurrent syncs per round from nothing: one CreateBackup, found again by its description, done once SUCCESSFUL', async () => {
    const ctx = ctxFor('22222222-aaaa-4bbb-8ccc-000000000001');
    const t = backupTarget(ctx, config);
    const obs = await settle((p) => observeBackup(c, t, p as BackupProgress), 5);
    assert.equal(obs.state, 'done', JSON.stringify(obs));
    assert.equal(sql.accepted.get('POST /v1/projects/lc2-test-project/backups'), 1, 'exactly one backup created');
    const ours = [...sql.backups.values()].filter((b) => b.description === `lc2:${ctx.uid} project=retail`);
    assert.equal(ours.length, 1);
    if (obs.state === 'done') {
      assert.equal(obs.result.name, ours[0]!.name);
      assert.equal(obs.result.engine, 'postgresql');
    }
    // A later sync with no progress at all (a stale parent) adopts it: still one.
    const again = await observeBackup(c, t, {});
    assert.equal(again.state, 'done');
    assert.equal(sql.accepted.get('POST /v1/projects/lc2-test-project/backups'), 1);
  });

  it('the lease: one holder at a time, an expired one taken over, a holder slowed past its lease told not to create', async () => {
    const file = gcs.storage.bucket('lc2-backups').file('lease-test/x.lease');
    const slow = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const [a, b] = await Promise.all([withLease(gcs.storage, 'lc2-backups', 'lease-test/x.lease', 20_000, 1000, async () => { await slow(200); return 'a'; }),
      withLease(gcs.storage, 'lc2-backups', 'lease-test/x.lease', 20_000, 1000, async () => 'b')]);
    assert.deepEqual([a, b].map((r) => r.busy).sort(), [false, true], 'exactly one held it');
    assert.equal((await file.exists())[0], false, 'released');
    // A crashed holder's lease (expired) is taken over; a live one is not.
    await file.save(JSON.stringify({ holder: 'crashed', until: new Date(Date.now() - 1000).toISOString() }), { resumable: false });
    assert.equal((await withLease(gcs.storage, 'lc2-backups', 'lease-test/x.lease', 20_000, 1000, async () => 1)).busy, false);
    await file.save(JSON.stringify({ holder: 'alive', until: new Date(Date.now() + 60_000).toISOString() }), { resumable: false });
    assert.equal((await withLease(gcs.storage, 'lc2-backups', 'lease-test/x.lease', 20_000, 1000, async () => 1)).busy, true);
    await file.delete();
    const held = await withLease(gcs.storage, 'lc2-backups', 'lease-test/x.lease', 2_500, 1000, async (stillHeld) => { const before = stillHeld(); await slow(800); return [before, stillHeld()]; });
    assert.deepEqual(held, { busy: false, value: [true, false] });
  });

  it('a MySQL instance: the engine comes from the backup\'s databaseVersion', async () => {
    const ctx = ctxFor('22222222-aaaa-4bbb-8ccc-000000000005', spec({ instanceId: 'other-db', export: undefined }));
    const obs = await settle((p) => observeBackup(c, backupTarget(ctx, config), p as BackupProgress));
    assert.equal(obs.state, 'done');
    if (obs.state === 'done') assert.equal(obs.result.engine, 'mysql');
  });

  it('another operation on the instance: 409 operationInProgress is observed as running (no attempt counted), never Failed; the backup starts once it ends', async () => {
    const ctx = ctxFor('22222222-aaaa-4bbb-8ccc-000000000002');
    sql.occupy('retail-prd-db', 14); // about two syncs' worth of requests
    const first = await observeGcpBackupStep({ name: 'snapshot', phase: 'SnapshotInProgress', operationId: `lc2:${ctx.uid} project=retail`, children: [] }, ctx, { id: `lc2:${ctx.uid} project=retail`, state: 'Running' }, c, config);
    assert.equal(first.state, 'running', JSON.stringify(first));
    if (first.state === 'running') {
      assert.match(first.message ?? '', /another operation on the instance is running/);
      assert.ok((first.resyncAfterSeconds ?? 0) > 0);
    }
    // The lease was released despite the error: a later sync creates it.
    const obs = await settle((p) => observeBackup(c, backupTarget(ctx, config), p as BackupProgress), 1, 60);
    assert.equal(obs.state, 'done', JSON.stringify(obs));
    assert.equal([...sql.backups.values()].filter((b) => b.description === `lc2:${ctx.uid} project=retail`).length, 1);
  });

  it('a recorded backup that is not ours (another description or instance) is an OwnershipConflict', async () => {
    const foreign = sql.addBackup({ instance: 'other-db', description: 'lc2:someone-else' });
    const ctx = ctxFor('22222222-aaaa-4bbb-8ccc-000000000003');
    const obs = await observeGcpBackupStep({ name: 'snapshot', phase: 'SnapshotInProgress', operationId: `lc2:${ctx.uid} project=retail`, children: [] }, ctx,
      { id: `lc2:${ctx.uid} project=retail`, state: 'Running', progress: { backup: foreign.name } }, c, config);
    assert.equal(obs.state, 'failed');
    if (obs.state === 'failed') assert.deepEqual([obs.reason, obs.retryable], ['OwnershipConflict', false]);
    await assert.rejects(deleteBackup(c, backupTarget(ctx, config), foreign.name), (e: Error) => e.name === 'OwnershipConflict');
    assert.ok(sql.backups.has(foreign.id), 'never deleted');
  });

  it('export: concurrent syncs start one export to the backup\'s own folder; done only with the gzip object there', async () => {
    const ctx = ctxFor('22222222-aaaa-4bbb-8ccc-000000000004');
    const t = exportTarget(ctx, 'lportal', 20_000);
    assert.equal(t.uri, `gs://lc2-backups/${ctx.location.prefix}export/lportal.sql.gz`);
    const before = sql.accepted.get('POST /v1/projects/lc2-test-project/instances/*/export') ?? 0;
    const obs = await settle((p) => observeExport(c, t, p as { operation?: string }), 5);
    assert.equal(obs.state, 'done', JSON.stringify(obs));
    assert.equal((sql.accepted.get('POST /v1/projects/lc2-test-project/instances/*/export') ?? 0) - before, 1, 'exactly one export');
    const [meta] = await gcs.storage.bucket('lc2-backups').file(t.key).getMetadata();
    assert.ok(meta.crc32c && meta.generation);
    if (obs.state === 'done') {
      assert.deepEqual(obs.result, { taskId: t.uri, bucket: 'lc2-backups', prefix: `${ctx.location.prefix}export/`,
        object: { generation: String(meta.generation), crc32c: meta.crc32c, sizeBytes: Number(meta.size) } }, 'the object\'s generation, CRC32C and size recorded');
    }
    const [bytes] = await gcs.storage.bucket('lc2-backups').file(t.key).download();
    assert.match(gunzipSync(bytes).toString(), /fake Cloud SQL export of retail-prd-db \(lportal\)/);
    // A replay with no progress finds the recorded operation: no second export (which would fail on the existing file).
    assert.equal((await observeExport(c, t, {})).state, 'done');
    assert.equal((sql.accepted.get('POST /v1/projects/lc2-test-project/instances/*/export') ?? 0) - before, 1);
  });

  it('a recovery point whose manifest is gone (no instance, no status): its backup is found by description project-wide and deleted; another project\'s never', async () => {
    const ctx = ctxFor('22222222-aaaa-4bbb-8ccc-000000000006', spec({ instanceId: 'other-db', export: undefined }));
    assert.equal((await settle((p) => observeBackup(c, backupTarget(ctx, config), p as BackupProgress))).state, 'done');
    const mine = [...sql.backups.values()].find((b) => b.description === `lc2:${ctx.uid} project=retail`)!;
    // As hooks/tenant/sync.ts deleteWithoutManifest builds it: only the UID, project and folder are known.
    const parentOf = (projectId: string): BackupRequest => ({ apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupRequest', metadata: { name: 'gone', uid: ctx.uid },
      spec: { projectId, environment: 'prd', provider: 'gcp', database: { type: 'snapshot', instanceId: '' }, documentLibrary: { sourceBucket: '', destinationBucket: 'lc2-backups' } },
      status: { phase: 'Succeeded', backupId: 'b', location: ctx.location } });
    assert.equal(await deleteGcpExternal(parentOf('bank'), c, config), true, 'nothing of bank\'s by that UID: done');
    assert.equal(mine.state, 'SUCCESSFUL', 'retail\'s backup untouched by a bank deletion');
    assert.equal(await deleteGcpExternal(parentOf('retail'), c, config), true);
    assert.equal(mine.state, 'DELETING');
  });

  it('proof before Succeeded: verify re-reads the backup and the export; after the backup is deleted (only ours), it is not ok', async () => {
    const ctx = ctxFor('22222222-aaaa-4bbb-8ccc-000000000001');
    const name = [...sql.backups.values()].find((b) => b.description === `lc2:${ctx.uid} project=retail`)!.name;
    const withDb: BackupContext = { ...ctx, spec: spec({ export: undefined }), database: { engine: 'postgresql', format: 'cloudsql-backup', snapshotId: name, sizeBytes: 1, tool: 't' } };
    assert.deepEqual(await verifyGcpExternal(withDb, c, config), { ok: true });
    const withExport: BackupContext = { ...withDb, spec: spec() };
    const missing = await verifyGcpExternal(withExport, c, config);
    assert.equal(missing.ok, false, 'no export object in this folder');
    await deleteBackup(c, backupTarget(ctx, config), name);
    // Deleting is an operation too: it ends after a few requests.
    for (let i = 0; i < 20 && sql.backups.has(name.split('/').pop()!); i += 1) await c.sql.getBackup(name).catch(() => undefined);
    assert.equal(sql.backups.has(name.split('/').pop()!), false, 'deleted');
    const gone = await verifyGcpExternal(withDb, c, config);
    assert.equal(gone.ok, false);
    await deleteBackup(c, backupTarget(ctx, config), name); // a second delete is done
    assert.equal(classify(Object.assign(new Error('x'), { status: 404 })).retryable, false);
  });

  it('a deletion while a create is in flight: quiesce waits out the lease TTL and a live lease, cancels an EXPORT to our URI that status never saw; every backup carrying our description is deleted', async () => {
    const ctx = ctxFor('22222222-aaaa-4bbb-8ccc-000000000007');
    const parent: BackupRequest = { apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupRequest', metadata: { name: 'inflight', uid: ctx.uid, deletionTimestamp: new Date().toISOString() },
      spec: ctx.spec, status: { phase: 'SnapshotInProgress', backupId: 'b', location: ctx.location } };
    assert.equal(await quiesceGcp(parent, c, config), false, 'the deletion just began and the backup is unfinished: a sync in flight may still create');
    parent.metadata.deletionTimestamp = new Date(Date.now() - 3_600_000).toISOString();
    assert.equal(await quiesceGcp(parent, c, config), true, 'nothing running, long after: quiet');
    // A sync holds the backup's lease (it may be between its lookup and its create).
    const lease = gcs.storage.bucket('lc2-backups').file(backupTarget(ctx, config).leaseKey);
    await lease.save(JSON.stringify({ holder: 'in-flight', until: new Date(Date.now() + 60_000).toISOString() }), { resumable: false });
    assert.equal(await quiesceGcp(parent, c, config), false, 'a live lease');
    assert.equal(await deleteGcpExternal(parent, c, config), false, 'nor deleted while it is live');
    await lease.delete();
    // An export to our URI started by a sync whose progress never reached status (no record either): found through operations.list and cancelled.
    const t = exportTarget(ctx, 'lportal', 20_000);
    sql.config.pollsToFinish = 1000;
    const started = await c.sql.exportSql('retail-prd-db', t.uri, ['lportal']).finally(() => { sql.config.pollsToFinish = 3; });
    assert.equal(await quiesceGcp(parent, c, config), false, 'a running export to our URI');
    const op = sql.operations.get(started.name!)!;
    assert.deepEqual([op.status, op.error?.errors[0]?.code], ['DONE', 'CANCELLED']);
    assert.equal(await quiesceGcp(parent, c, config), true);
    // Two backups carry our description (status names one; a sync in flight made another): both are deleted before done.
    const one = sql.addBackup({ instance: 'retail-prd-db', description: `lc2:${ctx.uid} project=retail` });
    const two = sql.addBackup({ instance: 'retail-prd-db', description: `lc2:${ctx.uid} project=retail` });
    const withDb: BackupRequest = { ...parent, status: { ...parent.status!, database: { engine: 'postgresql', format: 'cloudsql-backup', snapshotId: one.name, sizeBytes: 1, tool: 't' } } };
    let done = false;
    for (let i = 0; i < 30 && !done; i += 1) done = await deleteGcpExternal(withDb, c, config);
    assert.ok(done);
    for (const b of [one, two]) assert.ok(b.state === 'DELETING' || !sql.backups.has(b.id), `${b.name} is ${b.state}`);
  });

  it('a backup list longer than the pages looked at is "not known yet": never deleted-as-gone, never a second create', async () => {
    const ctx = ctxFor('22222222-aaaa-4bbb-8ccc-000000000008', spec({ instanceId: 'other-db', export: undefined }));
    const mine = sql.addBackup({ instance: 'other-db', description: `lc2:${ctx.uid} project=retail` });
    // 45 newer backups listed before it, 2 a page: more than the 20 pages looked at.
    const noise = Array.from({ length: 45 }, (_, i) => sql.addBackup({ instance: 'other-db', description: `someone's ${i}` }));
    try {
      const gone: BackupRequest = { apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupRequest', metadata: { name: 'gone', uid: ctx.uid },
        spec: { ...ctx.spec, database: { type: 'snapshot', instanceId: '' } }, status: { phase: 'Succeeded', backupId: 'b', location: ctx.location } };
      assert.equal(await deleteGcpExternal(gone, c, config), false, 'not found within the pages is not "deleted"');
      assert.equal(mine.state, 'SUCCESSFUL');
      const creates = sql.accepted.get('POST /v1/projects/lc2-test-project/backups') ?? 0;
      const step = { name: 'snapshot' as const, phase: 'SnapshotInProgress' as const, operationId: `lc2:${ctx.uid} project=retail`, children: [] };
      const obs = await observeGcpBackupStep(step, ctx, { id: step.operationId, state: 'Running' }, c, config);
      assert.deepEqual(obs.state === 'failed' ? [obs.reason, obs.retryable] : obs.state, ['ListIncomplete', true]);
      assert.equal(sql.accepted.get('POST /v1/projects/lc2-test-project/backups') ?? 0, creates, 'no second backup');
      sql.config.pageSize = 500;
      assert.equal(await deleteGcpExternal(gone, c, config), true);
      assert.equal(mine.state, 'DELETING');
    } finally {
      sql.config.pageSize = 2;
      for (const b of noise) sql.backups.delete(b.id);
    }
  });

  it('a restore whose operation name never reached status is done only once that RESTORE_VOLUME operation, recovered from operations.list, is DONE without error - never on RUNNABLE alone', async () => {
    const sourceUid = '22222222-aaaa-4bbb-8ccc-000000000009';
    const backup = sql.addBackup({ instance: 'retail-prd-db', description: `lc2:${sourceUid} project=retail` });
    const r = restoreRequest('r', { provider: 'gcp', database: { instanceId: 'retail-restored', databaseName: 'lportal' }, documentLibrary: { destinationBucket: 'lc2-backups', destinationPrefix: 'restored/' } });
    const ctx: RestoreContext = { name: 'r', uid: r.metadata.uid!, spec: r.spec!, source: {
      manifest: { bucket: 'lc2-backups', key: 'retail/prd/x/manifest.json' }, engine: 'postgresql', bucket: 'lc2-backups', snapshotId: backup.name,
      documentLibraryPrefix: 'retail/prd/x/dl/', resultsPrefix: 'retail/prd/x/results/', sourceUid,
    } };
    const step = { name: 'database' as const, phase: 'RestoringDatabase' as const, operationId: 'cloudsql:x', children: [] };
    const sync = (progress: Record<string, unknown>) => observeGcpRestoreStep(step, ctx, { id: step.operationId, state: 'Running', progress }, c);
    assert.equal((await sync({})).state, 'running');
    sql.config.pollsToFinish = 1000;
    const started = await sync({ checked: true }).finally(() => { sql.config.pollsToFinish = 3; });
    assert.equal(started.state, 'running');
    const opName = started.state === 'running' ? (started.progress as { operation?: string }).operation : undefined;
    const op = sql.operations.get(opName!)!;
    const instance = [...sql.instances.values()].find((i) => i.settings.userLabels['lc2-uid'] === ctx.uid)!;
    // The status write with the operation was lost, and the instance already says RUNNABLE while the restore runs.
    instance.state = 'RUNNABLE';
    const recovered = await sync({ checked: true });
    assert.equal(recovered.state, 'running', JSON.stringify(recovered));
    assert.equal(recovered.state === 'running' ? (recovered.progress as { operation?: string }).operation : undefined, op.name, 'the operation recovered into progress');
    op.status = 'DONE'; op.error = { errors: [{ code: 'INTERNAL_ERROR', message: 'restore broke' }] };
    const failed = await sync({ checked: true });
    assert.deepEqual(failed.state === 'failed' ? [failed.reason, failed.retryable] : failed.state, ['RestoreFailed', false]);
    delete op.error;
    assert.equal((await sync({ checked: true })).state, 'done', 'DONE without error and RUNNABLE');
  });

  it('a deletion whose recorded backup is someone else\'s leaves it alone and still deletes its own transfer job', async () => {
    const ctx = ctxFor('22222222-aaaa-4bbb-8ccc-00000000000a', spec({ export: undefined }));
    const foreign = sql.addBackup({ instance: 'retail-prd-db', description: 'lc2:someone-else project=bank' });
    await gcs.storage.createBucket('liferay-dl').catch(() => undefined);
    const job = transferTarget(ctx, PROJECT);
    await ensureJob(c, job);
    const parent: BackupRequest = { apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupRequest', metadata: { name: 'forged', uid: ctx.uid },
      spec: ctx.spec, status: { phase: 'Succeeded', backupId: 'b', location: ctx.location, database: { engine: 'postgresql', format: 'cloudsql-backup', snapshotId: foreign.name, sizeBytes: 1, tool: 't' } } };
    let done = false;
    for (let i = 0; i < 20 && !done; i += 1) done = await deleteGcpExternal(parent, c, config);
    assert.ok(done);
    assert.equal(foreign.state, 'SUCCESSFUL', 'not ours: untouched');
    assert.equal(sts.jobs.get(job.name)?.status, 'DELETED', 'our job is deleted all the same');
  });

  it('a manifest\'s snapshotId that is not projects/<project>/backups/<id> is refused before any GetBackup (restore, verify, deletion)', async () => {
    const sourceUid = '22222222-aaaa-4bbb-8ccc-00000000000b';
    const r = restoreRequest('r2', { provider: 'gcp', database: { instanceId: 'retail-forged', databaseName: 'lportal' }, documentLibrary: { destinationBucket: 'lc2-backups', destinationPrefix: 'forged/' } });
    const total = () => [...sql.received.values()].reduce((a, b) => a + b, 0);
    for (const snapshotId of ['projects/bank-project/backups/1001', `projects/${PROJECT}/backups/../instances/retail-prd-db`, `projects/${PROJECT}/backups/1?x=1`]) {
      const ctx: RestoreContext = { name: 'r2', uid: r.metadata.uid!, spec: r.spec!, source: {
        manifest: { bucket: 'lc2-backups', key: 'retail/prd/y/manifest.json' }, engine: 'postgresql', bucket: 'lc2-backups', snapshotId,
        documentLibraryPrefix: 'retail/prd/y/dl/', resultsPrefix: 'retail/prd/y/results/', sourceUid,
      } };
      const before = total();
      const pre = await gcpRestorePreflight(ctx, c);
      assert.deepEqual(pre.ok ? 'ok' : [pre.reason, pre.retryable], ['SnapshotNotAllowed', false], snapshotId);
      const b = ctxFor(sourceUid, spec({ export: undefined }));
      const v = await verifyGcpExternal({ ...b, database: { engine: 'postgresql', format: 'cloudsql-backup', snapshotId, sizeBytes: 1, tool: 't' } }, c, config);
      assert.equal(v.ok, false);
      await assert.rejects(deleteBackup(c, backupTarget(b, config), snapshotId), (e: Error) => e.name === 'OwnershipConflict');
      assert.equal(total(), before, `no Cloud SQL request for ${snapshotId}`);
    }
  });
});
