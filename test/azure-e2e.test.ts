// The Azure provider end to end through two real hook server processes (node app/main.ts,
// configured by LC2_AZURE_* like in the cluster): Blob on Azurite (the real emulator, started here)
// behind a proxy that counts accepted copies and injects faults; Flexible Server on
// test/support/armFake.ts, a FAKE of ARM (no emulator exists) following the ARM async-operation docs
// and the Flexible Server REST API 2025-08-01, reached through the real SDK client in each process.
// The test plays Metacontroller and sends every sync 10 times, concurrently, to both processes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAzurite, AZURITE_ACCOUNT, AZURITE_KEY, type Azurite } from './support/azurite.ts';
import { startBlobProxy, type BlobProxy } from './support/blobProxy.ts';
import { startArmFake, type ArmFake } from './support/armFake.ts';
import { startHookProcess, type HookProcess } from './support/hookProcess.ts';
import { MetacontrollerDriver } from './support/driver.ts';
import { driveWithReplays } from './support/replayDrive.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';
import { sampleDocumentLibrary } from '../demo/sample.ts';
import { schemaErrors } from '../core/validation/jsonSchemas.ts';
import { operationId, UID_TAG } from '../providers/azure/ids.ts';
import { CONTAINER_UID_META, ltrContainerName } from '../providers/azure/longTermRetention.ts';
import type { BackupRequestStatus, RestoreRequestStatus } from '../core/crd.ts';
import type { KubeObject } from '../core/kube.ts';
import type { Manifest } from '../hooks/backup/manifest.ts';

let azurite: Azurite;
let proxy: BlobProxy;
let arm: ArmFake;
let hooks: HookProcess[] = [];
let env: Record<string, string> = {};
const files = sampleDocumentLibrary(240, (i) => 80 + (i % 5) * 300);
const originals = () => files.filter((f) => !f.generated);
const rel = (k: string) => k.slice('document_library/'.length);
const CHECKPOINT_KEY = 'azure-e2e-checkpoint-key-0123456789abcdef';

const azureBackup = (name: string, over: Record<string, unknown> = {}) => backupRequest(name, {
  provider: 'azure', database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-pg' },
  documentLibrary: { sourceBucket: 'liferay-dl', sourcePrefix: 'document_library/', destinationBucket: 'lc2-backups', excludeGeneratedFiles: true },
  ...over,
});
const container = (c: string) => azurite.service.getContainerClient(c);
async function names(c: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const b of container(c).listBlobsFlat({ prefix })) out.push(b.name);
  return out.sort();
}
const bytes = (c: string, name: string) => container(c).getBlobClient(name).downloadToBuffer();

let turn = 0;
const driverFor = (parent: KubeObject, path: string) => new MetacontrollerDriver(parent, { hookUrl: () => hooks[turn++ % hooks.length]!.url, syncPath: path, secrets: {} });
const drive = (d: MetacontrollerDriver, options: Parameters<typeof driveWithReplays>[2] = {}) => driveWithReplays(d, () => hooks.map((h) => h.url), options);
const readyOf = (d: MetacontrollerDriver) => (d.status.conditions as Array<{ type: string; reason: string; message: string }> | undefined)?.find((c) => c.type === 'Ready');

before(async () => {
  [azurite, arm] = await Promise.all([startAzurite(), startArmFake()]);
  proxy = await startBlobProxy(azurite.url.replace(`/${AZURITE_ACCOUNT}`, ''));
  arm.addServer('rg-retail', 'retail-prd-pg');
  arm.pollsToFinish = 3;
  for (const c of ['liferay-dl', 'lc2-backups', 'restored-dl']) await container(c).create();
  for (let i = 0; i < files.length; i += 32) await Promise.all(files.slice(i, i + 32).map((f) => container('liferay-dl').getBlockBlobClient(f.key).upload(f.body, f.body.length)));
  env = {
    LC2_AZURE_SUBSCRIPTION_ID: arm.subscriptionId, LC2_AZURE_RESOURCE_GROUP: 'rg-retail', LC2_AZURE_STORAGE_ACCOUNT: AZURITE_ACCOUNT,
    LC2_AZURE_BLOB_URL_TEMPLATE: proxy.template, LC2_AZURE_STORAGE_ACCOUNT_KEY: AZURITE_KEY, LC2_AZURE_ARM_ENDPOINT: arm.endpoint,
    LC2_TENANCY: 'off', LC2_CHECKPOINT_KEY: CHECKPOINT_KEY,
    // A small budget and page make the library take many syncs.
    LC2_AZURE_STEP_BUDGET_MS: '100', LC2_AZURE_PAGE_SIZE: '30', LC2_AZURE_CALL_TIMEOUT_MS: '2000',
    // Blobs above 1 MiB (only the large-blob test's) go through the asynchronous Copy Blob.
    LC2_AZURE_ASYNC_COPY_THRESHOLD_MB: '1',
  };
  hooks = await Promise.all([startHookProcess(env), startHookProcess(env)]);
});

after(async () => {
  await Promise.all(hooks.map((h) => h.stop()));
  await proxy?.close();
  await arm?.close();
  await azurite?.stop();
});

describe('Azure provider end to end (Azurite + ARM fake, two hook processes)', () => {
  let full: MetacontrollerDriver;

  it('a BackupRequest, every sync sent 10 times to two processes: one on-demand backup, each blob copied once, a valid manifest', async () => {
    proxy.copies.clear(); arm.accepted.clear();
    full = driverFor(azureBackup('nightly'), '/backuprequest/sync');
    assert.equal(await drive(full), 'Succeeded', JSON.stringify(full.status.conditions));
    const status = full.status as BackupRequestStatus;
    const uid = full.parent.metadata.uid!;
    assert.equal(arm.accepted.get('PUT backup'), 1, `one PUT (received ${arm.received.get('PUT backup')})`);
    const name = operationId(uid, 's');
    assert.ok(arm.backups.get(`rg-retail/retail-prd-pg/${name}`)?.visible, 'the backup exists, named from the UID');
    assert.match(status.database?.snapshotId ?? '', new RegExp(`/resourceGroups/rg-retail/providers/Microsoft.DBforPostgreSQL/flexibleServers/retail-prd-pg/backups/${name}$`));
    assert.doesNotMatch(JSON.stringify(status), /sig=|AccountKey|Bearer/, 'no secret in status');

    const dl = `${status.location!.prefix}dl/`;
    assert.deepEqual(await names('lc2-backups', dl), originals().map((f) => dl + rel(f.key)).sort());
    assert.equal(proxy.copies.size, originals().length);
    assert.ok([...proxy.copies.values()].every((n) => n === 1), 'no blob copied twice');
    for (const f of originals().slice(0, 60)) assert.ok((await bytes('lc2-backups', dl + rel(f.key))).equals(f.body), f.key);
    assert.ok(full.syncs > 5, `resumed across ${full.syncs} syncs`);
    assert.equal(status.documentLibrary?.copiedObjects, originals().length);
    assert.equal(status.documentLibrary?.excludedObjects, files.length - originals().length);

    const manifest = JSON.parse((await bytes('lc2-backups', status.manifest!.key)).toString()) as Manifest;
    assert.deepEqual(schemaErrors('manifest', manifest), []);
    assert.equal(manifest.provider, 'azure');
    assert.equal(manifest.database.snapshotId, status.database?.snapshotId);
    assert.equal(manifest.documentLibrary.objectCount, originals().length);

    // Stale syncs (Metacontroller's cache may lag): replayed from earlier statuses to both processes,
    // the answer is the final status and manifest.json keeps its bytes.
    const manifestBytes = await bytes('lc2-backups', status.manifest!.key);
    const stale = full.history.filter((h) => h.phase !== 'Succeeded' && (h.operations as Record<string, unknown> | undefined)?.transfer).slice(-3);
    assert.ok(stale.length > 0);
    for (const [i, old] of stale.entries()) {
      const res = await fetch(`${hooks[i % hooks.length]!.url}/backuprequest/sync`, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...full.request(), parent: { ...full.parent, status: old } }) });
      assert.equal(res.status, 200);
      assert.deepEqual((await res.json() as { status: unknown }).status, full.status, `a sync from an older status (${String(old.phase)}) answers the final status`);
    }
    assert.ok((await bytes('lc2-backups', status.manifest!.key)).equals(manifestBytes), 'manifest.json unchanged');
    assert.equal(arm.accepted.get('PUT backup'), 1, 'and no new backup');
  });

  it('a RestoreRequest creates a NEW server by point-in-time restore and copies the library into a NEW container/prefix; taken targets are refused first', async () => {
    const manifest = (full.status as BackupRequestStatus).manifest!;
    const spec = (instanceId: string, prefix: string) => ({
      provider: 'azure' as const, source: { manifest: { bucket: manifest.bucket, key: manifest.key } },
      database: { instanceId, databaseName: 'lportal' }, documentLibrary: { destinationBucket: `${AZURITE_ACCOUNT}.restored-dl`, destinationPrefix: prefix },
    });
    const restore = driverFor(restoreRequest('restore-1', spec('rg-restore.retail-restored', 'retail/prd-restored')), '/restorerequest/sync');
    assert.equal(await drive(restore, { replays: 5 }), 'Succeeded', JSON.stringify(restore.status.conditions));
    const made = arm.servers.get('rg-restore/retail-restored');
    assert.ok(made, 'the new server exists');
    assert.equal(made.body.createMode, 'PointInTimeRestore');
    assert.match(String(made.body.sourceServerResourceId), /flexibleServers\/retail-prd-pg$/);
    assert.equal(made.tags[UID_TAG], restore.parent.metadata.uid);
    assert.equal(arm.accepted.get('PUT server'), 1);
    assert.deepEqual(await names('restored-dl', 'retail/prd-restored/'), originals().map((f) => `retail/prd-restored/${rel(f.key)}`).sort());
    for (const f of originals()) assert.ok((await bytes('restored-dl', `retail/prd-restored/${rel(f.key)}`)).equals(f.body), f.key);
    assert.equal((restore.status as RestoreRequestStatus).documentLibrary?.objectCount, originals().length);
    // Stale syncs of the restore, from before the target was checked and while it copied: the
    // restore's own blobs in the target are never taken for someone else's (the answer is the final status).
    const stale = restore.history.filter((h) => h.phase === 'RestoringDocumentLibrary');
    assert.ok(stale.length > 1);
    for (const old of [stale[0]!, stale[stale.length - 1]!]) {
      const res = await fetch(`${hooks[0]!.url}/restorerequest/sync`, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...restore.request(), parent: { ...restore.parent, status: old } }) });
      assert.deepEqual((await res.json() as { status: unknown }).status, restore.status);
    }

    // The source server exists and was not made by a restore: never touched.
    const over = driverFor(restoreRequest('restore-2', spec('retail-prd-pg', 'retail/prd-other')), '/restorerequest/sync');
    assert.equal(await drive(over, { replays: 0 }), 'Failed');
    assert.equal(readyOf(over)?.reason, 'TargetExists');
    // A non-empty prefix is refused before any server is created.
    const puts = arm.received.get('PUT server');
    const taken = driverFor(restoreRequest('restore-3', spec('rg-restore.retail-restored-3', 'retail/prd-restored')), '/restorerequest/sync');
    assert.equal(await drive(taken, { replays: 2 }), 'Failed');
    assert.equal(readyOf(taken)?.reason, 'TargetNotEmpty');
    assert.equal(arm.received.get('PUT server'), puts, 'no server PUT');
    assert.equal(arm.servers.has('rg-restore/retail-restored-3'), false);
  });

  it('a manifest forged in this project\'s folder naming another project\'s backup is refused before any server is created', async () => {
    const real = JSON.parse((await bytes('lc2-backups', (full.status as BackupRequestStatus).manifest!.key)).toString()) as Manifest;
    arm.addServer('rg-bank', 'bank-pg');
    const bankUid = 'bank0000-1111-4222-8333-444455556666';
    const bankName = operationId(bankUid, 's');
    arm.backups.set(`rg-bank/bank-pg/${bankName}`, { name: bankName, backupType: 'Customer On-Demand', completedTime: new Date().toISOString(), visible: true });
    const prefix = 'retail/prd/forged-0000000f/';
    const forged: Manifest = { ...real, backupId: 'forged-0000000f', source: { ...real.source, uid: bankUid }, location: { bucket: 'lc2-backups', prefix },
      database: { ...real.database, snapshotId: `/subscriptions/${arm.subscriptionId}/resourceGroups/rg-bank/providers/Microsoft.DBforPostgreSQL/flexibleServers/bank-pg/backups/${bankName}` },
      documentLibrary: { ...real.documentLibrary, prefix: `${prefix}dl/` } };
    const body = JSON.stringify(forged);
    await container('lc2-backups').getBlockBlobClient(`${prefix}manifest.json`).upload(body, Buffer.byteLength(body));
    const restore = driverFor(restoreRequest('restore-forged', { provider: 'azure', source: { manifest: { bucket: 'lc2-backups', key: `${prefix}manifest.json` } },
      database: { instanceId: 'retail-forged', databaseName: 'lportal' }, documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: 'retail/forged' } }), '/restorerequest/sync');
    assert.equal(await drive(restore, { replays: 0 }), 'Failed');
    assert.equal(readyOf(restore)?.reason, 'SnapshotNotAllowed', JSON.stringify(restore.status.conditions));
    assert.match(readyOf(restore)?.message ?? '', /no record of it signed for this project/);
    assert.equal(arm.servers.has('rg-retail/retail-forged'), false);
  });

  it('with 10% of ARM and Blob requests failing (429, 500, 503, dropped) and 5% of writes carried out with their answer lost, the backup still succeeds without duplicates', async () => {
    proxy.copies.clear(); arm.accepted.clear();
    proxy.faults.share = 0.1; arm.faults.share = 0.1; proxy.faults.seen = 0; arm.faults.seen = 0;
    proxy.drops.share = 0.05; arm.drops.share = 0.05; proxy.drops.seen = 0; arm.drops.seen = 0;
    // The first backup PUT is carried out and its answer lost: the marker saved before it must prevent a second one.
    arm.dropNext.set('PUT backup', 1);
    const d = driverFor(azureBackup('under-faults'), '/backuprequest/sync');
    try {
      assert.equal(await drive(d, { replays: 9, pauseMs: 250, maxSyncs: 800 }), 'Succeeded', JSON.stringify(d.status.conditions));
    } finally { proxy.faults.share = 0; arm.faults.share = 0; proxy.drops.share = 0; arm.drops.share = 0; arm.dropNext.clear(); }
    assert.ok(proxy.faults.seen + arm.faults.seen > 20, `faults injected (${proxy.faults.seen} blob, ${arm.faults.seen} ARM)`);
    // How many writes there are depends on timing (retries); that some answers were lost is what matters (3 were seen in a CI run).
    assert.ok(proxy.drops.seen > 0, `answers dropped after the write was carried out (${proxy.drops.seen} blob, ${arm.drops.seen} ARM)`);
    assert.equal(arm.accepted.get('PUT backup'), 1);
    assert.equal(proxy.copies.size, originals().length);
    assert.ok([...proxy.copies.values()].every((n) => n === 1), `no blob copied twice: ${JSON.stringify([...proxy.copies].filter(([, n]) => n > 1).slice(0, 3))}`);
    const s = d.status as BackupRequestStatus;
    assert.equal((await names('lc2-backups', `${s.location!.prefix}dl/`)).length, s.documentLibrary?.objectCount);
  });

  it('a backup that disappears before the manifest is written fails the backup (VerificationFailed), no manifest', async () => {
    const d = driverFor(azureBackup('lost-backup'), '/backuprequest/sync');
    for (let i = 0; i < 40 && d.phase !== 'TransferInProgress'; i += 1) await d.sync();
    assert.equal(d.phase, 'TransferInProgress');
    arm.backups.delete(`rg-retail/retail-prd-pg/${operationId(d.parent.metadata.uid!, 's')}`);
    assert.equal(await drive(d, { replays: 0 }), 'Failed');
    assert.equal(readyOf(d)?.reason, 'VerificationFailed');
    assert.equal((d.status as BackupRequestStatus).manifest, undefined);
  });

  it('both hook processes killed while a large blob copies asynchronously: new processes adopt the copy by its marker, copied once, byte-identical', async () => {
    const big = Buffer.alloc(3 * 1024 ** 2, 9);
    await container('liferay-dl').getBlockBlobClient('big/20097/20121/555/1.0').upload(big, big.length);
    for (let i = 556; i < 566; i += 1) await container('liferay-dl').getBlockBlobClient(`big/20097/20121/${i}/1.0`).upload(Buffer.from(`small ${i}`), 9);
    proxy.copies.clear();
    const d = driverFor(azureBackup('big-restart', { documentLibrary: { sourceBucket: 'liferay-dl', sourcePrefix: 'big/', destinationBucket: 'lc2-backups', excludeGeneratedFiles: true } }), '/backuprequest/sync');
    for (let i = 0; i < 40 && d.phase !== 'TransferInProgress'; i += 1) await d.sync();
    const dest = `/${AZURITE_ACCOUNT}/lc2-backups/${(d.status as BackupRequestStatus).location!.prefix}dl/20097/20121/555/1.0`;
    // Azure reports the copy pending for a while; the processes die as soon as Azure accepted it.
    proxy.pending.set(dest, 4);
    let killed: Promise<void> | undefined;
    let restarted = false;
    proxy.onCopied = (path) => { if (path === dest && !killed) killed = Promise.all(hooks.map((h) => h.kill())).then(() => undefined); };
    try {
      for (let i = 0; d.phase !== 'Succeeded' && d.phase !== 'Failed'; i += 1) {
        assert.ok(i < 200, `did not finish: ${JSON.stringify(d.status.conditions)}`);
        if (killed && !restarted) { await killed; restarted = true; hooks = await Promise.all([startHookProcess(env), startHookProcess(env)]); }
        const answer = await d.sync().catch(() => undefined);
        // The killed holder's lease expires after its ttl; meanwhile the others report "busy".
        if (!answer || (answer.resyncAfterSeconds ?? 0) > 1) await new Promise((r) => setTimeout(r, 500));
      }
    } finally { proxy.onCopied = undefined; }
    assert.equal(d.phase, 'Succeeded', JSON.stringify(d.status.conditions));
    assert.ok(restarted, 'the processes were killed mid-copy and replaced');
    assert.equal(proxy.copies.get(dest), 1, 'the large blob was copied once');
    assert.ok([...proxy.copies.values()].every((n) => n === 1), 'no blob copied twice');
    assert.ok((await bytes('lc2-backups', dest.slice(`/${AZURITE_ACCOUNT}/lc2-backups/`.length))).equals(big), 'byte-identical');
    assert.equal((d.status as BackupRequestStatus).documentLibrary?.objectCount, 11);
  });

  it('spec.database.export: a long-term (pg_dump) backup into a container of its own, once, its SAS never in status; deletion removes that container', async () => {
    arm.received.clear();
    const d = driverFor(azureBackup('long-term', { deletionPolicy: 'Delete', database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-pg', export: {} } }), '/backuprequest/sync');
    assert.equal(await drive(d, { replays: 5 }), 'Succeeded', JSON.stringify(d.status.conditions));
    const uid = d.parent.metadata.uid!;
    const st = d.status as BackupRequestStatus;
    const name = operationId(uid, 'e');
    assert.equal(arm.received.get('POST ltr-start'), 1, 'started once');
    assert.equal(arm.ltrs.get(`rg-retail/retail-prd-pg/${name}`)?.status, 'Succeeded');
    const own = container(ltrContainerName(uid));
    assert.equal((await own.getProperties()).metadata?.[CONTAINER_UID_META], uid, 'the container is marked as this backup\'s');
    assert.deepEqual(await names(ltrContainerName(uid), ''), [`${name}/dump.backup`], 'the service wrote its dump through the SAS');
    assert.doesNotMatch(JSON.stringify(st), /sig=|se=20/, 'no SAS in status');
    const manifest = JSON.parse((await bytes('lc2-backups', st.manifest!.key)).toString()) as Manifest;
    assert.deepEqual(schemaErrors('manifest', manifest), []);
    assert.deepEqual(manifest.database.export, { taskId: name, prefix: `${st.location!.prefix}export/` });
    const record = JSON.parse((await bytes('lc2-backups', `${st.location!.prefix}export/long-term-backup.json`)).toString()) as { container: string };
    assert.equal(record.container, `${AZURITE_ACCOUNT}.${ltrContainerName(uid)}`);

    d.parent.metadata.deletionTimestamp = new Date().toISOString();
    let finalized = false;
    for (let i = 0; i < 30 && !finalized; i += 1) finalized = (await d.sync(true)).finalized === true;
    assert.ok(finalized, JSON.stringify(d.status.conditions));
    assert.equal(await own.exists(), false, 'its long-term container is deleted');
    assert.deepEqual(await names('lc2-backups', st.location!.prefix), []);
  });

  it('a long-term container that exists without this backup\'s marker is never written into: the backup fails (OwnershipConflict)', async () => {
    const parent = azureBackup('long-term-taken', { database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-pg', export: {} } });
    await container(ltrContainerName(parent.metadata.uid!)).create({ metadata: { owner: 'someone' } });
    arm.received.clear();
    const d = driverFor(parent, '/backuprequest/sync');
    assert.equal(await drive(d, { replays: 2 }), 'Failed');
    assert.equal(readyOf(d)?.reason, 'OwnershipConflict', JSON.stringify(d.status.conditions));
    assert.equal(arm.received.get('POST ltr-start') ?? 0, 0, 'nothing was started');
  });

  it('deletionPolicy Delete removes exactly this backup: its folder and its on-demand backup, nothing else', async () => {
    const doomed = driverFor(azureBackup('to-delete', { deletionPolicy: 'Delete' }), '/backuprequest/sync');
    assert.equal(await drive(doomed, { replays: 1 }), 'Succeeded', JSON.stringify(doomed.status.conditions));
    const st = doomed.status as BackupRequestStatus;
    const others = await names('lc2-backups', (full.status as BackupRequestStatus).location!.prefix);
    doomed.parent.metadata.deletionTimestamp = new Date().toISOString();
    let finalized = false;
    for (let i = 0; i < 30 && !finalized; i += 1) finalized = (await doomed.sync(true)).finalized === true;
    assert.ok(finalized, JSON.stringify(doomed.status.conditions));
    assert.deepEqual(await names('lc2-backups', st.location!.prefix), []);
    assert.equal(arm.backups.has(`rg-retail/retail-prd-pg/${operationId(doomed.parent.metadata.uid!, 's')}`), false, 'its backup is deleted');
    assert.ok(arm.backups.get(`rg-retail/retail-prd-pg/${operationId(full.parent.metadata.uid!, 's')}`)?.visible, 'another backup stays');
    assert.deepEqual(await names('lc2-backups', (full.status as BackupRequestStatus).location!.prefix), others, 'another backup\'s folder is untouched');
  });
});
