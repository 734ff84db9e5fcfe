// The tenant boundary for the GCP provider, through the hook server with tenancy enforced: a
// BackupRequest or RestoreRequest naming another project's Cloud SQL instance or GCS bucket is
// refused before any Google API is called - the in-repo FAKES of Cloud SQL Admin and Storage
// Transfer (test/support/fake*.ts) receive nothing and fake-gcs-server gets no object - while the
// project's own request goes ahead.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createApp } from '../hooks/server/app.ts';
import { backupShell, restoreShell, DEFAULT_POLICY } from '../app/registry.ts';
import { trustRequest } from '../hooks/backup/sync.ts';
import { FileObjectStore } from '../providers/shared/storage/fileStore.ts';
import { startFakeGcs, objectsUnder, type FakeGcs } from './support/fakeGcs.ts';
import { startFakeCloudSql, type FakeCloudSql } from './support/fakeCloudSql.ts';
import { startFakeStorageTransfer, type FakeStorageTransfer } from './support/fakeStorageTransfer.ts';
import { post } from './support/inProcessHook.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';
import type { BackupTenant } from '../core/crd.ts';
import type { ProviderSettings } from '../app/registry.ts';

const PROJECT = 'lc2-test-project';
const tenant = (name: string, spec: BackupTenant['spec']): BackupTenant => ({ apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupTenant', metadata: { name }, spec });
const retail = tenant('retail', { namespaces: ['proj-retail-prd'], databaseInstances: ['retail-prd-db'], documentLibraryBuckets: ['liferay-dl', 'restored-dl'], backupBuckets: ['lc2-backups'] });
const bank = tenant('bank', { namespaces: ['proj-bank-prd'], databaseInstances: ['bank-prd-db'], documentLibraryBuckets: ['bank-dl'], backupBuckets: ['bank-backups'] });
const related = { 'BackupTenant.backup.liferay.cloud/v1alpha1': { retail, bank } };

let gcs: FakeGcs;
let sql: FakeCloudSql;
let sts: FakeStorageTransfer;
let server: Server;
let url = '';
const requests = () => [...sql.received.values(), ...sts.received.values()].reduce((a, b) => a + b, 0);

before(async () => {
  gcs = await startFakeGcs();
  sql = await startFakeCloudSql(gcs.storage, PROJECT);
  sts = await startFakeStorageTransfer(gcs.storage);
  for (const b of ['liferay-dl', 'lc2-backups', 'bank-dl', 'bank-backups']) await gcs.storage.createBucket(b);
  sql.addInstance('retail-prd-db');
  sql.addInstance('bank-prd-db');
  const settings: ProviderSettings = { gcp: { project: PROJECT, sqlAdminEndpoint: `${sql.endpoint}/`, transferEndpoint: sts.endpoint, storageEndpoint: gcs.endpoint, callTimeoutMs: 4000, defaultDatabase: 'lportal', leaseTtlMs: 20_000 } };
  const policy = { ...DEFAULT_POLICY, tenancy: 'enforce' as const };
  const unused = new FileObjectStore('/nonexistent-lc2-local-store');
  server = createServer(createApp({ backup: { ...backupShell(settings, unused, undefined, policy), readParent: trustRequest }, restore: restoreShell(settings, unused, undefined, policy) }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

after(async () => {
  await new Promise<void>((r) => { server?.closeAllConnections(); server?.close(() => r()); });
  await sts?.close(); await sql?.close(); await gcs?.stop();
});

const gcpBackup = (db: string, source: string, dest: string) => backupRequest('b', {
  provider: 'gcp', database: { type: 'snapshot', instanceId: db, export: {} },
  documentLibrary: { sourceBucket: source, sourcePrefix: 'document_library/', destinationBucket: dest },
});
const readyOf = (body: Record<string, unknown>) => ((body.status as { conditions?: Array<{ type: string; reason: string; message: string }> }).conditions ?? []).find((c) => c.type === 'Ready');

describe('GCP tenant boundary (hook server, tenancy enforced)', () => {
  for (const [what, parent, reason] of [
    ['another project\'s Cloud SQL instance', gcpBackup('bank-prd-db', 'liferay-dl', 'lc2-backups'), 'InstanceNotAllowed'],
    ['another project\'s document-library bucket', gcpBackup('retail-prd-db', 'bank-dl', 'lc2-backups'), 'BucketNotAllowed'],
    ['another project\'s backup bucket', gcpBackup('retail-prd-db', 'liferay-dl', 'bank-backups'), 'BucketNotAllowed'],
  ] as const) {
    it(`a backup naming ${what} is refused (${reason}) without a Google API call`, async () => {
      const before = requests();
      const res = await post(`${url}/backuprequest/sync`, { parent, children: {}, related });
      assert.equal(res.status, 200);
      assert.equal(readyOf(res.body)?.reason, reason);
      assert.equal(requests(), before, 'no Cloud SQL or Storage Transfer request');
      assert.equal((await objectsUnder(gcs.storage, 'bank-backups', '')).size, 0);
      assert.equal((await objectsUnder(gcs.storage, 'lc2-backups', '')).size, 0);
    });
  }

  it('a restore into another project\'s bucket, or from its backup bucket, is refused without a Google API call', async () => {
    const before = requests();
    for (const [bucket, manifestBucket] of [['bank-dl', 'lc2-backups'], ['restored-dl', 'bank-backups']] as const) {
      const parent = restoreRequest('r', { provider: 'gcp', source: { manifest: { bucket: manifestBucket, key: 'bank/prd/x-00000000/manifest.json' } },
        database: { instanceId: 'retail-prd-db', databaseName: 'lportal' }, documentLibrary: { destinationBucket: bucket, destinationPrefix: 'retail/prd' } });
      const res = await post(`${url}/restorerequest/sync`, { parent, children: {}, related });
      assert.equal(readyOf(res.body)?.reason, 'BucketNotAllowed', JSON.stringify(res.body.status));
    }
    assert.equal(requests(), before);
  });

  it('the project\'s own backup goes ahead (the boundary is not a blanket refusal)', async () => {
    const before = requests();
    let parent = gcpBackup('retail-prd-db', 'liferay-dl', 'lc2-backups');
    for (let i = 0; i < 3; i += 1) {
      const res = await post(`${url}/backuprequest/sync`, { parent, children: {}, related });
      assert.equal(res.status, 200);
      parent = { ...parent, status: res.body.status as typeof parent.status };
    }
    assert.equal(parent.status?.phase, 'SnapshotInProgress', JSON.stringify(parent.status?.conditions));
    assert.ok(requests() > before, 'Cloud SQL was called');
  });
});
