// Which proof lets an Azure restore use a backup (hostile-tenant review, finding 1): the source
// BackupRequest's status when the restore names it by reference, else the database record in the
// backup's folder signed by any of the hook's checkpoint keys (current or retired by a rotation).
// Blob is Azurite (the real emulator); ARM is test/support/armFake.ts, a FAKE of ARM (no emulator
// exists) following the ARM async-operation docs and the Flexible Server REST API 2025-08-01.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAzurite, AZURITE_ACCOUNT, AZURITE_KEY, type Azurite } from './support/azurite.ts';
import { startArmFake, type ArmFake } from './support/armFake.ts';
import { azureConfigFromEnv } from '../providers/azure/config.ts';
import { azureClients } from '../providers/azure/clients.ts';
import { AzureBlobStore } from '../providers/azure/blobStore.ts';
import { databaseCheckpointKey, type AzureRuntime } from '../providers/azure/backup.ts';
import { azureRestorePreflight } from '../providers/azure/restore.ts';
import { operationId, serverResourceId } from '../providers/azure/ids.ts';
import { leasedStep } from '../providers/shared/leasedStep.ts';
import { decideRestore } from '../hooks/restore/machine.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';
import type { RestoreContext } from '../core/provider.ts';
import type { BackupProgress } from '../providers/azure/flexibleServer.ts';

let azurite: Azurite;
let arm: ArmFake;
const uid = 'feed0000-1111-4222-8333-444455556666';
const server = { resourceGroup: 'rg-retail', server: 'retail-prd-pg' };
const folder = 'retail/prd/b-0000000a/';

function runtime(env: Record<string, string>): AzureRuntime {
  const config = azureConfigFromEnv({
    LC2_AZURE_SUBSCRIPTION_ID: arm.subscriptionId, LC2_AZURE_RESOURCE_GROUP: 'rg-retail', LC2_AZURE_STORAGE_ACCOUNT: AZURITE_ACCOUNT,
    LC2_AZURE_BLOB_URL_TEMPLATE: azurite.template, LC2_AZURE_STORAGE_ACCOUNT_KEY: AZURITE_KEY, LC2_AZURE_ARM_ENDPOINT: arm.endpoint, ...env,
  })!;
  const clients = azureClients(config);
  return { clients, config, store: new AzureBlobStore(clients, config.storageAccount) };
}

const snapshotId = () => `${serverResourceId(arm.subscriptionId, server)}/backups/${operationId(uid, 's')}`;
const ctx = (recordedByBackup: boolean): RestoreContext => ({
  name: 'r', uid: 'aaaa0000-1111-4222-8333-444455556666',
  spec: { projectId: 'retail', environment: 'prd', provider: 'azure', source: { backupRef: { name: 'b' } },
    database: { instanceId: 'retail-restored', databaseName: 'lportal' }, documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: 'retail/r' } },
  source: { manifest: { bucket: 'lc2-backups', key: `${folder}manifest.json` }, engine: 'postgresql', bucket: 'lc2-backups', snapshotId: snapshotId(),
    documentLibraryPrefix: `${folder}dl/`, resultsPrefix: `${folder}restores/r/`, sourceUid: uid, ...(recordedByBackup ? { recordedByBackup: true } : {}) },
});

/** The database record a hook server signed with `key` when it made the backup. */
async function signRecord(key: string): Promise<void> {
  const az = runtime({ LC2_CHECKPOINT_KEY: key });
  const done: BackupProgress = { backupId: snapshotId(), completedTime: new Date().toISOString(), project: 'retail' };
  await leasedStep<BackupProgress>(az.store.bookkeeping('lc2-backups'), databaseCheckpointKey(folder), 60_000, {}, () => '', async () => ({ done: true, progress: done }), key);
}

before(async () => {
  [azurite, arm] = await Promise.all([startAzurite(), startArmFake()]);
  for (const c of ['lc2-backups', 'restored-dl']) await azurite.service.getContainerClient(c).create();
  arm.addServer(server.resourceGroup, server.server);
  const name = operationId(uid, 's');
  arm.backups.set(`${server.resourceGroup}/${server.server}/${name}`, { name, backupType: 'Customer On-Demand', completedTime: new Date().toISOString(), visible: true });
});
after(async () => { await arm?.close(); await azurite?.stop(); });

describe('Azure restore: proof that the backup is the project\'s', () => {
  it('a record signed with a key retired by rotation is accepted when LC2_CHECKPOINT_KEYS_OLD lists it; otherwise refused', async () => {
    await signRecord('key-2025');
    const rotated = await azureRestorePreflight(ctx(false), runtime({ LC2_CHECKPOINT_KEY: 'key-2026' }));
    assert.equal(!rotated.ok && rotated.reason, 'SnapshotNotAllowed');
    assert.deepEqual(await azureRestorePreflight(ctx(false), runtime({ LC2_CHECKPOINT_KEY: 'key-2026', LC2_CHECKPOINT_KEYS_OLD: 'key-2024, key-2025' })), { ok: true });
    // The old keys verify only: a new record is signed with the current key (readable without the old list).
    const keys = runtime({ LC2_CHECKPOINT_KEY: 'key-2026', LC2_CHECKPOINT_KEYS_OLD: 'key-2025' }).config.checkpointSecret;
    assert.deepEqual(keys, ['key-2026', 'key-2025']);
    // Without LC2_CHECKPOINT_KEY the hook warns at start-up (app/main.ts logs it).
    assert.equal(runtime({ LC2_CHECKPOINT_KEY: 'key-2026' }).config.checkpointKeyWarning, undefined);
    assert.match(runtime({ LC2_HOOK_TOKEN: 't' }).config.checkpointKeyWarning ?? '', /LC2_CHECKPOINT_KEY is not set.*LC2_HOOK_TOKEN/);
    assert.match(runtime({}).config.checkpointKeyWarning ?? '', /random key of this process/);
  });

  it('by reference, the BackupRequest status recorded by the hook is proof enough: no signed record, any key', async () => {
    await azurite.service.getContainerClient('lc2-backups').getBlockBlobClient(`${folder}results/database-backup.json`).deleteIfExists();
    const az = runtime({ LC2_HOOK_TOKEN: 'another-token' });
    const byManifest = await azureRestorePreflight(ctx(false), az);
    assert.equal(!byManifest.ok && byManifest.reason, 'SnapshotNotAllowed');
    assert.deepEqual(await azureRestorePreflight(ctx(true), az), { ok: true });
    // The UID and subscription checks still apply.
    const foreign = ctx(true);
    foreign.source.snapshotId = snapshotId().replace(operationId(uid, 's'), operationId('bbbb', 's'));
    const r = await azureRestorePreflight(foreign, az);
    assert.equal(!r.ok && r.reason, 'SnapshotNotAllowed');
  });

  it('the restore machine marks the source recordedByBackup only when the referenced BackupRequest recorded this manifest, snapshot and UID', () => {
    const manifest = {
      schemaVersion: 'backup.liferay.cloud/manifest/v1' as const, backupId: 'b-0000000a', projectId: 'retail', environment: 'prd', provider: 'azure',
      source: { namespace: 'proj-retail-prd', name: 'b', uid }, startedAt: 's', completedAt: 'c', location: { bucket: 'lc2-backups', prefix: folder },
      database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-pg', format: 'f', snapshotId: snapshotId(), sizeBytes: 0 },
      documentLibrary: { sourceBucket: 's', sourcePrefix: '', prefix: `${folder}dl/`, objectCount: 0, totalBytes: 0, excludedPatterns: [] },
      operations: {}, tools: {},
    };
    const parent = restoreRequest('r', { provider: 'azure', source: { backupRef: { name: 'b' } } });
    const planner = { problems: () => [], steps: () => [] };
    const backup = (backupUid: string) => {
      const b = backupRequest('b', { provider: 'azure' });
      b.metadata.uid = backupUid;
      b.status = { phase: 'Succeeded', manifest: { bucket: 'lc2-backups', key: `${folder}manifest.json`, schemaVersion: 'backup.liferay.cloud/manifest/v1' },
        database: { engine: 'postgresql', format: 'f', snapshotId: snapshotId(), sizeBytes: 0, tool: 't' } };
      return b;
    };
    const decide = (b: ReturnType<typeof backup>) => decideRestore({ parent, backup: b, existingChildren: new Set(), planner, observations: { manifest: { ok: true, manifest } }, now: 'n' }).status.source;
    assert.equal(decide(backup(uid))?.recordedByBackup, true);
    assert.equal(decide(backup('another-uid'))?.recordedByBackup, undefined, 'another BackupRequest\'s status proves nothing');
  });
});
