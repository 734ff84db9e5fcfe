// The Azure provider's backup: an on-demand Flexible Server backup, then a server-side Blob copy of
// the document library into the backup's folder. Nothing streams through the hook. Both steps run
// under a lease with a signed checkpoint beside the data (providers/shared/leasedStep.ts), so ten
// concurrent syncs make one PUT and copy each blob once; the operation IDs derive from the UID.
import type { BackupRequest, BackupRequestSpec, DocumentLibraryResult, OperationStatus, TenantEncryption } from '../../core/crd.ts';
import { documentLibraryPrefix } from '../../core/layout.ts';
import type { BackupContext, BackupStep, BackupStepResult, ManifestCheck, Observation, SpecProblem } from '../../core/provider.ts';
import { excluder } from '../../core/glob.ts';
import { excludePatterns } from '../../core/exclusions.ts';
import { leasedStep, leaseHeldUntil, savedCheckpoint } from '../shared/leasedStep.ts';
import type { AzureClients } from './clients.ts';
import type { AzureProviderConfig } from './config.ts';
import type { AzureBlobStore } from './blobStore.ts';
import { classify, codeOf, isNotFound } from './errors.ts';
import { backupOfId, containerRef, operationId, serverRef, serverResourceId, type ServerRef } from './ids.ts';
import { backupRank, backupRun, deleteBackup, readBackup, type BackupProgress, type BackupTarget } from './flexibleServer.ts';
import { abortPending, blobCopyStep, emptyProgress, type BlobCopyProgress, type BlobCopySpec } from './blobCopy.ts';
import { deleteLtr, ltrContainerName, ltrRank, ltrRun, type LtrProgress, type LtrTarget } from './longTermRetention.ts';

export const TOOL = '@azure/arm-postgresql-flexible';
export const COPY_TOOL = '@azure/storage-blob';
export const FORMAT = 'azure-pg-flexible-on-demand';

export interface AzureRuntime { clients: AzureClients; config: AzureProviderConfig; store: AzureBlobStore }

/** One sync's budget, its slowest call and a margin: a crashed holder's lease is free after this. */
export const leaseTtlMs = (config: AzureProviderConfig) => config.stepBudgetMs + 2.5 * config.callTimeoutMs + 10_000;

export function azureBackupProblems(config: AzureProviderConfig) {
  return (spec: BackupRequestSpec, encryption?: TenantEncryption): SpecProblem[] => {
    const problems: SpecProblem[] = [];
    // Customer-managed keys are not wired for Azure yet: never a silent backup in the clear.
    if (encryption) problems.push({ field: `BackupTenant ${spec.projectId} spec.encryption`, message: 'the project requires encryption with its own key, which the azure provider does not apply yet (docs/encryption.md); nothing was written' });
    const db = spec.database;
    if (db.type !== 'snapshot') problems.push({ field: 'spec.database.type', message: 'the azure provider takes on-demand Flexible Server backups: use "snapshot"' });
    if (db.engine === 'mysql') problems.push({ field: 'spec.database.engine', message: 'the azure provider backs up PostgreSQL Flexible Server only: MySQL Flexible Server has no on-demand backup in its released SDK (docs/azure.md)' });
    if (!serverRef(db.instanceId, config.resourceGroup)) problems.push({ field: 'spec.database.instanceId', message: 'name the Flexible Server as "<server>" (in the hook\'s resource group) or "<resourceGroup>.<server>"; server names are 3-63 lowercase letters, digits and hyphens' });
    if (db.cluster) problems.push({ field: 'spec.database.cluster', message: 'AWS only: not used by the azure provider' });
    if (db.endpoint) problems.push({ field: 'spec.database.endpoint', message: 'the consistency check of a snapshot backup is built for the aws provider only (docs/recovery-points.md); leave endpoint out' });
    if (db.export?.iamRoleArn || db.export?.kmsKeyId) problems.push({ field: 'spec.database.export', message: 'on azure, export: {} asks for a long-term-retention backup; iamRoleArn and kmsKeyId are AWS only' });
    for (const field of ['sourceBucket', 'destinationBucket'] as const) {
      if (!containerRef(spec.documentLibrary[field], config.storageAccount)) {
        problems.push({ field: `spec.documentLibrary.${field}`, message: `name a Blob container as "<account>.<container>"${config.storageAccount ? ' or "<container>" (in the hook\'s storage account)' : ''}` });
      }
    }
    if (spec.documentLibrary.incremental) problems.push({ field: 'spec.documentLibrary.incremental', message: 'incremental document-library backups are not available on the azure provider yet; leave it unset' });
    return problems;
  };
}

export function azureBackupSteps(ctx: BackupContext): BackupStep[] {
  return [
    { name: 'snapshot', phase: 'SnapshotInProgress', operationId: operationId(ctx.uid, 's'), children: [] },
    // spec.database.export: a long-term-retention (pg_dump) backup into the backup's own container.
    ...(ctx.spec.database.export ? [{ name: 'export' as const, phase: 'ExportInProgress' as const, operationId: operationId(ctx.uid, 'e'), children: [] }] : []),
    { name: 'transfer', phase: 'TransferInProgress', operationId: operationId(ctx.uid, 't'), children: [] },
  ];
}

export const databaseCheckpointKey = (prefix: string) => `${prefix}results/database-backup`;
export const transferCheckpointKey = (prefix: string) => `${prefix}results/transfer-progress`;
export const ltrCheckpointKey = (prefix: string) => `${prefix}results/long-term-backup`;

export function backupTarget(uid: string, spec: BackupRequestSpec, config: AzureProviderConfig): BackupTarget {
  const server = serverRef(spec.database.instanceId, config.resourceGroup) as ServerRef;
  const name = operationId(uid, 's');
  return { server, name, id: `${serverResourceId(config.subscriptionId, server)}/backups/${name}`, project: spec.projectId };
}

/** The long-term backup of a backup: named from its UID, into a container of its own in the backup's storage account. */
export function ltrTarget(uid: string, spec: BackupRequestSpec, backupBucket: string, config: AzureProviderConfig): LtrTarget | undefined {
  const account = containerRef(backupBucket, config.storageAccount)?.account;
  const server = serverRef(spec.database.instanceId, config.resourceGroup);
  return account && server ? { server, name: operationId(uid, 'e'), uid, account, container: ltrContainerName(uid) } : undefined;
}

export const sourcePrefixOf = (spec: BackupRequestSpec) => {
  const p = (spec.documentLibrary.sourcePrefix ?? '').replace(/\/+$/, '');
  return p ? `${p}/` : '';
};

function copySpec(ctx: BackupContext, step: BackupStep, config: AzureProviderConfig): BlobCopySpec {
  const { spec, location } = ctx;
  return {
    source: containerRef(spec.documentLibrary.sourceBucket, config.storageAccount)!, sourcePrefix: sourcePrefixOf(spec),
    destination: containerRef(location.bucket, config.storageAccount)!, destinationPrefix: documentLibraryPrefix(location),
    exclude: excluder(excludePatterns(spec.documentLibrary.excludeGeneratedFiles, spec.documentLibrary.excludePatterns)),
    ...config.copy, opId: step.operationId,
    // The backup's folder is its own and new: a blob there without our marker was planted, and is replaced.
    mayReplace: true,
  };
}

const copyProgressOf = (op: OperationStatus): BlobCopyProgress => ({ ...emptyProgress(), ...(op.progress ?? {}) as Partial<BlobCopyProgress> });

async function observe(step: BackupStep, ctx: BackupContext, op: OperationStatus, az: AzureRuntime): Promise<Observation<BackupStepResult>> {
  const { clients, config, store } = az;
  const book = store.bookkeeping(ctx.location.bucket);
  if (step.name === 'snapshot') {
    const t = backupTarget(ctx.uid, ctx.spec, config);
    const out = await leasedStep<BackupProgress>(book, databaseCheckpointKey(ctx.location.prefix), leaseTtlMs(config), (op.progress ?? {}) as BackupProgress, backupRank,
      (start, save) => backupRun(clients.pg, t, start, clients.signal, { save, unseenDeadlineMs: config.unseenDeadlineMs }), config.checkpointSecret);
    if (!out.done || !out.progress.completedTime) {
      return { state: 'running', progress: { ...out.progress }, resyncAfterSeconds: out.busyUntil ? 5 : 15,
        message: `${out.busyUntil ? 'another sync holds the backup step; ' : ''}on-demand backup ${t.name} of ${t.server.server} ${out.progress.token ? 'running' : 'starting'}` };
    }
    return { state: 'done', completedAt: out.progress.completedTime, result: { database: {
      engine: 'postgresql', format: FORMAT, snapshotId: t.id, sizeBytes: 0, tool: TOOL,
    } } };
  }
  if (step.name === 'export') {
    const t = ltrTarget(ctx.uid, ctx.spec, ctx.location.bucket, config)!;
    const out = await leasedStep<LtrProgress>(book, ltrCheckpointKey(ctx.location.prefix), leaseTtlMs(config), (op.progress ?? {}) as LtrProgress, ltrRank,
      (start, save) => ltrRun(clients.pg, clients, t, start, { save, unseenDeadlineMs: config.unseenDeadlineMs }), config.checkpointSecret);
    if (!out.done) {
      return { state: 'running', progress: { ...out.progress }, resyncAfterSeconds: out.busyUntil ? 5 : 30,
        message: `${out.busyUntil ? 'another sync holds the long-term backup step; ' : ''}long-term backup ${t.name} of ${t.server.server} into ${t.account}.${t.container}: ${out.progress.status ?? 'starting'}` };
    }
    // The dump lives in the backup's own container; a record in the folder's export/ says where (the manifest names that prefix).
    const completedAt = out.completedAt ?? new Date().toISOString();
    const prefix = `${ctx.location.prefix}export/`;
    await store.put(ctx.location.bucket, `${prefix}long-term-backup.json`, JSON.stringify({
      operation: t.name, server: serverResourceId(config.subscriptionId, t.server), container: `${t.account}.${t.container}`, completedAt,
    }), 'application/json');
    return { state: 'done', completedAt, result: { databaseExport: { taskId: t.name, bucket: ctx.location.bucket, prefix } } };
  }
  if (step.name !== 'transfer') return { state: 'failed', reason: 'UnsupportedStep', message: `the azure provider has no ${step.name} step`, retryable: false };
  const spec = copySpec(ctx, step, config);
  const out = await leasedStep<BlobCopyProgress>(book, transferCheckpointKey(ctx.location.prefix), leaseTtlMs(config), copyProgressOf(op), (p) => p.after ?? '',
    (start, save) => blobCopyStep(clients, spec, start, config.stepBudgetMs, save), config.checkpointSecret);
  const p = out.progress;
  if (!out.done) {
    const pending = Object.keys(p.pending ?? {}).length;
    return { state: 'running', progress: { ...p }, resyncAfterSeconds: out.busyUntil ? 5 : pending ? 10 : 1,
      message: `${out.busyUntil ? 'another sync is copying; ' : ''}${p.copied + p.alreadyThere} blobs copied (${p.excluded} excluded), at ${p.after ?? 'the start'}${pending ? `; ${pending} large blob${pending > 1 ? 's' : ''} copying asynchronously` : ''}` };
  }
  const dl: DocumentLibraryResult = {
    objectCount: p.copied + p.alreadyThere, totalBytes: p.bytes + (p.alreadyBytes ?? 0),
    excludedPatterns: excludePatterns(ctx.spec.documentLibrary.excludeGeneratedFiles, ctx.spec.documentLibrary.excludePatterns),
    // A blob found already there carries this operation's marker: copied by this backup in a sync whose progress was lost.
    tool: COPY_TOOL, copiedObjects: p.copied + p.alreadyThere, excludedObjects: p.excluded,
  };
  return { state: 'done', completedAt: out.completedAt ?? new Date().toISOString(), result: { documentLibrary: dl } };
}

/** Provider errors become observations: transient ones retried with backoff, the rest a Failed with what to fix. */
export async function observeAzureBackupStep(step: BackupStep, ctx: BackupContext, op: OperationStatus, az: AzureRuntime): Promise<Observation<BackupStepResult>> {
  try { return await observe(step, ctx, op, az); } catch (e) {
    const c = classify(e);
    return { state: 'failed', reason: c.reason, message: c.message, retryable: c.retryable };
  }
}

/** Before the folder is deleted nothing may still write into it: a copy holding its lease is waited for, pending large copies aborted. */
export async function quiesceAzure(parent: BackupRequest, az: AzureRuntime): Promise<boolean> {
  const location = parent.status?.location;
  if (!parent.metadata.uid || !location) return true;
  try {
    const book = az.store.bookkeeping(location.bucket);
    const key = transferCheckpointKey(location.prefix);
    if (await leaseHeldUntil(book, key, leaseTtlMs(az.config)) !== undefined) return false;
    const saved = await savedCheckpoint<BlobCopyProgress>(book, key, az.config.checkpointSecret);
    const dest = containerRef(location.bucket, az.config.storageAccount);
    if (!dest) return true;
    for (const p of [saved?.progress, parent.status?.operations?.transfer?.progress as BlobCopyProgress | undefined]) {
      await abortPending(az.clients, dest, documentLibraryPrefix(location), p);
    }
    return true;
  } catch (e) {
    // A bucket that names no container (nothing was ever written there) or a container that is gone is quiet.
    return codeOf(e) === 'InvalidBucket' || isNotFound(e);
  }
}

/** What a step recorded: the furthest of the parent's status and the signed checkpoint in its folder. */
async function recorded<P>(parent: BackupRequest, az: AzureRuntime, step: 'snapshot' | 'export', key: (prefix: string) => string, rank: (p: P) => string): Promise<P> {
  const location = parent.status?.location;
  const fromStatus = (parent.status?.operations?.[step]?.progress ?? {}) as P;
  if (!location) return fromStatus;
  const saved = await savedCheckpoint<P>(az.store.bookkeeping(location.bucket), key(location.prefix), az.config.checkpointSecret);
  return saved && rank(saved.progress) >= rank(fromStatus) ? saved.progress : fromStatus;
}

/**
 * What lives outside the folder, exactly this backup's: the long-term container named from its UID
 * (deleted after its marker check whatever the spec says: a sweep's parent may not tell whether it
 * was asked for) and the on-demand backup named from its UID on its server - an operation still in
 * flight is seen to its end first. A server the parent does not name (a sweep without the
 * manifest) is read from the signed record; unknown, nothing is reported deleted.
 */
export async function deleteAzureExternal(parent: BackupRequest, az: AzureRuntime): Promise<boolean> {
  const uid = parent.metadata.uid ?? '';
  const spec = parent.status?.admitted?.spec ?? parent.spec;
  if (!uid || !spec || spec.provider !== 'azure') return true;
  try {
    const made = await recorded<BackupProgress>(parent, az, 'snapshot', databaseCheckpointKey, backupRank);
    const name = operationId(uid, 's');
    const named = backupOfId(made.backupId, az.config.subscriptionId);
    const server = serverRef(spec.database.instanceId, az.config.resourceGroup) ?? (named?.name === name ? named.server : undefined);
    const bucket = parent.status?.location?.bucket ?? spec.documentLibrary.destinationBucket;
    const account = containerRef(bucket, az.config.storageAccount)?.account;
    const ltr = { server, name: operationId(uid, 'e'), uid, account: account ?? '', container: ltrContainerName(uid) };
    if (account && !await deleteLtr(az.clients.pg, az.clients, ltr, await recorded<LtrProgress>(parent, az, 'export', ltrCheckpointKey, ltrRank), az.config.unseenDeadlineMs)) return false;
    // No server known: done only if the backup step never began (its operation ID goes into status
    // before any call; a sweep's parent is a finished backup), else pending - never a false "deleted".
    if (!server) return !parent.status?.operations?.snapshot && parent.status?.phase !== 'Succeeded' && backupRank(made) === '0';
    return await deleteBackup(az.clients.pg, { server, name, id: `${serverResourceId(az.config.subscriptionId, server)}/backups/${name}`, project: spec.projectId }, az.clients.signal, made, az.config.unseenDeadlineMs);
  } catch {
    return false;
  }
}

/** Before Succeeded: the backup recorded in status is still there, on-demand and completed. */
export async function verifyAzureBackup(ctx: BackupContext, az: AzureRuntime): Promise<ManifestCheck> {
  const t = backupTarget(ctx.uid, ctx.spec, az.config);
  if (ctx.database?.snapshotId !== t.id) return { ok: false, retryable: false, message: `status records ${ctx.database?.snapshotId ?? 'no backup'}, not this backup's ${t.id}` };
  try {
    const r = await readBackup(az.clients.pg, t, az.clients.signal());
    if (!r.ok) return r;
    const ltr = ctx.spec.database.export ? ltrTarget(ctx.uid, ctx.spec, ctx.location.bucket, az.config) : undefined;
    if (ltr) {
      const op = await az.clients.pg.getLtr(ltr.server.resourceGroup, ltr.server.server, ltr.name, az.clients.signal()).catch((e: unknown) => { if (isNotFound(e)) return undefined; throw e; });
      if (op?.status !== 'Succeeded') return { ok: false, retryable: false, message: `long-term backup ${ltr.name} is ${op?.status ?? 'gone'}` };
    }
    return { ok: true };
  } catch (e) {
    const c = classify(e);
    return { ok: false, retryable: c.retryable, message: `backup ${t.name}: ${c.message}` };
  }
}
