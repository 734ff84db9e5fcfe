// Deleting what an Azure backup made outside its folder, and the long-term backup's own guarantees
// (hostile-tenant review, findings 2, 3, 4 and 7):
// the long-term container named from the UID whatever the parent's spec says, the on-demand backup
// on a server the parent may not name (a retention sweep without the manifest), and a backup whose
// PUT was accepted but is not readable yet. Blob is Azurite (the real emulator); ARM is
// test/support/armFake.ts, a FAKE of ARM (no emulator exists) following the ARM async-operation docs
// and the Flexible Server REST API 2025-08-01, driven through the real SDK client.
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startAzurite, AZURITE_ACCOUNT, AZURITE_KEY, type Azurite } from './support/azurite.ts';
import { startArmFake, type ArmFake } from './support/armFake.ts';
import { azureConfigFromEnv } from '../providers/azure/config.ts';
import { azureClients } from '../providers/azure/clients.ts';
import { AzureBlobStore } from '../providers/azure/blobStore.ts';
import { databaseCheckpointKey, deleteAzureExternal, type AzureRuntime } from '../providers/azure/backup.ts';
import { CONTAINER_UID_META, deleteLtr, ltrContainerName, ltrRun, type LtrProgress } from '../providers/azure/longTermRetention.ts';
import { operationId, serverResourceId } from '../providers/azure/ids.ts';
import { leasedStep } from '../providers/shared/leasedStep.ts';
import { backupRequest } from './support/resources.ts';
import type { BackupRequest } from '../core/crd.ts';
import { backupRun, type BackupProgress } from '../providers/azure/flexibleServer.ts';

let azurite: Azurite;
let arm: ArmFake;
let az: AzureRuntime;
const KEY = 'azure-deletion-test-key';
const server = { resourceGroup: 'rg-retail', server: 'retail-prd-pg' };
let n = 0;

/** A finished backup: the on-demand backup on the server, its long-term container, its signed record in the folder. */
async function madeBackup(): Promise<{ uid: string; folder: string }> {
  n += 1;
  const uid = `dddd000${n}-1111-4222-8333-444455556666`;
  const folder = `retail/prd/b-${n}/`;
  const name = operationId(uid, 's');
  arm.backups.set(`${server.resourceGroup}/${server.server}/${name}`, { name, backupType: 'Customer On-Demand', completedTime: new Date().toISOString(), visible: true });
  await azurite.service.getContainerClient(ltrContainerName(uid)).create({ metadata: { [CONTAINER_UID_META]: uid } });
  await azurite.service.getContainerClient(ltrContainerName(uid)).getBlockBlobClient('dump/part-0').upload('x', 1);
  const done: BackupProgress = { backupId: `${serverResourceId(arm.subscriptionId, server)}/backups/${name}`, completedTime: new Date().toISOString(), project: 'retail' };
  await leasedStep<BackupProgress>(az.store.bookkeeping('lc2-backups'), databaseCheckpointKey(folder), 60_000, {}, () => '', async () => ({ done: true, progress: done }), KEY);
  return { uid, folder };
}

/** The parent a retention sweep builds without the manifest (hooks/tenant/sync.ts deleteWithoutManifest): UID and folder only. */
function sweepParent(uid: string, folder: string): BackupRequest {
  const p = backupRequest('b', { provider: 'azure', database: { type: 'snapshot', instanceId: '' }, documentLibrary: { sourceBucket: '', destinationBucket: 'lc2-backups' } });
  p.metadata.uid = uid;
  p.status = { phase: 'Succeeded', location: { bucket: 'lc2-backups', prefix: folder } };
  return p;
}

const onDemand = (uid: string) => arm.backups.get(`${server.resourceGroup}/${server.server}/${operationId(uid, 's')}`);
const ltrExists = (uid: string) => azurite.service.getContainerClient(ltrContainerName(uid)).exists();
async function deleteUntilDone(parent: BackupRequest, max = 10): Promise<boolean> {
  for (let i = 0; i < max; i += 1) if (await deleteAzureExternal(parent, az)) return true;
  return false;
}

before(async () => {
  [azurite, arm] = await Promise.all([startAzurite(), startArmFake()]);
  await azurite.service.getContainerClient('lc2-backups').create();
  const config = azureConfigFromEnv({
    LC2_AZURE_SUBSCRIPTION_ID: arm.subscriptionId, LC2_AZURE_RESOURCE_GROUP: 'rg-retail', LC2_AZURE_STORAGE_ACCOUNT: AZURITE_ACCOUNT,
    LC2_AZURE_BLOB_URL_TEMPLATE: azurite.template, LC2_AZURE_STORAGE_ACCOUNT_KEY: AZURITE_KEY, LC2_AZURE_ARM_ENDPOINT: arm.endpoint, LC2_CHECKPOINT_KEY: KEY,
  })!;
  const clients = azureClients(config);
  az = { clients, config, store: new AzureBlobStore(clients, config.storageAccount) };
});
after(async () => { await arm?.close(); await azurite?.stop(); });
beforeEach(() => { arm.servers.clear(); arm.addServer(server.resourceGroup, server.server); arm.pollsToFinish = 1; });

describe('Azure deletion outside the folder', () => {
  it('a sweep without the manifest (no server, no export in the spec) deletes the long-term container and finds the server in the signed record', async () => {
    const { uid, folder } = await madeBackup();
    assert.equal(await deleteUntilDone(sweepParent(uid, folder)), true);
    assert.equal(await ltrExists(uid), false, 'the long-term container named from the UID is deleted');
    assert.equal(onDemand(uid), undefined, 'the on-demand backup is deleted');
  });

  it('a parent naming the server but not spec.database.export still deletes the long-term container', async () => {
    const { uid, folder } = await madeBackup();
    const parent = sweepParent(uid, folder);
    parent.spec!.database.instanceId = 'retail-prd-pg';
    assert.equal(await deleteUntilDone(parent), true);
    assert.equal(await ltrExists(uid), false);
  });

  it('with the server unknown and no record to find it, nothing is reported deleted (pending), the backup is left', async () => {
    const { uid } = await madeBackup();
    assert.equal(await deleteUntilDone(sweepParent(uid, 'retail/prd/no-such-folder/'), 3), false);
    assert.ok(onDemand(uid), 'the on-demand backup is still there, and the sweep knows it is not done');
    // A request refused before its backup step began (a bad instanceId, nothing in status) has nothing outside its folder.
    const refused = sweepParent(uid, 'retail/prd/no-such-folder/');
    refused.spec!.database.instanceId = 'Not_A_Server';
    refused.status = { phase: 'Failed' };
    assert.equal(await deleteAzureExternal(refused, az), true);
  });

  it('a long-term container of the same name without this UID\'s marker is left alone', async () => {
    const { uid, folder } = await madeBackup();
    await azurite.service.getContainerClient(ltrContainerName(uid)).setMetadata({ [CONTAINER_UID_META]: 'someone-else' });
    assert.equal(await deleteUntilDone(sweepParent(uid, folder)), true);
    assert.equal(await ltrExists(uid), true);
  });

  it('a backup whose PUT was accepted but is not readable yet is seen to its end, then deleted (never a 404 taken for done)', async () => {
    n += 1;
    const uid = `eeee000${n}-1111-4222-8333-444455556666`;
    const name = operationId(uid, 's');
    arm.pollsToFinish = 4;
    const t = { server, name, id: `${serverResourceId(arm.subscriptionId, server)}/backups/${name}`, project: 'retail' };
    const first = await backupRun(az.clients.pg, t, {}, az.clients.signal);
    assert.ok(first.progress.token && !first.done, 'the PUT was accepted: a handle, the backup not readable yet');
    assert.equal(onDemand(uid)?.visible, false);
    const parent = sweepParent(uid, `retail/prd/inflight-${n}/`);
    parent.spec!.database.instanceId = 'retail-prd-pg';
    parent.status = { ...parent.status, phase: 'SnapshotInProgress', operations: { snapshot: { id: name, state: 'Running', progress: { ...first.progress } } } };
    assert.equal(await deleteAzureExternal(parent, az), false, 'not done while the backup is being made');
    assert.equal(await deleteUntilDone(parent), true);
    assert.equal(onDemand(uid), undefined, 'the backup that completed after the deletion started is deleted too');
  });

  it('a long-term start carried out whose answer is lost is never sent again; one never listed fails past the deadline and is not waited for forever', async () => {
    n += 1;
    const uid = `ffff000${n}-1111-4222-8333-444455556666`;
    const t = { server, name: operationId(uid, 'e'), uid, account: AZURITE_ACCOUNT, container: ltrContainerName(uid) };
    arm.pollsToFinish = 2;
    let saved: LtrProgress = {};
    const save = async (p: LtrProgress) => { saved = p; };
    const ready = await ltrRun(az.clients.pg, az.clients, t, {}, { save });
    arm.dropNext.set('POST ltr-start', 1);
    await assert.rejects(ltrRun(az.clients.pg, az.clients, t, ready.progress, { save }));
    assert.ok(saved.started && saved.startedAt, 'the "start sent" marker was saved before the start');
    const starts = arm.received.get('POST ltr-start');
    let p = saved;
    // The fake's service writes its dump into Azurite asynchronously: poll with a pause, as a sync would (slow under load).
    for (let i = 0; i < 200 && p.status !== 'Succeeded'; i += 1) {
      p = (await ltrRun(az.clients.pg, az.clients, t, p, { save })).progress;
      if (p.status !== 'Succeeded') await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(p.status, 'Succeeded');
    assert.equal(arm.received.get('POST ltr-start'), starts, 'no second start');
    // Started, never listed: deletion waits within the deadline; the run fails past it.
    const ghost = { ...t, name: operationId(`${uid}x`, 'e') };
    const recent: LtrProgress = { containerReady: true, started: true, startedAt: new Date().toISOString(), status: 'Running' };
    assert.equal(await deleteLtr(az.clients.pg, az.clients, ghost, recent, 60_000), false);
    const stale: LtrProgress = { ...recent, startedAt: new Date(Date.now() - 120_000).toISOString() };
    await assert.rejects(ltrRun(az.clients.pg, az.clients, ghost, stale, { unseenDeadlineMs: 60_000 }), (e: Error) => e.name === 'LongTermBackupLost');
  });

  it('a long-term backup that reports Succeeded with an empty container is not believed (LongTermBackupEmpty)', async () => {
    n += 1;
    const uid = `abcd000${n}-1111-4222-8333-444455556666`;
    const t = { server, name: operationId(uid, 'e'), uid, account: AZURITE_ACCOUNT, container: ltrContainerName(uid) };
    const ready = await ltrRun(az.clients.pg, az.clients, t, {});
    arm.ltrs.set(`${server.resourceGroup}/${server.server}/${t.name}`, { name: t.name, status: 'Succeeded', pollsLeft: 0, sasUrl: '' });
    const started: LtrProgress = { ...ready.progress, started: true, startedAt: new Date().toISOString(), status: 'Running' };
    await assert.rejects(ltrRun(az.clients.pg, az.clients, t, started), (e: Error) => e.name === 'LongTermBackupEmpty');
    await azurite.service.getContainerClient(t.container).getBlockBlobClient(`${t.name}/dump.backup`).upload('pg_dump', 7);
    assert.equal((await ltrRun(az.clients.pg, az.clients, t, started)).done, true, 'with the dump there it is done');
  });
});
