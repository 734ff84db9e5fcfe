// Environment retention and the snapshot quota with the AWS provider, against moto (RDS + S3) and
// real PostgreSQL: real backups (snapshot + document-library copy) made through the hook, one of
// them deleted with Retain, then the BackupTenant's sweep. moto does not implement
// DescribeAccountAttributes, so the quota is our count of manual snapshots against the configured
// one (LC2_AWS_MANUAL_SNAPSHOT_QUOTA); moto itself is started with the same limit, so the backup
// after the reported pressure really fails with SnapshotQuotaExceeded.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { S3Client, CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { RDSClient, CreateDBInstanceCommand, CreateDBSnapshotCommand, DeleteDBSnapshotCommand, DescribeDBSnapshotsCommand } from '@aws-sdk/client-rds';
import { credentialEnv, startS3, type S3Server } from './support/processes.ts';
import { allKeys } from './support/s3Keys.ts';
import { createPgCluster, type PgCluster } from './support/pgCluster.ts';
import { MetacontrollerDriver } from './support/driver.ts';
import { backupRequest } from './support/resources.ts';
import { TEST_POLICY, post } from './support/inProcessHook.ts';
import { createApp } from '../hooks/server/app.ts';
import { backupShell, restoreShell } from '../app/registry.ts';
import { FileObjectStore } from '../providers/shared/storage/fileStore.ts';
import { connect, type Sql } from '../hooks/archive/db.ts';
import { Archive } from '../hooks/archive/store.ts';
import { UID_TAG, PROJECT_TAG } from '../providers/aws/rds.ts';
import { API_VERSION } from '../hooks/contract/objects.ts';
import type { BackupRequest, BackupRequestStatus, BackupTenant, BackupTenantStatus } from '../core/crd.ts';
import type { AwsProviderConfig } from '../providers/aws/config.ts';

const QUOTA = 5;
let moto: S3Server;
let pg: PgCluster;
let sql: Sql;
let server: Server;
let url = '';
let s3: S3Client;
let rds: RDSClient;
const existing = new Map<string, BackupRequest>();

before(async () => {
  // moto counts the instance's automated snapshot against its limit too; AWS's quota is manual snapshots only.
  process.env.MOTO_RDS_SNAPSHOT_LIMIT = String(QUOTA + 1);
  moto = await startS3();
  if (moto.kind !== 'moto') return;
  Object.assign(process.env, credentialEnv(moto));
  const credentials = { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey };
  s3 = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1', credentials });
  rds = new RDSClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials });
  for (const b of ['liferay-dl', 'lc2-backups']) await s3.send(new CreateBucketCommand({ Bucket: b }));
  for (let i = 0; i < 20; i += 1) await s3.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: `document_library/1/2/f${i}.txt/1.0`, Body: `file ${i}` }));
  await rds.send(new CreateDBInstanceCommand({ DBInstanceIdentifier: 'retail-prd-db', Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'liferay', MasterUserPassword: 'not-a-real-one-1' }));
  pg = await createPgCluster();
  sql = await connect(pg.url);
  const aws: AwsProviderConfig = {
    region: 'us-east-1', endpoint: moto.endpoint, copy: { parallelism: 8, multipartThreshold: 256 * 1024 ** 2, partSize: 128 * 1024 ** 2, pageSize: 100 },
    stepBudgetMs: 5000, callTimeoutMs: 4000, manualSnapshotQuota: QUOTA,
  };
  const archive = new Archive(sql);
  const store = new FileObjectStore('/nonexistent-lc2-storage');
  const now = () => new Date().toISOString();
  const shell = {
    ...backupShell({ aws }, store, now, TEST_POLICY, archive), readParent: async (b: BackupRequest) => existing.get(`${b.metadata.namespace}/${b.metadata.name}`),
    liveBackupUids: async () => new Set([...existing.values()].map((b) => b.metadata.uid!)),
  };
  server = createServer(createApp({ backup: shell, restore: restoreShell({ aws }, store, now, TEST_POLICY, archive) }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

after(async () => {
  if (server) await new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  await sql?.close();
  pg?.remove();
  await moto?.stop();
});

async function backup(name: string, withEngine = true): Promise<MetacontrollerDriver> {
  // A snapshot backup may leave the engine out (the design documents' example does): the snapshot knows it.
  const parent = backupRequest(name, { provider: 'aws', database: { ...(withEngine ? { engine: 'postgresql' } : {}), type: 'snapshot', instanceId: 'retail-prd-db' } });
  const d = new MetacontrollerDriver(parent, { hookUrl: () => url, syncPath: '/backuprequest/sync', secrets: {} });
  const archived = () => (d.status as BackupRequestStatus).conditions?.some((c) => c.type === 'Archived' && c.status === 'True');
  // Metacontroller keeps syncing a finished backup; the sync after Succeeded archives it.
  for (let i = 0; i < 50 && !archived() && d.phase !== 'Failed'; i += 1) await d.sync();
  existing.set(`${parent.metadata.namespace}/${name}`, d.parent as BackupRequest);
  return d;
}

const tenant = (status?: BackupTenantStatus): BackupTenant => ({
  apiVersion: API_VERSION, kind: 'BackupTenant', metadata: { name: 'retail', uid: 't-1', generation: 1 },
  spec: { namespaces: ['proj-retail-prd'], backupBuckets: ['lc2-backups'], retention: { environments: { prd: { keepLast: 1 } } } },
  ...(status ? { status } : {}),
});
const sweep = async () => {
  const res = await post(`${url}/backuptenant/sync`, { parent: tenant(), children: {}, related: {} });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body as { status: BackupTenantStatus }).status;
};
const manual = async () => (await rds.send(new DescribeDBSnapshotsCommand({ SnapshotType: 'manual' }))).DBSnapshots ?? [];
const pressure = (s: BackupTenantStatus) => s.conditions!.find((c) => c.type === 'SnapshotQuotaPressure')!;

describe('environment retention and the snapshot quota (AWS on moto, real PostgreSQL)', () => {
  it('reports quota pressure before a backup fails on it; the sweep deletes an orphaned backup\'s snapshot and folder, and nothing of another project', async (t) => {
    if (moto.kind !== 'moto') { t.skip('moto_server is not installed (RDS needs it)'); return; }
    // Another project in the same account already holds two manual snapshots.
    for (const id of ['other-a', 'other-b']) {
      await rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'retail-prd-db', DBSnapshotIdentifier: id, Tags: [{ Key: PROJECT_TAG, Value: 'other' }] }));
    }
    const b1 = await backup('b1');
    const b2 = await backup('b2', false);
    assert.equal((b2.status as BackupRequestStatus).database?.engine, 'postgresql', 'the engine comes from the RDS snapshot');
    assert.equal(b1.phase, 'Succeeded', JSON.stringify(b1.status.conditions));
    assert.equal(b2.phase, 'Succeeded');
    // 4 of 5: said before the fifth and sixth backups.
    const first = await sweep();
    assert.deepEqual(first.snapshotQuota, { provider: 'aws', used: 4, max: QUOTA });
    assert.equal(pressure(first).status, 'True');
    assert.equal(pressure(first).reason, 'QuotaNearlyExhausted');
    assert.match(pressure(first).message, /4 of its 5 manual RDS snapshots/);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /lc2_snapshot_quota\{provider="aws",kind="used"\} 4/);
    assert.match(metrics, /lc2_snapshot_quota\{provider="aws",kind="max"\} 5/);

    // b1 is deleted with Retain (the default): its data stays, and the history records the deletion.
    const fin = await post(`${url}/backuprequest/finalize`, { parent: b1.parent, children: {}, related: {}, finalizing: true });
    assert.equal(fin.body.finalized, true);
    existing.delete('proj-retail-prd/b1');
    const b1Status = b1.status as BackupRequestStatus;
    assert.ok((await allKeys(s3, 'lc2-backups', b1Status.location!.prefix)).length > 0, 'Retain kept the data');

    // The tenant even deletes b1's manifest: its snapshot (found by the UID, tags checked) and folder still go.
    await s3.send(new DeleteObjectCommand({ Bucket: 'lc2-backups', Key: b1Status.manifest!.key }));
    // The tenant sweeps it a sync later (keepLast 1 keeps b2, the newest): snapshot and folder go.
    const second = await sweep();
    assert.deepEqual(await allKeys(s3, 'lc2-backups', b1Status.location!.prefix), []);
    const left = (await manual()).map((x) => x.DBSnapshotIdentifier).sort();
    assert.deepEqual(left, ['other-a', 'other-b', (b2.status as BackupRequestStatus).database!.snapshotId!].sort());
    assert.ok((await allKeys(s3, 'lc2-backups', (b2.status as BackupRequestStatus).location!.prefix)).length > 0, 'b2 (governed, newest) untouched');
    assert.equal(second.expiredTotal, 1);
    assert.equal(first.snapshots, 2, 'the project\'s recovery points held two snapshots');
    assert.equal(second.snapshots, 1);
    assert.deepEqual(second.snapshotQuota, { provider: 'aws', used: 3, max: QUOTA });
    assert.equal(pressure(second).status, 'False');
  });

  it('a project at its share of the snapshot quota (BackupTenant maxSnapshots) waits instead of taking more; running snapshot backups count', async (t) => {
    if (moto.kind !== 'moto') { t.skip('moto_server is not installed (RDS needs it)'); return; }
    const capped = (snapshots: number): BackupTenant => ({ ...tenant(), spec: { ...tenant().spec!, maxSnapshots: 2 }, status: { snapshots } });
    const parent = backupRequest('capped', { provider: 'aws', database: { type: 'snapshot', instanceId: 'retail-prd-db' } });
    const running = { ...backupRequest('running', { provider: 'aws', database: { type: 'snapshot', instanceId: 'retail-prd-db' } }),
      status: { phase: 'SnapshotInProgress' as const, operations: { snapshot: { id: 'lc2-s-x', state: 'Running' as const } } } };
    const sync = async (t0: BackupTenant, others: BackupRequest[]) => (await post(`${url}/backuprequest/sync`, { parent, children: {}, related: {
      [`BackupTenant.${API_VERSION}`]: { retail: t0 },
      [`BackupRequest.${API_VERSION}`]: Object.fromEntries(others.map((b) => [`${b.metadata.namespace}/${b.metadata.name}`, b])),
    } })).body.status as BackupRequestStatus;
    const full = await sync(capped(2), []);
    assert.equal(full.phase, 'Queued');
    assert.match(full.queue?.reason ?? '', /holds 2 of its 2 database snapshots \(BackupTenant spec.maxSnapshots\)/);
    assert.equal((await sync(capped(1), [running])).phase, 'Queued', 'a snapshot being taken counts');
    assert.equal((await sync(capped(1), [])).phase, 'SnapshotInProgress', 'below the cap it starts');
  });

  it('a manifest rewritten to name another project\'s snapshot never gets it deleted', async (t) => {
    if (moto.kind !== 'moto') { t.skip('moto_server is not installed (RDS needs it)'); return; }
    for (const id of ['other-a', 'other-b']) await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: id }));
    const b3 = await backup('b3');
    await backup('b4');
    const s = b3.status as BackupRequestStatus;
    // A snapshot of another project that happens to carry b3's UID tag (the UID is only a claim).
    await rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'retail-prd-db', DBSnapshotIdentifier: 'other-c', Tags: [{ Key: PROJECT_TAG, Value: 'other' }, { Key: UID_TAG, Value: b3.parent.metadata.uid! }] }));
    const manifest = JSON.parse(Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'lc2-backups', Key: s.manifest!.key }))).Body!.transformToByteArray()).toString());
    manifest.operations.snapshot = 'other-c';
    await s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: s.manifest!.key, Body: JSON.stringify(manifest) }));
    await post(`${url}/backuprequest/finalize`, { parent: b3.parent, children: {}, related: {}, finalizing: true });
    existing.delete('proj-retail-prd/b3');
    const swept = await sweep();
    assert.ok((await manual()).some((x) => x.DBSnapshotIdentifier === 'other-c'), 'another project\'s snapshot stays');
    assert.equal(swept.expiredTotal, 1, 'the folder went; the snapshot named by the forged manifest was refused');

    // Filling the quota: at 5 of 5 the tenant says so; the next snapshot backup then fails on it, readably.
    await backup('b5');
    const full = await sweep();
    assert.equal(pressure(full).reason, 'QuotaExhausted', JSON.stringify(full.snapshotQuota));
    const b6 = await backup('b6');
    assert.equal(b6.phase, 'Failed');
    assert.match(JSON.stringify(b6.status.conditions), /manual snapshot quota/);
  });
});
