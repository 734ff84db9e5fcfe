// The tenant boundary for the Azure provider, through the hook (in process) with tenancy enforced:
// spec.database.instanceId names a resource group and server, buckets name a storage account and
// container, and the BackupTenant lists them in the same form - another resource group, server,
// account or container is refused before any ARM or Blob request. ARM is test/support/armFake.ts (a
// FAKE of ARM, see its header); Blob is a server that only counts requests (none may arrive).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createApp } from '../hooks/server/app.ts';
import { backupShell, restoreShell, DEFAULT_POLICY } from '../app/registry.ts';
import { trustRequest } from '../hooks/backup/sync.ts';
import { FileObjectStore } from '../providers/shared/storage/fileStore.ts';
import { azureConfigFromEnv } from '../providers/azure/config.ts';
import { startArmFake, type ArmFake } from './support/armFake.ts';
import { post } from './support/inProcessHook.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';
import type { BackupTenant } from '../core/crd.ts';

const tenant = (name: string, spec: BackupTenant['spec']): BackupTenant => ({ apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupTenant', metadata: { name }, spec });
const retail = tenant('retail', {
  namespaces: ['proj-retail-prd'], databaseInstances: ['rg-retail.retail-prd-pg', 'rg-retail.retail-restored'],
  documentLibraryBuckets: ['retaildl.liferay-dl', 'retaildl.restored-dl'], backupBuckets: ['retailbk.lc2-backups'],
});
const related = { 'BackupTenant.backup.liferay.cloud/v1alpha1': { retail } };

let arm: ArmFake;
let blob: Server;
let hook: Server;
let url = '';
let blobRequests = 0;
const listen = async (s: Server) => { await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r())); return (s.address() as { port: number }).port; };

before(async () => {
  arm = await startArmFake();
  blob = createServer((req, res) => { blobRequests += 1; req.resume(); res.writeHead(500); res.end(); });
  const blobPort = await listen(blob);
  const azure = azureConfigFromEnv({
    LC2_AZURE_SUBSCRIPTION_ID: arm.subscriptionId, LC2_AZURE_RESOURCE_GROUP: 'rg-retail', LC2_AZURE_ARM_ENDPOINT: arm.endpoint,
    LC2_AZURE_BLOB_URL_TEMPLATE: `http://127.0.0.1:${blobPort}/{account}`, LC2_AZURE_STORAGE_ACCOUNT_KEY: 'a2V5', LC2_CHECKPOINT_KEY: 'tenancy-test-key',
  })!;
  const store = new FileObjectStore('/nonexistent-lc2-storage');
  const policy = { ...DEFAULT_POLICY, tenancy: 'enforce' as const };
  hook = createServer(createApp({
    backup: { ...backupShell({ azure }, store, undefined, policy), readParent: trustRequest },
    restore: restoreShell({ azure }, store, undefined, policy),
  }));
  url = `http://127.0.0.1:${await listen(hook)}`;
});
after(async () => {
  for (const s of [hook, blob]) await new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); });
  await arm.close();
});

type Spec = { database: Record<string, unknown>; documentLibrary: Record<string, unknown> };
const backupOf = (mutate: (s: Spec) => void) => {
  const parent = backupRequest('cross', {
    provider: 'azure', database: { engine: 'postgresql', type: 'snapshot', instanceId: 'rg-retail.retail-prd-pg' },
    documentLibrary: { sourceBucket: 'retaildl.liferay-dl', sourcePrefix: 'document_library/', destinationBucket: 'retailbk.lc2-backups' },
  });
  mutate(parent.spec as unknown as Spec);
  return parent;
};

const cases: Array<[string, (s: Spec) => void, string, RegExp]> = [
  ['a server of another resource group', (s) => { s.database.instanceId = 'rg-bank.retail-prd-pg'; }, 'InstanceNotAllowed', /rg-bank\.retail-prd-pg is not one of project retail's database instances/],
  ['another server in its resource group', (s) => { s.database.instanceId = 'rg-retail.bank-pg'; }, 'InstanceNotAllowed', /rg-retail\.bank-pg/],
  ['its server named without the resource group (the hook\'s default is not implied)', (s) => { s.database.instanceId = 'retail-prd-pg'; }, 'InstanceNotAllowed', /retail-prd-pg is not one/],
  ['a container of another storage account', (s) => { s.documentLibrary.sourceBucket = 'bankdl.liferay-dl'; }, 'BucketNotAllowed', /bankdl\.liferay-dl/],
  ['another container of its backup account', (s) => { s.documentLibrary.destinationBucket = 'retailbk.bank-backups'; }, 'BucketNotAllowed', /retailbk\.bank-backups is not one of project retail's backup buckets/],
];

describe('Azure tenant boundary (resource groups, servers, storage accounts, containers)', () => {
  for (const [title, mutate, reason, message] of cases) {
    it(`refuses ${title}: ${reason}, no ARM or Blob request`, async () => {
      arm.received.clear(); blobRequests = 0;
      const res = await post(`${url}/backuprequest/sync`, { parent: backupOf(mutate), children: {}, related });
      const status = res.body.status as { phase: string; conditions: Array<{ type: string; reason: string; message: string }> };
      assert.equal(status.phase, 'Failed');
      const ready = status.conditions.find((c) => c.type === 'Ready')!;
      assert.equal(ready.reason, reason);
      assert.match(ready.message, message);
      assert.equal([...arm.received.values()].reduce((a, b) => a + b, 0), 0, 'no ARM request');
      assert.equal(blobRequests, 0, 'no Blob request');
    });
  }

  it('a restore into a server of another resource group is refused before anything is read', async () => {
    arm.received.clear(); blobRequests = 0;
    const res = await post(`${url}/restorerequest/sync`, { parent: restoreRequest('cross', {
      provider: 'azure', source: { manifest: { bucket: 'retailbk.lc2-backups', key: 'retail/prd/b-1/manifest.json' } },
      database: { instanceId: 'rg-bank.retail-restored', databaseName: 'lportal' }, documentLibrary: { destinationBucket: 'retaildl.restored-dl', destinationPrefix: 'retail/restored' },
    }), children: {}, related });
    const status = res.body.status as { phase: string; conditions: Array<{ type: string; reason: string }> };
    assert.equal(status.phase, 'Failed');
    assert.equal(status.conditions.find((c) => c.type === 'Ready')?.reason, 'InstanceNotAllowed');
    assert.equal(blobRequests + [...arm.received.values()].reduce((a, b) => a + b, 0), 0);
  });

  it('a request naming only its own resources passes the boundary', async () => {
    const res = await post(`${url}/backuprequest/sync`, { parent: backupOf(() => undefined), children: {}, related });
    const status = res.body.status as { phase: string };
    assert.notEqual(status.phase, 'Failed', JSON.stringify(res.body.status));
  });
});
