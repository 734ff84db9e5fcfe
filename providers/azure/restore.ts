// The Azure provider's restore: a point-in-time restore of the backup's source server into a NEW
// Flexible Server (at the on-demand backup's completion time), then a server-side Blob copy of the
// backup's document library into a NEW container/prefix. The backup named by the manifest must be
// this project's: its name carries the source BackupRequest's UID, and either that BackupRequest's
// status recorded it (a restore by backupRef: RestoreSource.recordedByBackup) or the backup's own
// folder holds the database step's checkpoint, signed by a hook server for exactly that folder,
// naming it and the project (a manifest a tenant forged in its folder cannot name another project's server).
import type { OperationStatus, RestoreRequestSpec } from '../../core/crd.ts';
import type { Observation, Preflight, RestoreContext, RestoreStep, RestoreStepResult, SpecProblem } from '../../core/provider.ts';
import { leasedStep, savedCheckpoint } from '../shared/leasedStep.ts';
import type { AzureProviderConfig } from './config.ts';
import { classify, refusal } from './errors.ts';
import { backupOfId, containerRef, ENVIRONMENT_TAG, operationId, PROJECT_TAG, serverRef, serverResourceId } from './ids.ts';
import { readBackup, type BackupProgress, type BackupTarget } from './flexibleServer.ts';
import { restoreRun, serverRank, targetTaken, type ServerRestoreProgress } from './serverRestore.ts';
import { blobCopyStep, emptyProgress, holdsBlobs, type BlobCopyProgress, type BlobCopySpec } from './blobCopy.ts';
import { COPY_TOOL, databaseCheckpointKey, leaseTtlMs, TOOL, type AzureRuntime } from './backup.ts';

export function azureRestoreProblems(config: AzureProviderConfig) {
  return (spec: RestoreRequestSpec): SpecProblem[] => {
    const problems: SpecProblem[] = [];
    if (!serverRef(spec.database.instanceId, config.resourceGroup)) {
      problems.push({ field: 'spec.database.instanceId', message: 'the NEW Flexible Server: "<server>" or "<resourceGroup>.<server>", 3-63 lowercase letters, digits and hyphens' });
    }
    if (!containerRef(spec.documentLibrary.destinationBucket, config.storageAccount)) {
      problems.push({ field: 'spec.documentLibrary.destinationBucket', message: 'name a Blob container as "<account>.<container>"' });
    }
    return problems;
  };
}

const destPrefix = (spec: RestoreRequestSpec) => `${spec.documentLibrary.destinationPrefix.replace(/\/+$/, '')}/`;

export function azureRestoreSteps(ctx: RestoreContext): RestoreStep[] {
  return [
    { name: 'database', phase: 'RestoringDatabase', operationId: `azure:${ctx.spec.database.instanceId.toLowerCase()}`, children: [] },
    { name: 'documentLibrary', phase: 'RestoringDocumentLibrary', operationId: `blob:${ctx.spec.documentLibrary.destinationBucket}/${destPrefix(ctx.spec)}`, children: [] },
  ];
}

/** The backup named by the manifest, proven to be this project's backup's own; a refusal otherwise. */
async function sourceBackup(ctx: RestoreContext, az: AzureRuntime): Promise<BackupTarget & { completedTime: string; serverId: string }> {
  const { source, spec } = ctx;
  const named = backupOfId(source.snapshotId, az.config.subscriptionId);
  const notAllowed = (why: string) => refusal('SnapshotNotAllowed', `backup ${source.snapshotId ?? '(none)'} was not made by this project's backup ${source.manifest.key}: ${why}`);
  if (!named) throw notAllowed('not an on-demand Flexible Server backup in this subscription');
  const { server } = named;
  if (!source.sourceUid || named.name !== operationId(source.sourceUid, 's')) throw notAllowed('its name does not carry the source backup\'s UID');
  // By reference, the source BackupRequest's status (written only by the hook) recorded this backup:
  // no key needed. Otherwise the backup's folder (`<prefix>dl/`'s parent) must hold its database
  // checkpoint, signed for that place by any of the hook's checkpoint keys (current or retired).
  if (!source.recordedByBackup) {
    const folder = source.documentLibraryPrefix.replace(/dl\/$/, '');
    const record = await savedCheckpoint<BackupProgress>(az.store.bookkeeping(source.bucket), databaseCheckpointKey(folder), az.config.checkpointSecret);
    if (!record?.done || record.progress.backupId !== source.snapshotId || record.progress.project !== spec.projectId) {
      throw notAllowed('the backup\'s folder holds no record of it signed for this project (restoring by manifest needs the LC2_CHECKPOINT_KEY it was made with, current or in LC2_CHECKPOINT_KEYS_OLD; restoring by spec.source.backupRef does not)');
    }
  }
  const t: BackupTarget = { server, name: named.name, id: source.snapshotId!, project: spec.projectId };
  const read = await readBackup(az.clients.pg, t, az.clients.signal());
  if (!read.ok) throw Object.assign(refusal(read.retryable ? 'BackupNotReady' : 'BackupGone', read.message), read.retryable ? { statusCode: 503 } : {});
  return { ...t, completedTime: read.completedTime, serverId: serverResourceId(az.config.subscriptionId, server) };
}

const targetHoldsBlobs = (az: AzureRuntime, spec: RestoreRequestSpec) =>
  holdsBlobs(az.store.containerOf(spec.documentLibrary.destinationBucket), destPrefix(spec), az.clients.signal());

const notEmpty = (spec: RestoreRequestSpec) =>
  `${spec.documentLibrary.destinationBucket}/${destPrefix(spec)} already holds blobs; restore into a new prefix or set spec.approveOverwrite`;

/**
 * Before anything is created: the backup is this project's, the new server does not exist (unless
 * this restore made it), and the new prefix is empty (or approved). A refusal here costs nothing.
 */
export async function azureRestorePreflight(ctx: RestoreContext, az: AzureRuntime): Promise<Preflight> {
  const { spec } = ctx;
  try {
    await sourceBackup(ctx, az);
    const server = serverRef(spec.database.instanceId, az.config.resourceGroup)!;
    const taken = await targetTaken(az.clients.pg, { server, uid: ctx.uid }, az.clients.signal());
    if (taken) return { ok: false, reason: 'TargetExists', message: taken, retryable: false };
    if (!spec.approveOverwrite && await targetHoldsBlobs(az, spec)) return { ok: false, reason: 'TargetNotEmpty', message: notEmpty(spec), retryable: false };
    return { ok: true };
  } catch (e) {
    const c = classify(e);
    return { ok: false, reason: c.reason, message: c.message, retryable: c.retryable };
  }
}

interface RestoreCopyProgress extends BlobCopyProgress { checked?: boolean }

async function observe(step: RestoreStep, ctx: RestoreContext, op: OperationStatus, az: AzureRuntime): Promise<Observation<RestoreStepResult>> {
  const { spec, source } = ctx;
  const { clients, config, store } = az;
  const book = store.bookkeeping(source.bucket);
  if (step.name === 'database') {
    const b = await sourceBackup(ctx, az);
    const server = serverRef(spec.database.instanceId, config.resourceGroup)!;
    const out = await leasedStep<ServerRestoreProgress>(book, `${source.resultsPrefix}database`, leaseTtlMs(config), (op.progress ?? {}) as ServerRestoreProgress, serverRank,
      (start) => restoreRun(clients.pg, {
        server, uid: ctx.uid, tags: { [PROJECT_TAG]: spec.projectId, [ENVIRONMENT_TAG]: spec.environment },
        source: b.server, sourceServerResourceId: b.serverId, pointInTime: b.completedTime,
      }, start, clients.signal), config.checkpointSecret);
    if (!out.done) {
      return { state: 'running', progress: { ...out.progress }, resyncAfterSeconds: out.busyUntil ? 5 : 15,
        message: `${out.busyUntil ? 'another sync holds the restore step; ' : ''}restoring ${b.server.server} at ${b.completedTime} into the new server ${server.server}` };
    }
    return { state: 'done', completedAt: out.completedAt ?? new Date().toISOString(), result: { instanceId: server.server, tool: TOOL } };
  }
  const checkpoint = `${source.resultsPrefix}documentLibrary-progress`;
  const copy: BlobCopySpec = {
    source: containerRef(source.bucket, config.storageAccount)!, sourcePrefix: source.documentLibraryPrefix,
    destination: containerRef(spec.documentLibrary.destinationBucket, config.storageAccount)!, destinationPrefix: destPrefix(spec),
    exclude: () => false, ...config.copy, opId: operationId(ctx.uid, 'r'), mayReplace: !!spec.approveOverwrite,
  };
  const start: RestoreCopyProgress = { ...emptyProgress(), ...(op.progress ?? {}) as Partial<RestoreCopyProgress> };
  // Restores go into a NEW prefix: one that holds blobs is refused unless approved. The check runs
  // under the lease and is recorded in the checkpoint before any copy, so no later sync - however
  // stale its status - mistakes this restore's own first blobs for someone else's.
  const run = async (from: RestoreCopyProgress, save: (q: RestoreCopyProgress) => Promise<void>) => {
    if (!from.checked) {
      if (!spec.approveOverwrite && await targetHoldsBlobs(az, spec)) throw refusal('TargetNotEmpty', notEmpty(spec));
      return { progress: { ...from, checked: true }, done: false };
    }
    const r = await blobCopyStep(clients, copy, from, config.stepBudgetMs, (q) => save({ ...q, checked: true }));
    return { progress: { ...r.progress, checked: true }, done: r.done };
  };
  const out = await leasedStep<RestoreCopyProgress>(book, checkpoint, leaseTtlMs(config), start, (q) => `${q.checked ? 1 : 0}|${q.after ?? ''}`, run, config.checkpointSecret);
  const q = out.progress;
  const count = q.copied + q.alreadyThere;
  if (!out.done) {
    return { state: 'running', progress: { ...q }, resyncAfterSeconds: out.busyUntil ? 5 : 1,
      message: `${out.busyUntil ? 'another sync is copying; ' : ''}${q.checked ? `${count} blobs copied` : 'checking that the target prefix is empty'}` };
  }
  return { state: 'done', completedAt: out.completedAt ?? new Date().toISOString(), result: { objectCount: count, totalBytes: q.bytes + (q.alreadyBytes ?? 0), tool: COPY_TOOL } };
}

export async function observeAzureRestoreStep(step: RestoreStep, ctx: RestoreContext, op: OperationStatus, az: AzureRuntime): Promise<Observation<RestoreStepResult>> {
  try { return await observe(step, ctx, op, az); } catch (e) {
    const c = classify(e);
    return { state: 'failed', reason: c.reason, message: c.message, retryable: c.retryable };
  }
}
