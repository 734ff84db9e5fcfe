// The GCP provider end to end through two real hook server processes (node app/main.ts, configured
// by environment as in the cluster), with GCS on a real fake-gcs-server and in-repo FAKES of Cloud
// SQL Admin v1 and Storage Transfer v1 (test/support/fakeCloudSql.ts, fakeStorageTransfer.ts: no
// emulator exists for either; each follows the REST reference named at its top), all reached by the
// hooks through the real Google clients. The test plays Metacontroller (test/support/driver.ts) and
// sends every sync 10 times, concurrently, to both processes: one backup, one export, one transfer job.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeGcs, objectsUnder, type FakeGcs } from './support/fakeGcs.ts';
import { startFakeCloudSql, type FakeCloudSql } from './support/fakeCloudSql.ts';
import { startFakeStorageTransfer, type FakeStorageTransfer } from './support/fakeStorageTransfer.ts';
import { startHookProcess, type HookProcess } from './support/hookProcess.ts';
import { MetacontrollerDriver } from './support/driver.ts';
import { driveWithReplays, type DriveOptions } from './support/replayDrive.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';
import { sampleDocumentLibrary, type SampleFile } from '../demo/sample.ts';
import { schemaErrors } from '../core/validation/jsonSchemas.ts';
import type { BackupRequestStatus, RestoreRequestStatus } from '../core/crd.ts';
import type { SyncResponse } from '../hooks/contract/types.ts';
import type { KubeObject } from '../core/kube.ts';
import type { Manifest } from '../hooks/backup/manifest.ts';

const PROJECT = 'lc2-test-project';
let gcs: FakeGcs;
let sql: FakeCloudSql;
let sts: FakeStorageTransfer;
let hooks: HookProcess[] = [];
const files = sampleDocumentLibrary(120, (i) => 100 + (i % 5) * 700);
const originals = () => files.filter((f) => !f.generated);
const rel = (f: SampleFile) => f.key.slice('document_library/'.length);

const gcpBackup = (name: string, over: Record<string, unknown> = {}) => backupRequest(name, {
  provider: 'gcp', database: { type: 'snapshot', instanceId: 'retail-prd-db', databaseName: 'lportal', export: {} }, ...over,
});

let turn = 0;
const driverFor = (parent: KubeObject, path: string) => new MetacontrollerDriver(parent, { hookUrl: () => hooks[turn++ % hooks.length]!.url, syncPath: path, secrets: {} });

/** Metacontroller's loop, with every request also sent `replays` more times at once to both hook processes. */
const drive = (d: MetacontrollerDriver, options: DriveOptions = {}) => driveWithReplays(d, () => hooks.map((h) => h.url), { maxSyncs: 300, pauseMs: 20, ...options });

const count = (m: Map<string, number>, route: string) => m.get(route) ?? 0;
const CREATE_BACKUP = `POST /v1/projects/${PROJECT}/backups`;
const EXPORT = `POST /v1/projects/${PROJECT}/instances/*/export`;
const CREATE_JOB = 'POST /v1/transferJobs';
const body = async (bucket: string, key: string) => (await gcs.storage.bucket(bucket).file(key).download())[0];

before(async () => {
  gcs = await startFakeGcs();
  sql = await startFakeCloudSql(gcs.storage, PROJECT);
  sts = await startFakeStorageTransfer(gcs.storage);
  for (const b of ['liferay-dl', 'lc2-backups', 'restored-dl']) await gcs.storage.createBucket(b);
  for (let i = 0; i < files.length; i += 16) {
    await Promise.all(files.slice(i, i + 16).map((f) => gcs.storage.bucket('liferay-dl').file(f.key).save(f.body, { resumable: false })));
  }
  sql.addInstance('retail-prd-db', 'POSTGRES_15');
  const env = {
    LC2_GCP_PROJECT: PROJECT, LC2_GCP_SQLADMIN_ENDPOINT: `${sql.endpoint}/`, LC2_GCP_TRANSFER_ENDPOINT: sts.endpoint, LC2_GCP_STORAGE_ENDPOINT: gcs.endpoint,
    LC2_GCP_CALL_TIMEOUT_MS: '4000', LC2_TENANCY: 'off',
  };
  hooks = await Promise.all([startHookProcess(env), startHookProcess(env)]);
});

after(async () => {
  await Promise.all(hooks.map((h) => h.stop()));
  await sts?.close();
  await sql?.close();
  await gcs?.stop();
});

describe('GCP provider end to end (fake Cloud SQL and Storage Transfer, fake-gcs-server, two hook processes)', () => {
  let full: MetacontrollerDriver;

  it('a BackupRequest, every sync sent 10 times to two processes: one backup, one export, one transfer job; manifest and proof', async () => {
    full = driverFor(gcpBackup('nightly-full'), '/backuprequest/sync');
    assert.equal(await drive(full), 'Succeeded', JSON.stringify(full.status.conditions));
    const status = full.status as BackupRequestStatus;
    const uid = full.parent.metadata.uid!;
    assert.equal(count(sql.accepted, CREATE_BACKUP), 1, `CreateBackup accepted ${count(sql.accepted, CREATE_BACKUP)}x (received ${count(sql.received, CREATE_BACKUP)}x)`);
    assert.equal(count(sql.accepted, EXPORT), 1);
    assert.equal(count(sts.accepted, CREATE_JOB), 1);
    assert.equal(sts.runs.size, 1, 'one transfer run');
    const ours = [...sql.backups.values()].filter((b) => b.description === `lc2:${uid} project=retail`);
    assert.equal(ours.length, 1);
    assert.equal(status.database?.snapshotId, ours[0]!.name);
    assert.equal(status.operations?.transfer?.id, `transferJobs/lc2-${uid}-dl`);

    // Exactly the non-generated objects, byte-identical, each written once.
    const dl = `${status.location!.prefix}dl/`;
    const copied = await objectsUnder(gcs.storage, 'lc2-backups', dl);
    assert.deepEqual([...copied.keys()].sort(), originals().map((f) => dl + rel(f)).sort());
    for (const f of originals()) assert.ok(copied.get(dl + rel(f))!.equals(f.body), f.key);
    assert.ok([...sts.writes.values()].every((n) => n === 1));
    assert.equal(status.documentLibrary?.objectCount, originals().length);
    assert.equal(status.documentLibrary?.totalBytes, originals().reduce((n, f) => n + f.body.length, 0));

    // The manifest validates and names the backup, the export and the job.
    const manifest = JSON.parse((await body('lc2-backups', status.manifest!.key)).toString()) as Manifest;
    assert.deepEqual(schemaErrors('manifest', manifest), []);
    assert.equal(manifest.database.snapshotId, ours[0]!.name);
    assert.equal(manifest.database.export?.taskId, `gs://lc2-backups/${status.location!.prefix}export/lportal.sql.gz`);
    const [exported] = await gcs.storage.bucket('lc2-backups').file(`${status.location!.prefix}export/lportal.sql.gz`).getMetadata();
    assert.deepEqual(manifest.database.export?.object, { generation: String(exported.generation), crc32c: exported.crc32c, sizeBytes: Number(exported.size) }, 'the export object as it ended, in the manifest');
    assert.deepEqual(status.databaseExport?.object, manifest.database.export?.object);
    assert.ok((await body('lc2-backups', `${status.location!.prefix}export/lportal.sql.gz`)).length > 0);
    assert.equal(manifest.operations.transfer, `transferJobs/lc2-${uid}-dl`);
    assert.equal(manifest.documentLibrary.objectCount, originals().length);

    // Stale syncs from earlier statuses answer the final status (a fixed point), manifest unchanged.
    const manifestBytes = await body('lc2-backups', status.manifest!.key);
    const stale = full.history.filter((h) => h.phase !== 'Succeeded' && (h.operations as Record<string, unknown> | undefined)?.transfer).slice(-3);
    assert.ok(stale.length > 0);
    for (const [i, old] of stale.entries()) {
      const res = await fetch(`${hooks[i % hooks.length]!.url}/backuprequest/sync`, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...full.request(), parent: { ...full.parent, status: old } }) });
      assert.equal(res.status, 200);
      assert.deepEqual((await res.json() as SyncResponse).status, full.status);
    }
    assert.ok((await body('lc2-backups', status.manifest!.key)).equals(manifestBytes));
    assert.equal(count(sql.accepted, CREATE_BACKUP), 1);
    assert.equal(count(sts.accepted, CREATE_JOB), 1);
  });

  it('a RestoreRequest creates a NEW instance and a NEW prefix, byte-identical minus generated files; taken targets are refused before anything is created', async () => {
    const manifest = (full.status as BackupRequestStatus).manifest!;
    const spec = (instanceId: string, prefix: string, approveOverwrite = false) => ({
      provider: 'gcp' as const, source: { manifest: { bucket: manifest.bucket, key: manifest.key } }, ...(approveOverwrite ? { approveOverwrite } : {}),
      database: { instanceId, databaseName: 'lportal' }, documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: prefix },
    });
    const restore = driverFor(restoreRequest('restore-1', spec('retail-restored', 'retail/prd-restored')), '/restorerequest/sync');
    assert.equal(await drive(restore, { replays: 3 }), 'Succeeded', JSON.stringify(restore.status.conditions));
    const rs = restore.status as RestoreRequestStatus;
    const name = `retail-restored-r${restore.parent.metadata.uid!.replace(/-/g, '').slice(0, 8)}`;
    assert.equal(rs.database?.instanceId, name);
    const inst = sql.instances.get(name);
    assert.equal(inst?.state, 'RUNNABLE');
    assert.equal(inst?.settings.userLabels['lc2-uid'], restore.parent.metadata.uid);
    assert.equal(count(sql.accepted, `POST /v1/projects/${PROJECT}/instances/*/restoreBackup`), 1);
    const restored = await objectsUnder(gcs.storage, 'restored-dl', 'retail/prd-restored/');
    assert.deepEqual([...restored.keys()].sort(), originals().map((f) => `retail/prd-restored/${rel(f)}`).sort());
    for (const f of originals()) assert.ok(restored.get(`retail/prd-restored/${rel(f)}`)!.equals(f.body), f.key);
    assert.equal(rs.documentLibrary?.objectCount, originals().length);

    // The prefix now holds objects: refused before the database step, no instance created.
    const restoresBefore = count(sql.accepted, `POST /v1/projects/${PROJECT}/instances/*/restoreBackup`);
    const taken = driverFor(restoreRequest('restore-2', spec('retail-restored-2', 'retail/prd-restored')), '/restorerequest/sync');
    assert.equal(await drive(taken, { replays: 2 }), 'Failed');
    assert.equal((taken.status as RestoreRequestStatus).conditions?.find((c) => c.type === 'Ready')?.reason, 'TargetNotEmpty');
    assert.equal((taken.status as RestoreRequestStatus).operations?.database, undefined, 'the database step never started');
    assert.equal(count(sql.accepted, `POST /v1/projects/${PROJECT}/instances/*/restoreBackup`), restoresBefore);
  });

  it('a forged manifest naming another project\'s Cloud SQL backup, with that backup\'s own UID, is refused before any instance is created', async () => {
    const real = JSON.parse((await body('lc2-backups', (full.status as BackupRequestStatus).manifest!.key)).toString('utf8')) as Manifest;
    // The bank project's backup, as our provider made it for bank: the forger knows its name and UID.
    const foreign = sql.addBackup({ instance: 'bank-db', description: 'lc2:0bank000-0000-4000-8000-000000000001 project=bank' });
    const prefix = 'retail/prd/forged-0000000f/';
    const forged: Manifest = { ...real, backupId: 'forged-0000000f', source: { ...real.source, uid: '0bank000-0000-4000-8000-000000000001' }, location: { bucket: 'lc2-backups', prefix },
      database: { ...real.database, snapshotId: foreign.name }, documentLibrary: { ...real.documentLibrary, prefix: `${prefix}dl/` } };
    delete (forged.database as { export?: unknown }).export;
    await gcs.storage.bucket('lc2-backups').file(`${prefix}manifest.json`).save(JSON.stringify(forged), { resumable: false });
    const restore = driverFor(restoreRequest('restore-forged', { provider: 'gcp', source: { manifest: { bucket: 'lc2-backups', key: `${prefix}manifest.json` } },
      database: { instanceId: 'retail-forged', databaseName: 'lportal' }, documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: 'retail/forged' } }), '/restorerequest/sync');
    assert.equal(await drive(restore, { replays: 0 }), 'Failed');
    const ready = (restore.status as RestoreRequestStatus).conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.reason, 'SnapshotNotAllowed');
    assert.match(ready?.message ?? '', /was not taken by this project's backup/);
    assert.ok(![...sql.instances.keys()].some((n) => n.startsWith('retail-forged')));
  });

  it('a transfer with failed objects fails the backup with the counters in the message', async () => {
    sts.config.failKey = (key) => key.endsWith('/30007/1.0');
    try {
      const d = driverFor(gcpBackup('failing-transfer', { database: { type: 'snapshot', instanceId: 'retail-prd-db' } }), '/backuprequest/sync');
      assert.equal(await drive(d, { replays: 2 }), 'Failed');
      const ready = (d.status as BackupRequestStatus).conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.reason, 'TransferFailed');
      assert.match(ready?.message ?? '', new RegExp(`${originals().length} objects found, ${originals().length - 1} copied, 0 already there, 1 failed`));
      assert.equal((d.status as BackupRequestStatus).manifest, undefined);
    } finally { sts.config.failKey = () => false; }
  });

  it('with 429, 503 and dropped connections on 10% of Cloud SQL and Storage Transfer requests: Succeeded, no duplicate', async () => {
    const total = () => [...sql.received.values(), ...sts.received.values()].reduce((a, b) => a + b, 0);
    const before = { requests: total(), backup: count(sql.accepted, CREATE_BACKUP), export: count(sql.accepted, EXPORT), job: count(sts.accepted, CREATE_JOB) };
    sql.faults.share = 0.1; sts.faults.share = 0.1;
    sql.faults.seen = 0; sts.faults.seen = 0;
    // And each create's first answer lost after it was carried out (the worst case for "exactly once").
    sql.faults.dropAnswer = new Set([CREATE_BACKUP, EXPORT]);
    sts.faults.dropAnswer = new Set([CREATE_JOB]);
    const d = driverFor(gcpBackup('under-faults'), '/backuprequest/sync');
    try { assert.equal(await drive(d, { replays: 3, honourBackoff: true, maxSyncs: 300 }), 'Succeeded', JSON.stringify(d.status.conditions)); } finally { sql.faults.share = 0; sts.faults.share = 0; }
    const requests = total() - before.requests;
    // Every 10th request faulted (429, 503, answer dropped in turn), plus the three dropped create answers: at least
    // one periodic fault on each fake besides its dropped creates (a fast run makes few requests: no fixed total).
    assert.ok(sql.faults.seen >= 2 + 1 && sts.faults.seen >= 1 + 1, `faults were injected (${sql.faults.seen} + ${sts.faults.seen}, ${requests} requests processed)`);
    assert.equal(sql.faults.dropAnswer.size + sts.faults.dropAnswer.size, 0, 'every create had its answer dropped once');
    const uid = d.parent.metadata.uid!;
    assert.equal([...sql.backups.values()].filter((b) => b.description === `lc2:${uid} project=retail`).length, 1, 'one Cloud SQL backup');
    assert.equal(count(sql.accepted, CREATE_BACKUP) - before.backup, 1);
    assert.equal(count(sql.accepted, EXPORT) - before.export, 1);
    assert.equal(count(sts.accepted, CREATE_JOB) - before.job, 1);
    assert.equal([...sts.runs.values()].filter((r) => r.job === `transferJobs/lc2-${uid}-dl`).length, 1);
    const s = d.status as BackupRequestStatus;
    assert.equal(s.documentLibrary?.objectCount, (await objectsUnder(gcs.storage, 'lc2-backups', `${s.location!.prefix}dl/`)).size);
  });

  it('deletionPolicy Delete removes exactly this backup: its folder (with the export), its Cloud SQL backup and its transfer job', async () => {
    const doomed = driverFor(gcpBackup('to-delete', { deletionPolicy: 'Delete' }), '/backuprequest/sync');
    assert.equal(await drive(doomed, { replays: 0 }), 'Succeeded', JSON.stringify(doomed.status.conditions));
    const st = doomed.status as BackupRequestStatus;
    const fullStatus = full.status as BackupRequestStatus;
    const others = [...(await objectsUnder(gcs.storage, 'lc2-backups', fullStatus.location!.prefix)).keys()].sort();
    const backupsBefore = sql.backups.size;
    doomed.parent.metadata.deletionTimestamp = new Date().toISOString();
    let finalized = false;
    for (let i = 0; i < 20 && !finalized; i += 1) finalized = (await doomed.sync(true)).finalized === true;
    assert.ok(finalized, JSON.stringify(doomed.status.conditions));
    assert.equal((await objectsUnder(gcs.storage, 'lc2-backups', st.location!.prefix)).size, 0);
    // Its backup is deleted (a DELETE operation ends after a few requests); nobody else's.
    for (let i = 0; i < 10; i += 1) await fetch(`${sql.endpoint}/v1/projects/${PROJECT}/operations`);
    assert.ok(![...sql.backups.values()].some((b) => b.name === st.database?.snapshotId), 'its Cloud SQL backup is gone');
    assert.equal(sql.backups.size, backupsBefore - 1);
    assert.ok([...sql.backups.values()].some((b) => b.name === fullStatus.database?.snapshotId), 'another backup stays');
    assert.equal(sts.jobs.get(`transferJobs/lc2-${doomed.parent.metadata.uid}-dl`)?.status, 'DELETED');
    assert.equal(sts.jobs.get(`transferJobs/lc2-${full.parent.metadata.uid}-dl`)?.status, 'ENABLED');
    assert.deepEqual([...(await objectsUnder(gcs.storage, 'lc2-backups', fullStatus.location!.prefix)).keys()].sort(), others, 'another backup is untouched');
  });
});
