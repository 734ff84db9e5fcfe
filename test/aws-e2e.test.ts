// The AWS provider end to end against moto (RDS + S3), through two real hook server processes
// (node app/main.ts, configured by environment like in the cluster) and a proxy in front of moto
// that counts what moto received and accepted, and injects faults on demand. The test plays
// Metacontroller (test/support/driver.ts) and sends every sync 10 times, concurrently, to both
// processes: one snapshot, one export task, every object copied once.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand } from '@aws-sdk/client-s3';
import { KMSClient, CreateKeyCommand } from '@aws-sdk/client-kms';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { RDSClient, CreateDBInstanceCommand, CreateDBSnapshotCommand, DeleteDBSnapshotCommand, DescribeDBSnapshotsCommand, DescribeDBInstancesCommand, DescribeExportTasksCommand } from '@aws-sdk/client-rds';
import { credentialEnv, startS3, type S3Server } from './support/processes.ts';
import { allKeys } from './support/s3Keys.ts';
import { startS3Proxy, type S3Proxy } from './support/s3Proxy.ts';
import { startHookProcess, type HookProcess } from './support/hookProcess.ts';
import { MetacontrollerDriver } from './support/driver.ts';
import { driveWithReplays, type DriveOptions } from './support/replayDrive.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';
import { sampleDocumentLibrary, createSampleDatabase, dropDatabase, localPostgres, sql, COMPANY_ID, GROUP_ID, type SampleFile } from '../demo/sample.ts';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { schemaErrors } from '../core/validation/jsonSchemas.ts';
import { UID_TAG } from '../providers/aws/rds.ts';
import type { BackupRequest, BackupRequestStatus, RestoreRequestStatus } from '../core/crd.ts';
import type { SyncResponse } from '../hooks/contract/types.ts';
import type { KubeObject } from '../core/kube.ts';
import { API_VERSION, groupKey } from '../hooks/contract/objects.ts';
import type { Manifest } from '../hooks/backup/manifest.ts';
import { specDigest } from '../hooks/status/admitted.ts';

let moto: S3Server;
let proxy: S3Proxy;
let hooks: HookProcess[] = [];
let env: Record<string, string> = {};
let s3: S3Client;
let rds: RDSClient;
const files = sampleDocumentLibrary(300, (i) => 100 + (i % 5) * 700);
const originals = () => files.filter((f) => !f.generated);
const rel = (f: SampleFile) => f.key.slice('document_library/'.length);
const ROLE = 'arn:aws:iam::123456789012:role/rds-s3-export';
/** Outside document_library/: only the large-object test copies it. */
const BIG_KEY = 'big-files/20097/20121/77777/1.0';

const awsBackup = (name: string, over: Record<string, unknown> = {}) => backupRequest(name, {
  provider: 'aws',
  database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-db', export: { iamRoleArn: ROLE, kmsKeyId: 'alias/lc2-exports' } },
  ...over,
});

const keys = (bucket: string, prefix: string) => allKeys(s3, bucket, prefix);

const body = async (bucket: string, key: string) => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());

let turn = 0;
const driverFor = (parent: KubeObject, path: string, related: () => Record<string, Record<string, KubeObject>> = () => ({})) =>
  new MetacontrollerDriver(parent, { hookUrl: () => hooks[turn++ % hooks.length]!.url, syncPath: path, secrets: {}, related });

/** Metacontroller's loop, with every request also sent `replays` more times at once to both hook processes. */
const drive = (d: MetacontrollerDriver, options: DriveOptions = {}) => driveWithReplays(d, () => hooks.map((h) => h.url), { maxSyncs: 400, ...options });

before(async () => {
  moto = await startS3();
  if (moto.kind !== 'moto') return;
  proxy = await startS3Proxy(moto.endpoint);
  const credentials = { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey };
  s3 = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1', credentials });
  rds = new RDSClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials });
  for (const b of ['liferay-dl', 'lc2-backups', 'restored-dl']) await s3.send(new CreateBucketCommand({ Bucket: b }));
  for (let i = 0; i < files.length; i += 32) {
    await Promise.all(files.slice(i, i + 32).map((f) => s3.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: f.key, Body: f.body }))));
  }
  // A large file, uploaded in parts as Liferay's S3 store does (a multipart ETag): 12 parts to copy.
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'liferay-dl', Key: BIG_KEY }));
  const parts = [];
  for (let n = 1; n <= 3; n += 1) parts.push({ PartNumber: n, ETag: (await s3.send(new UploadPartCommand({ Bucket: 'liferay-dl', Key: BIG_KEY, UploadId, PartNumber: n, Body: Buffer.alloc(20 * 1024 ** 2, n) }))).ETag! });
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'liferay-dl', Key: BIG_KEY, UploadId, MultipartUpload: { Parts: parts } }));
  await rds.send(new CreateDBInstanceCommand({ DBInstanceIdentifier: 'retail-prd-db', Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'liferay', MasterUserPassword: 'not-a-real-one-1' }));
  // Credentials reach the processes the way the default AWS chain finds them; a small copy
  // budget and page make the library take many syncs.
  env = {
    LC2_AWS_REGION: 'us-east-1', LC2_AWS_ENDPOINT: proxy.endpoint, LC2_TENANCY: 'off',
    // Objects above 6 MiB (the library's are bytes) go part by part, in parts of 5 MiB.
    LC2_AWS_MULTIPART_THRESHOLD_MB: '6', LC2_AWS_PART_SIZE_MB: '5',
    // Shared by both processes, as the hook token is by every replica in a cluster: each believes the other's signed checkpoints.
    LC2_CHECKPOINT_KEY: 'aws-e2e-checkpoint-key-0123456789abcdef',
    ...credentialEnv(moto),
    LC2_AWS_STEP_BUDGET_MS: '150', LC2_AWS_PAGE_SIZE: '40', LC2_AWS_CALL_TIMEOUT_MS: '4000',
    // The consistency check's Jobs reach the backup bucket with this Secret of the request's namespace.
    LC2_AWS_JOB_SECRET: 'lc2-aws-job',
  };
  hooks = await Promise.all([startHookProcess(env), startHookProcess(env)]);
});

after(async () => {
  await Promise.all(hooks.map((h) => h.stop()));
  await proxy?.close();
  await moto?.stop();
});

const relatedOf = (...backups: KubeObject[]) => () => ({ [groupKey('BackupRequest', API_VERSION)]: Object.fromEntries(backups.map((b) => [`${b.metadata.namespace}/${b.metadata.name}`, b])) });

describe('AWS provider end to end (moto RDS + S3, two hook processes)', () => {
  let full: MetacontrollerDriver;

  it('a BackupRequest, every sync sent 10 times to two processes: one snapshot, one export, each object copied once', async (t) => {
    if (moto.kind !== 'moto') { t.skip('moto_server is not installed (RDS needs it)'); return; }
    proxy.copies.clear(); proxy.actions.clear();
    full = driverFor(awsBackup('nightly-full'), '/backuprequest/sync');
    assert.equal(await drive(full), 'Succeeded', JSON.stringify(full.status.conditions));
    const status = full.status as BackupRequestStatus;
    const uid = full.parent.metadata.uid!;

    // One snapshot, tagged with project, environment and the resource UID; one export task.
    assert.equal(proxy.actions.get('CreateDBSnapshot'), 1, `CreateDBSnapshot accepted ${proxy.actions.get('CreateDBSnapshot')}x (received ${proxy.received.get('CreateDBSnapshot')}x)`);
    assert.equal(proxy.actions.get('StartExportTask'), 1);
    const snaps = (await rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: 'retail-prd-db', SnapshotType: 'manual' }))).DBSnapshots ?? [];
    assert.equal(snaps.length, 1);
    const tags = Object.fromEntries((snaps[0]!.TagList ?? []).map((x) => [x.Key, x.Value]));
    assert.deepEqual(tags, { 'lc2.backup.liferay.cloud/project': 'retail', 'lc2.backup.liferay.cloud/environment': 'prd', [UID_TAG]: uid });
    assert.equal(status.database?.snapshotId, snaps[0]!.DBSnapshotIdentifier);
    const exportTask = (await rds.send(new DescribeExportTasksCommand({ ExportTaskIdentifier: status.operations!.export!.id }))).ExportTasks?.[0];
    assert.equal(exportTask?.S3Bucket, 'lc2-backups');
    assert.equal(exportTask?.IamRoleArn, ROLE);

    // Exactly the non-generated objects, byte-identical, each copied once, over many syncs.
    const dl = `${status.location!.prefix}dl/`;
    assert.deepEqual(await keys('lc2-backups', dl), originals().map((f) => dl + rel(f)).sort());
    assert.equal(proxy.copies.size, originals().length);
    assert.ok([...proxy.copies.values()].every((n) => n === 1), 'no object copied twice');
    for (const f of originals()) assert.ok((await body('lc2-backups', dl + rel(f))).equals(f.body), f.key);
    assert.ok(full.syncs > 5, `the copy resumed across ${full.syncs} syncs`);
    assert.equal(status.documentLibrary?.copiedObjects, originals().length);
    assert.equal(status.documentLibrary?.excludedObjects, files.length - originals().length);
    assert.equal(status.documentLibrary?.totalBytes, originals().reduce((n, f) => n + f.body.length, 0));

    // The manifest validates and says where everything is.
    const manifest = JSON.parse((await body('lc2-backups', status.manifest!.key)).toString());
    assert.deepEqual(schemaErrors('manifest', manifest), []);
    assert.equal(manifest.database.type, 'snapshot');
    assert.equal(manifest.database.snapshotId, status.database?.snapshotId);
    assert.equal(manifest.database.export.taskId, status.operations!.export!.id);
    assert.equal(manifest.documentLibrary.objectCount, originals().length);

    // Stale syncs: Metacontroller's cache may still hold the parent without its last status writes.
    // Replayed from each of the last few statuses before Succeeded, to both processes, the answer is
    // the final status itself and the manifest keeps its bytes (a fixed point).
    const manifestBytes = await body('lc2-backups', status.manifest!.key);
    const final = full.status;
    const stale = full.history.filter((h) => h.phase !== 'Succeeded' && (h.operations as Record<string, unknown> | undefined)?.transfer).slice(-3);
    assert.ok(stale.length > 0, 'there are earlier statuses to replay');
    for (const [i, old] of stale.entries()) {
      const res = await fetch(`${hooks[i % hooks.length]!.url}/backuprequest/sync`, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...full.request(), parent: { ...full.parent, status: old } }) });
      const answer = await res.json() as SyncResponse;
      assert.equal(res.status, 200);
      assert.deepEqual(answer.status, final, `a sync from an older status (${String(old.phase)}) answers the final status`);
    }
    assert.ok((await body('lc2-backups', status.manifest!.key)).equals(manifestBytes), 'manifest.json unchanged by stale syncs');
  });

  it('a RestoreRequest creates the NEW instance and copies the library into a NEW prefix; an existing instance is refused', async (t) => {
    if (moto.kind !== 'moto') { t.skip('moto_server is not installed'); return; }
    const manifest = (full.status as BackupRequestStatus).manifest!;
    const spec = (instanceId: string, prefix: string) => ({
      provider: 'aws' as const, source: { manifest: { bucket: manifest.bucket, key: manifest.key } },
      database: { instanceId, databaseName: 'lportal' }, documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: prefix },
    });
    const restore = driverFor(restoreRequest('restore-1', spec('retail-prd-restored', 'retail/prd-restored')), '/restorerequest/sync');
    assert.equal(await drive(restore, { replays: 3 }), 'Succeeded', JSON.stringify(restore.status.conditions));
    const instance = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'retail-prd-restored' }))).DBInstances?.[0];
    assert.ok(instance, 'the new instance exists');
    assert.equal(Object.fromEntries((instance.TagList ?? []).map((x) => [x.Key, x.Value]))[UID_TAG], restore.parent.metadata.uid);
    assert.deepEqual(await keys('restored-dl', 'retail/prd-restored/'), originals().map((f) => `retail/prd-restored/${rel(f)}`).sort());
    for (const f of originals().slice(0, 50)) assert.ok((await body('restored-dl', `retail/prd-restored/${rel(f)}`)).equals(f.body));
    const rs = restore.status as RestoreRequestStatus;
    assert.equal(rs.documentLibrary?.objectCount, originals().length);

    // The source instance already exists and was not made by a restore: never touched.
    const restoresBefore = proxy.actions.get('RestoreDBInstanceFromDBSnapshot') ?? 0;
    const over = driverFor(restoreRequest('restore-2', spec('retail-prd-db', 'retail/prd-other')), '/restorerequest/sync');
    assert.equal(await drive(over, { replays: 0 }), 'Failed');
    const ready = (over.status as RestoreRequestStatus).conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.reason, 'TargetExists');
    assert.match(ready?.message ?? '', /retail-prd-db already exists.*choose another spec.database.instanceId/);

    // A non-empty target prefix is refused before the database step: no new (billed) instance.
    const full2 = driverFor(restoreRequest('restore-3', spec('retail-prd-restored-3', 'retail/prd-restored')), '/restorerequest/sync');
    assert.equal(await drive(full2, { replays: 2 }), 'Failed');
    assert.equal((full2.status as RestoreRequestStatus).conditions?.find((c) => c.type === 'Ready')?.reason, 'TargetNotEmpty');
    assert.equal((full2.status as RestoreRequestStatus).operations?.database, undefined, 'the database step never started');
    assert.equal(proxy.actions.get('RestoreDBInstanceFromDBSnapshot') ?? 0, restoresBefore, 'moto received no RestoreDBInstanceFromDBSnapshot');
    await assert.rejects(rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'retail-prd-restored-3' })), /not found/i);
  });

  it('a DR drill restores into a scratch instance and prefix, times it, and removes both; a failed drill removes only what it made', async (t) => {
    if (moto.kind !== 'moto') { t.skip('moto_server is not installed'); return; }
    const manifest = (full.status as BackupRequestStatus).manifest!;
    const drill = (name: string, instanceId: string, prefix: string) => driverFor(restoreRequest(name, {
      provider: 'aws', drill: true, source: { manifest: { bucket: manifest.bucket, key: manifest.key } },
      database: { instanceId, databaseName: 'lportal' }, documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: prefix },
    }), '/restorerequest/sync');
    const gone = (id: string) => assert.rejects(rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id })), /not found/i, `${id} was deleted`);

    const passed = drill('drill-1', 'retail-drill', 'retail/drill-1');
    assert.equal(await drive(passed, { replays: 3 }), 'Succeeded', JSON.stringify(passed.status.conditions));
    const ps = passed.status as RestoreRequestStatus;
    assert.equal(ps.drill?.verdict, 'Passed');
    assert.equal(ps.drill?.cleanup, 'Done', ps.drill?.cleanupMessage);
    assert.equal(typeof ps.drill?.rtoSeconds, 'number');
    assert.match(ps.drill?.cleanupMessage ?? '', new RegExp(`dropped database lportal on retail-drill; deleted ${ps.documentLibrary!.objectCount} objects under restored-dl/retail/drill-1/`));
    assert.ok(ps.documentLibrary!.objectCount! > 0);
    await gone('retail-drill');
    assert.deepEqual(await keys('restored-dl', 'retail/drill-1/'), []);

    // Into an instance that is not the drill's: refused before anything is created, and never deleted.
    const taken = drill('drill-2', 'retail-prd-db', 'retail/drill-2');
    assert.equal(await drive(taken, { replays: 1 }), 'Failed');
    const ts = taken.status as RestoreRequestStatus;
    assert.equal(ts.drill?.reason, 'TargetExists');
    assert.equal(ts.drill?.cleanup, 'Done');
    assert.ok((await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'retail-prd-db' }))).DBInstances?.length, 'retail-prd-db is untouched');

    // Someone writes into the scratch prefix after the database step (and plants a checkpoint that
    // says the copy already checked it): the copy refuses it, the drill fails, and its cleanup
    // deletes the instance it made but not the prefix it did not write.
    const foreign = 'retail/drill-3/20097/20121/1/1.0';
    const failed = drill('drill-3', 'retail-drill-3', 'retail/drill-3');
    assert.equal(await drive(failed, { replays: 1, afterSync: async () => {
      const ops = (failed.status as RestoreRequestStatus).operations;
      // The copy's step is started (its ID in status) but has not yet looked at the prefix. Beside
      // the file, a planted (unsigned) copy checkpoint that claims the prefix is the drill's own.
      const results = (failed.status as RestoreRequestStatus).source?.resultsPrefix;
      if (ops?.database?.state === 'Succeeded' && ops.documentLibrary && !ops.documentLibrary.progress) {
        await s3.send(new PutObjectCommand({ Bucket: 'restored-dl', Key: foreign, Body: 'not the drill\'s' }));
        await s3.send(new PutObjectCommand({ Bucket: manifest.bucket, Key: `${results}documentLibrary-progress.json`, Body: JSON.stringify({ progress: { checked: true, own: { copied: 0, alreadyThere: 0, excluded: 0, bytes: 0 } }, done: false }) }));
      }
    } }), 'Failed');
    const fs = failed.status as RestoreRequestStatus;
    assert.equal(fs.drill?.verdict, 'Failed');
    assert.equal(fs.drill?.reason, 'TargetNotEmpty', fs.drill?.message);
    assert.equal(fs.drill?.cleanup, 'Done', fs.drill?.cleanupMessage);
    await gone('retail-drill-3');
    assert.deepEqual(await keys('restored-dl', 'retail/drill-3/'), [foreign], 'the file the drill did not write is left');
  });

  it('a well-formed manifest naming a snapshot this project did not take is refused before any instance is created', async (t) => {
    if (moto.kind !== 'moto') { t.skip('moto_server is not installed'); return; }
    const real = JSON.parse((await body('lc2-backups', (full.status as BackupRequestStatus).manifest!.key)).toString('utf8')) as Manifest;
    // Another project's snapshot of the same (shared) instance.
    await rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'retail-prd-db', DBSnapshotIdentifier: 'bank-owned-snap', Tags: [{ Key: 'lc2.backup.liferay.cloud/project', Value: 'bank' }, { Key: UID_TAG, Value: 'bank-uid' }] }));
    const prefix = 'retail/prd/forged-0000000f/';
    const forged: Manifest = { ...real, backupId: 'forged-0000000f', source: { ...real.source, uid: 'bank-uid' }, location: { bucket: 'lc2-backups', prefix },
      database: { ...real.database, snapshotId: 'bank-owned-snap' }, documentLibrary: { ...real.documentLibrary, prefix: `${prefix}dl/` } };
    delete (forged.database as { export?: unknown }).export;
    await s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: `${prefix}manifest.json`, Body: JSON.stringify(forged) }));
    const restore = driverFor(restoreRequest('restore-forged', { provider: 'aws', source: { manifest: { bucket: 'lc2-backups', key: `${prefix}manifest.json` } },
      database: { instanceId: 'retail-forged-restore', databaseName: 'lportal' }, documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: 'retail/forged' } }), '/restorerequest/sync');
    assert.equal(await drive(restore, { replays: 0 }), 'Failed');
    assert.equal((restore.status as RestoreRequestStatus).conditions?.find((c) => c.type === 'Ready')?.reason, 'SnapshotNotAllowed');
    await assert.rejects(rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'retail-forged-restore' })), /not found/i);
  });

  it('incremental: unchanged objects are referenced, not copied; the restore still yields the whole library; the base waits for its dependents', async (t) => {
    if (moto.kind !== 'moto') { t.skip('moto_server is not installed'); return; }
    const changed = originals()[3]!;
    const added: SampleFile = { key: 'document_library/20097/20121/77777/1.0', body: Buffer.from('a new upload'), generated: false };
    changed.body = Buffer.from('edited content');
    for (const f of [changed, added]) await s3.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: f.key, Body: f.body }));
    files.push(added);
    proxy.copies.clear();
    const parent = awsBackup('nightly-incr', { database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-db' },
      documentLibrary: { sourceBucket: 'liferay-dl', sourcePrefix: 'document_library/', destinationBucket: 'lc2-backups', incremental: true } });
    parent.metadata.creationTimestamp = new Date().toISOString();
    const incr = driverFor(parent, '/backuprequest/sync', relatedOf(full.parent));
    assert.equal(await drive(incr, { replays: 3 }), 'Succeeded', JSON.stringify(incr.status.conditions));
    const status = incr.status as BackupRequestStatus;
    assert.equal(status.incrementalBase?.backupId, (full.status as BackupRequestStatus).backupId);
    assert.equal(status.documentLibrary?.copiedObjects, 2, 'only the changed and the new object were copied');
    assert.equal(status.documentLibrary?.referencedObjects, originals().length - 2);
    assert.equal(proxy.copies.size, 2);
    const manifest = JSON.parse((await body('lc2-backups', status.manifest!.key)).toString());
    assert.deepEqual(schemaErrors('manifest', manifest), []);
    assert.equal(manifest.documentLibrary.base.backupId, status.incrementalBase?.backupId);

    const restore = driverFor(restoreRequest('restore-incr', {
      provider: 'aws', source: { manifest: { bucket: 'lc2-backups', key: status.manifest!.key } },
      database: { instanceId: 'retail-prd-incr', databaseName: 'lportal' }, documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: 'retail/prd-incr' },
    }), '/restorerequest/sync');
    assert.equal(await drive(restore, { replays: 2 }), 'Succeeded', JSON.stringify(restore.status.conditions));
    assert.deepEqual(await keys('restored-dl', 'retail/prd-incr/'), originals().map((f) => `retail/prd-incr/${rel(f)}`).sort());
    for (const f of originals()) assert.ok((await body('restored-dl', `retail/prd-incr/${rel(f)}`)).equals(f.body), f.key);

    // Deleting the full backup (deletionPolicy Delete) waits while the incremental one refers to it.
    // (As if made with Delete: the spec is immutable once started, and the admitted copy decides.)
    const base = structuredClone(full.parent) as BackupRequest;
    base.spec!.deletionPolicy = 'Delete';
    base.status!.admitted!.spec.deletionPolicy = 'Delete';
    base.status!.admitted!.specSha256 = specDigest(base.status!.admitted!.spec);
    base.metadata.deletionTimestamp = new Date().toISOString();
    const finalizer = driverFor(base, '/backuprequest/finalize', relatedOf(base, incr.parent));
    const answer = await finalizer.sync(true);
    assert.equal(answer.finalized, false);
    assert.match(JSON.stringify(finalizer.status.conditions), /DeletionWaitsForDependents/);
    assert.ok((await keys('lc2-backups', (full.status as BackupRequestStatus).location!.prefix)).length > 0, 'nothing deleted');
  });

  it('deletionPolicy Delete removes exactly this backup: its prefix and its snapshot, nothing else', async (t) => {
    if (moto.kind !== 'moto') { t.skip('moto_server is not installed'); return; }
    const doomed = driverFor(awsBackup('to-delete', { deletionPolicy: 'Delete', database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-db' } }), '/backuprequest/sync');
    assert.equal(await drive(doomed, { replays: 0 }), 'Succeeded');
    const st = doomed.status as BackupRequestStatus;
    doomed.parent.metadata.deletionTimestamp = new Date().toISOString();
    const others = await keys('lc2-backups', (full.status as BackupRequestStatus).location!.prefix);
    let finalized = false;
    for (let i = 0; i < 20 && !finalized; i += 1) finalized = (await doomed.sync(true)).finalized === true;
    assert.ok(finalized);
    assert.deepEqual(await keys('lc2-backups', st.location!.prefix), []);
    const snaps = (await rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: 'retail-prd-db', SnapshotType: 'manual' }))).DBSnapshots ?? [];
    assert.ok(!snaps.some((s) => s.DBSnapshotIdentifier === st.database?.snapshotId), 'its snapshot is deleted');
    assert.ok(snaps.some((s) => s.DBSnapshotIdentifier === (full.status as BackupRequestStatus).database?.snapshotId), 'other snapshots stay');
    assert.deepEqual(await keys('lc2-backups', (full.status as BackupRequestStatus).location!.prefix), others, 'another backup is untouched');
  });

  it('a snapshot that disappears before the manifest is written fails the backup instead of marking it Succeeded', async (t) => {
    if (moto.kind !== 'moto') { t.skip('moto_server is not installed'); return; }
    const d = driverFor(awsBackup('lost-snapshot', { database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-db' } }), '/backuprequest/sync');
    for (let i = 0; i < 20 && d.phase !== 'TransferInProgress'; i += 1) await d.sync();
    assert.equal(d.phase, 'TransferInProgress');
    await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: (d.status as BackupRequestStatus).database!.snapshotId! }));
    assert.equal(await drive(d, { replays: 0 }), 'Failed');
    const ready = (d.status as BackupRequestStatus).conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.reason, 'VerificationFailed');
    assert.match(ready?.message ?? '', /snapshot lc2-s-[a-f0-9]+: .*no longer exists/);
    assert.equal((d.status as BackupRequestStatus).manifest, undefined);
  });

  it('with throttling, 500s and dropped connections on 10% of requests, the backup still succeeds without duplicates', async (t) => {
    if (moto.kind !== 'moto') { t.skip('moto_server is not installed'); return; }
    proxy.copies.clear(); proxy.actions.clear();
    proxy.faults.share = 0.1;
    proxy.faults.seen = 0;
    const d = driverFor(awsBackup('under-faults', { database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-db' } }), '/backuprequest/sync');
    try { assert.equal(await drive(d, { replays: 1, honourBackoff: true, maxSyncs: 600 }), 'Succeeded', JSON.stringify(d.status.conditions)); } finally { proxy.faults.share = 0; }
    assert.ok(proxy.faults.seen > 20, `faults were injected (${proxy.faults.seen})`);
    assert.equal(proxy.actions.get('CreateDBSnapshot'), 1);
    assert.equal(proxy.copies.size, originals().length);
    assert.ok([...proxy.copies.values()].every((n) => n === 1), `no object copied twice: ${JSON.stringify([...proxy.copies].filter(([, n]) => n > 1).slice(0, 3))}`);
    // What the record says is what is in the backup: a listing of its dl/ folder.
    const s2 = d.status as BackupRequestStatus;
    const listed = await keys('lc2-backups', `${s2.location!.prefix}dl/`);
    const manifest = JSON.parse((await body('lc2-backups', s2.manifest!.key)).toString()) as Manifest;
    assert.equal(manifest.documentLibrary.objectCount, listed.length);
    assert.equal(s2.documentLibrary?.objectCount, listed.length);
    assert.equal(s2.documentLibrary?.copiedObjects, listed.length, 'every object was copied by this backup, in some sync');
  });

  it('a throttled provider is retried with backoff (attempts and notBefore in status, no call before it); a missing instance or bucket fails with what to fix', async (t) => {
    if (moto.kind !== 'moto') { t.skip('moto_server is not installed'); return; }
    const d = driverFor(awsBackup('throttled', { database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-db' } }), '/backuprequest/sync');
    await d.sync(); // records the operation
    proxy.faults.share = 1;
    try { await d.sync(); } finally { proxy.faults.share = 0; }
    const op = (d.status as BackupRequestStatus).operations!.snapshot!;
    assert.equal(op.state, 'Running');
    assert.equal(op.attempts, 1);
    assert.ok(op.notBefore && Date.parse(op.notBefore) > Date.now(), 'backoff recorded');
    const before = [...proxy.received.values()].reduce((a, b) => a + b, 0);
    const answer = await d.sync();
    assert.ok((answer.resyncAfterSeconds ?? 0) >= 1, 'resync at the end of the backoff');
    assert.equal([...proxy.received.values()].reduce((a, b) => a + b, 0), before, 'no provider call before notBefore');
    assert.match(JSON.stringify(d.status.conditions), /transient failure/);

    const missing = driverFor(awsBackup('no-such-instance', { database: { engine: 'postgresql', type: 'snapshot', instanceId: 'no-such-db' } }), '/backuprequest/sync');
    assert.equal(await drive(missing, { replays: 0 }), 'Failed');
    assert.match(JSON.stringify(missing.status.conditions), /check spec.database.instanceId: no such RDS instance/);

    const noBucket = driverFor(awsBackup('no-such-bucket', { database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-db' },
      documentLibrary: { sourceBucket: 'no-such-dl', destinationBucket: 'lc2-backups' } }), '/backuprequest/sync');
    assert.equal(await drive(noBucket, { replays: 0 }), 'Failed');
    assert.match(JSON.stringify(noBucket.status.conditions), /NoSuchBucket/);
  });

  it('a large object under way when a hook process is killed mid-part: a new process continues it, each part copied once, byte-identical', async (t) => {
    if (moto.kind !== 'moto') { t.skip('moto_server is not installed'); return; }
    proxy.parts.clear();
    const d = driverFor(awsBackup('big-restart', {
      database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-db' },
      documentLibrary: { sourceBucket: 'liferay-dl', sourcePrefix: 'big-files/', destinationBucket: 'lc2-backups', excludeGeneratedFiles: true },
    }), '/backuprequest/sync');
    // Part copies are slow (held 300 ms): a sync's 150 ms budget starts at most 8 of the 12.
    proxy.partDelayMs = 300;
    let seen = 0;
    let killed: Promise<void> | undefined;
    proxy.onCopyStart = () => { seen += 1; if (seen === 3) killed = hooks[0]!.kill(); };
    try {
      for (let i = 0; d.phase !== 'Succeeded' && d.phase !== 'Failed'; i += 1) {
        assert.ok(i < 300, `did not finish: ${JSON.stringify(d.status.conditions)}`);
        if (killed) { await killed; killed = undefined; hooks[0] = await startHookProcess(env); }
        // A call to the killed process fails; Metacontroller retries it (here: the next process).
        const answer = await d.sync().catch(() => undefined);
        if (!answer) continue;
        // The killed holder's lease expires after its ttl: the next holder continues the upload.
        if ((answer.resyncAfterSeconds ?? 0) > 1) await new Promise((r) => setTimeout(r, 1000));
      }
    } finally { proxy.partDelayMs = 0; proxy.onCopyStart = undefined; }
    assert.equal(d.phase, 'Succeeded', JSON.stringify(d.status.conditions));
    assert.ok(seen >= 3, 'a process was killed while a part was under way');
    const status = d.status as BackupRequestStatus;
    const dest = `${status.location!.prefix}dl/20097/20121/77777/1.0`;
    const counts = Array.from({ length: 12 }, (_, i) => proxy.parts.get(`/lc2-backups/${dest}#${i + 1}`) ?? 0);
    assert.deepEqual(counts, counts.map(() => 1), `each of the 12 parts copied once: ${JSON.stringify(counts)}`);
    assert.ok((await body('lc2-backups', dest)).equals(await body('liferay-dl', BIG_KEY)), 'byte-identical');
    assert.equal(status.documentLibrary?.objectCount, 1);
  });

  it("with the customer's KMS key in the BackupTenant: every copy (single and part by part) and the export use it, the manifest says so; a tenant without one is refused before anything starts", async (t) => {
    if (moto.kind !== 'moto') { t.skip('moto_server is not installed'); return; }
    const credentials = { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey };
    // moto's KMS: a real key ARN (moto does not check that S3 may use it, real KMS does: docs/encryption.md).
    const arn = (await new KMSClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials }).send(new CreateKeyCommand({ Description: 'retail backups' }))).KeyMetadata!.Arn!;
    const tenantWith = (encryption: Record<string, string>) => () => ({ [groupKey('BackupTenant', API_VERSION)]: {
      retail: { apiVersion: API_VERSION, kind: 'BackupTenant', metadata: { name: 'retail' }, spec: { namespaces: ['proj-retail-prd'], encryption } } as KubeObject,
    } });
    const check = async (d: MetacontrollerDriver, copied = true) => {
      assert.equal(await drive(d, { replays: 2 }), 'Succeeded', JSON.stringify(d.status.conditions));
      const status = d.status as BackupRequestStatus;
      assert.equal(status.encryption?.awsKmsKeyArn, arn, 'frozen in status');
      const manifest = JSON.parse((await body('lc2-backups', status.manifest!.key)).toString()) as Manifest;
      assert.deepEqual(schemaErrors('manifest', manifest), []);
      assert.deepEqual(manifest.documentLibrary.encryption, { type: 'aws:kms', kmsKeyArn: arn });
      const copies = await keys('lc2-backups', manifest.documentLibrary.prefix);
      assert.equal(copies.length > 0, copied);
      for (const key of copies) {
        const head = await s3.send(new HeadObjectCommand({ Bucket: 'lc2-backups', Key: key }));
        assert.deepEqual([head.ServerSideEncryption, head.SSEKMSKeyId], ['aws:kms', arn], key);
      }
      return manifest;
    };
    proxy.actions.clear();
    const kmsFull = driverFor(awsBackup('kms-full'), '/backuprequest/sync', tenantWith({ awsKmsKeyArn: arn }));
    const fullManifest = await check(kmsFull);
    // The snapshot is copied into the key once (every sync replayed twice more), the copy is the recovery point, the original is gone.
    const uid = kmsFull.parent.metadata.uid!.replace(/-/g, '');
    assert.equal(proxy.actions.get('CopyDBSnapshot'), 1);
    assert.equal(fullManifest.database.snapshotId, `lc2-k-${uid}`);
    assert.equal(fullManifest.database.kmsKeyId, arn);
    const manual = (await rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: 'retail-prd-db', SnapshotType: 'manual' }))).DBSnapshots ?? [];
    const copy = manual.find((x) => x.DBSnapshotIdentifier === `lc2-k-${uid}`);
    assert.deepEqual([copy?.KmsKeyId, copy?.Encrypted], [arn, true]);
    assert.equal(Object.fromEntries((copy?.TagList ?? []).map((x) => [x.Key, x.Value]))[UID_TAG], kmsFull.parent.metadata.uid, 'the copy carries the UID tag');
    assert.ok(!manual.some((x) => x.DBSnapshotIdentifier === `lc2-s-${uid}`), 'the original under the instance key is not kept');
    assert.equal(fullManifest.database.export?.kmsKeyId, arn, 'the tenant key replaces the spec\'s alias/lc2-exports');
    const task = (await rds.send(new DescribeExportTasksCommand({ ExportTaskIdentifier: fullManifest.operations.export }))).ExportTasks?.[0];
    assert.equal(task?.KmsKeyId, arn);
    assert.match(task?.SourceArn ?? '', new RegExp(`:snapshot:lc2-k-${uid}$`), 'the export is of the copy');
    const tag = await s3.send(new GetObjectTaggingCommand({ Bucket: 'lc2-backups', Key: `${fullManifest.documentLibrary.prefix}${rel(originals()[0]!)}` }));
    assert.deepEqual(tag.TagSet, [{ Key: 'lc2-source-etag', Value: (await s3.send(new HeadObjectCommand({ Bucket: 'liferay-dl', Key: originals()[0]!.key }))).ETag!.replace(/"/g, '') }]);

    // Incremental under SSE-KMS, with listings answering non-MD5 ETags for the copies as real S3 does:
    // an unchanged object is recognised by its tag and referenced; a base under another key (or none) is never used.
    const incremental = (name: string) => {
      const parent = awsBackup(name, { database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-db' },
        documentLibrary: { sourceBucket: 'liferay-dl', sourcePrefix: 'document_library/', destinationBucket: 'lc2-backups', incremental: true } });
      parent.metadata.creationTimestamp = new Date().toISOString();
      return parent;
    };
    proxy.kmsEtagBucket = 'lc2-backups';
    try {
      const alone = driverFor(incremental('kms-incr-plain-base'), '/backuprequest/sync', () => ({ ...tenantWith({ awsKmsKeyArn: arn })(), ...relatedOf(full.parent)() }));
      await check(alone);
      assert.equal((alone.status as BackupRequestStatus).incrementalBase, undefined, 'a base without the key is not referred to');
      proxy.copies.clear();
      const incr = driverFor(incremental('kms-incr'), '/backuprequest/sync', () => ({ ...tenantWith({ awsKmsKeyArn: arn })(), ...relatedOf(full.parent, kmsFull.parent)() }));
      await check(incr, false);
      const status = incr.status as BackupRequestStatus;
      assert.equal(status.incrementalBase?.backupId, (kmsFull.status as BackupRequestStatus).backupId);
      assert.equal(status.documentLibrary?.copiedObjects, 0, 'every object unchanged since kms-full');
      assert.equal(status.documentLibrary?.referencedObjects, originals().length);
    } finally { delete proxy.kmsEtagBucket; }
    const big = driverFor(awsBackup('kms-big', {
      deletionPolicy: 'Delete', database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-db' },
      documentLibrary: { sourceBucket: 'liferay-dl', sourcePrefix: 'big-files/', destinationBucket: 'lc2-backups', excludeGeneratedFiles: true },
    }), '/backuprequest/sync', tenantWith({ awsKmsKeyArn: arn }));
    await check(big);
    // Deleted: its folder and its snapshot copy; the other encrypted backup keeps its copy.
    const bigStatus = big.status as BackupRequestStatus;
    big.parent.metadata.deletionTimestamp = new Date().toISOString();
    let finalized = false;
    for (let i = 0; i < 20 && !finalized; i += 1) finalized = (await big.sync(true)).finalized === true;
    assert.ok(finalized);
    assert.deepEqual(await keys('lc2-backups', bigStatus.location!.prefix), []);
    const left = ((await rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: 'retail-prd-db', SnapshotType: 'manual' }))).DBSnapshots ?? []).map((x) => x.DBSnapshotIdentifier);
    assert.ok(!left.includes(bigStatus.database!.snapshotId) && left.includes(`lc2-k-${uid}`), JSON.stringify(left));

    proxy.actions.clear();
    const recipient = await identityToRecipient(await generateX25519Identity());
    const refused = driverFor(awsBackup('kms-missing'), '/backuprequest/sync', tenantWith({ keyVersion: 'v1', recipient }));
    assert.equal(await drive(refused, { replays: 2 }), 'Failed');
    const ready = (refused.status as BackupRequestStatus).conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.reason, 'InvalidSpec');
    assert.match(ready?.message ?? '', /spec\.encryption\.awsKmsKeyArn: the project requires encryption/);
    assert.equal(proxy.actions.get('CreateDBSnapshot') ?? 0, 0, 'nothing was started');
  });
});

describe('AWS consistency check (moto RDS + S3, the real PostgreSQL as the instance, real Jobs)', () => {
  const DB = 'lc2_aws_keys';
  const deleted = files.find((f) => f.key === `document_library/${COMPANY_ID}/${GROUP_ID}/30007/1.0`)!;
  const orphan = `document_library/${COMPANY_ID}/${GROUP_ID}/99999/1.0`;
  after(() => dropDatabase(localPostgres, DB));

  it('the keys are listed before the snapshot, the copy is checked against them: a file deleted in between and a row without a file are missing, a new file an orphan', async (t) => {
    if (moto.kind !== 'moto') { t.skip('moto_server is not installed'); return; }
    createSampleDatabase(localPostgres, DB, 300);
    // A row whose file never existed.
    sql(localPostgres, DB, `insert into DLFileEntry values (301, ${GROUP_ID}, ${COMPANY_ID}, ${GROUP_ID}, 0, '30301', 'never.pdf', 'Never', 'application/pdf', 1, '1.0', '');
      insert into DLFileVersion values (301, 301, '1.0', 1, 'x', 'never uploaded');`);
    const d = new MetacontrollerDriver(awsBackup('checked', {
      database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-db', endpoint: '127.0.0.1:5432', databaseName: DB, credentialsSecretRef: { name: 'retail-db' } },
    }), { hookUrl: () => hooks[turn++ % hooks.length]!.url, syncPath: '/backuprequest/sync', related: () => ({}), secrets: {
      'retail-db': { username: 'postgres', password: '' },
      'lc2-aws-job': credentialEnv(moto),
    } });
    const snapshotsBefore = proxy.actions.get('CreateDBSnapshot') ?? 0;
    let snapshotsWhenListed: number | undefined;
    try {
      assert.equal(await drive(d, { replays: 3, afterSync: async () => {
        const keysJob = [...d.children.values()].find((c) => c.kind === 'Job' && !c.status && c.metadata.labels?.['app.kubernetes.io/component'] === 'keys');
        if (keysJob) snapshotsWhenListed = proxy.actions.get('CreateDBSnapshot') ?? 0;
        await d.runPendingJobs();
        if (keysJob) {
          // Between the list and the copy: a referred-to file is deleted, a file nobody refers to appears.
          await s3.send(new DeleteObjectCommand({ Bucket: 'liferay-dl', Key: deleted.key }));
          await s3.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: orphan, Body: 'new' }));
        }
      } }), 'Succeeded', `${JSON.stringify(d.status.conditions)}\n${d.jobRuns.map((r) => r.stderr).join('\n')}`);
    } finally {
      await s3.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: deleted.key, Body: deleted.body }));
      await s3.send(new DeleteObjectCommand({ Bucket: 'liferay-dl', Key: orphan }));
    }
    assert.equal(snapshotsWhenListed, snapshotsBefore, 'the key list was read before the snapshot was started');
    assert.equal(proxy.actions.get('CreateDBSnapshot'), snapshotsBefore + 1);
    assert.deepEqual(d.jobRuns.map((r) => [r.job.replace(/-[0-9a-f]{8}$/, ''), r.exitCode]), [['checked-keys', 0], ['checked-check', 0]], d.jobRuns.map((r) => r.stderr).join('\n'));

    const status = d.status as BackupRequestStatus;
    const c = status.documentLibrary?.consistency;
    assert.equal(c?.expected, 301);
    assert.equal(c?.missing, 2);
    assert.deepEqual(c?.missingSample, [`${COMPANY_ID}/${GROUP_ID}/30007/1.0`, `${COMPANY_ID}/${GROUP_ID}/30301/1.0`]);
    // Orphans: the new file, and any original no row refers to (an earlier test here uploads one).
    const unreferenced = originals().map(rel).filter((k) => { const n = Number(k.split('/')[2]); return n < 30001 || n > 30300; });
    assert.equal(c?.orphans, unreferenced.length + 1);
    assert.deepEqual(c?.orphanSample, [...unreferenced, `${COMPANY_ID}/${GROUP_ID}/99999/1.0`].sort());
    const consistent = status.conditions?.find((x) => x.type === 'Consistent');
    assert.equal(consistent?.status, 'False');
    assert.equal(consistent?.reason, 'ReferencedFilesMissing');
    const manifest = JSON.parse((await body('lc2-backups', status.manifest!.key)).toString()) as Manifest;
    assert.deepEqual(schemaErrors('manifest', manifest), []);
    assert.deepEqual(manifest.documentLibrary.consistency, c);
    // The list stays beside the backup; the Jobs carry references to Secrets, never their values.
    assert.ok((await keys('lc2-backups', `${status.location!.prefix}results/`)).includes(`${status.location!.prefix}results/expected-keys.zst`));
    assert.ok(!JSON.stringify([...d.children.values()]).includes(moto.secretAccessKey), 'no secret value in a Job spec');
  });

  it('a check result that does not use the list it was given is refused', async (t) => {
    if (moto.kind !== 'moto') { t.skip('moto_server is not installed'); return; }
    createSampleDatabase(localPostgres, DB, 20);
    const d = new MetacontrollerDriver(awsBackup('forged-check', {
      documentLibrary: { sourceBucket: 'liferay-dl', sourcePrefix: 'tiny-dl/', destinationBucket: 'lc2-backups', excludeGeneratedFiles: true },
      database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-db', endpoint: '127.0.0.1:5432', databaseName: DB, credentialsSecretRef: { name: 'retail-db' } },
    }), { hookUrl: () => hooks[turn++ % hooks.length]!.url, syncPath: '/backuprequest/sync', related: () => ({}), secrets: {
      'retail-db': { username: 'postgres', password: '' }, 'lc2-aws-job': credentialEnv(moto),
    } });
    await s3.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: `tiny-dl/${COMPANY_ID}/${GROUP_ID}/30001/1.0`, Body: 'one' }));
    // A tenant with the project's credentials rewrites the check's result as the Job finishes: all files there.
    assert.equal(await drive(d, { replays: 1, afterSync: async () => {
      const check = [...d.children.values()].find((c) => c.kind === 'Job' && !c.status && c.metadata.labels?.['app.kubernetes.io/component'] === 'consistency');
      await d.runPendingJobs();
      if (!check) return;
      const location = (d.status as BackupRequestStatus).location!;
      const key = `${location.prefix}results/consistency.json`;
      const genuine = JSON.parse((await body(location.bucket, key)).toString()) as { consistency: Record<string, unknown> };
      assert.equal(genuine.consistency.missing, 19, 'the Job found every row but 30001 without its file');
      genuine.consistency = { ...genuine.consistency, expected: 1, missing: 0, missingSample: [] };
      await s3.send(new PutObjectCommand({ Bucket: location.bucket, Key: key, Body: JSON.stringify(genuine) }));
    } }), 'Failed');
    const ready = (d.status as BackupRequestStatus).conditions?.find((x) => x.type === 'Ready');
    assert.equal(ready?.reason, 'ResultInvalid', JSON.stringify(ready));
    assert.match(ready?.message ?? '', /the check compared 1 keys, the key list holds 20/);
  });
});
