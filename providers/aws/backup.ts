// The AWS provider's backup: an RDS (cluster) snapshot, optionally its export to S3, then a
// server-side S3 copy of the document library. Nothing streams through the hook. Each step is
// started idempotently by an identifier derived from the UID and observed on every sync; the copy
// runs for a time budget per sync and keeps its cursor in the operation's progress.
import type { BackupRequest, BackupRequestSpec, DocumentLibraryResult, OperationStatus } from '../../core/crd.ts';
import { documentLibraryPrefix, isOwnEntry, refsPrefix } from '../../core/layout.ts';
import type { BackupContext, BackupStep, BackupStepResult, Observation, ManifestCheck, ObjectStore } from '../../core/provider.ts';
import type { KubeObject } from '../../core/kube.ts';
import { observeCheckJob } from './consistencyCheck.ts';
import { excluder } from '../../core/glob.ts';
import { excludePatterns } from '../../core/exclusions.ts';
import type { AwsClients } from './clients.ts';
import type { AwsProviderConfig } from './config.ts';
import { classify, deleteSnapshot, observeIfExists, observeSnapshot, snapshotTags, startSnapshot, startSnapshotCopy, UID_TAG, type SnapshotResult, type SnapshotTarget } from './rds.ts';
import { observeExport, startExport, type ExportTarget } from './rdsExport.ts';
import { copyStep, type CopyProgress, type CopySpec } from './s3Copy.ts';
import { snapshotIdentifier } from './plan.ts';

export { awsBackupProblems, awsBackupSteps } from './plan.ts';
import { leasedStep, leaseHeldUntil } from './lease.ts';
import { abortUploadsUnder } from './multipartCopy.ts';
import { CancelExportTaskCommand, DescribeExportTasksCommand } from '@aws-sdk/client-rds';

export const TOOL = 'aws-sdk-js-v3';

/** One sync's copy budget, its slowest call and a margin: a crashed holder's lease is free after this. */
export const leaseTtlMs = (config: AwsProviderConfig) => config.stepBudgetMs + 2.5 * config.callTimeoutMs + 10_000;

const tags = (spec: BackupRequestSpec) => ({ 'lc2.backup.liferay.cloud/project': spec.projectId, 'lc2.backup.liferay.cloud/environment': spec.environment });

const snapshotTarget = (ctx: Pick<BackupContext, 'uid' | 'spec'>, snapshotId = snapshotIdentifier(ctx.uid)): SnapshotTarget => ({
  instanceId: ctx.spec.database.instanceId, cluster: !!ctx.spec.database.cluster, snapshotId, uid: ctx.uid, tags: tags(ctx.spec),
});

export const sourcePrefixOf = (spec: BackupRequestSpec) => {
  const p = (spec.documentLibrary.sourcePrefix ?? '').replace(/\/+$/, '');
  return p ? `${p}/` : '';
};

export function copySpecFor(ctx: BackupContext, config: AwsProviderConfig): CopySpec {
  const { spec, location } = ctx;
  return {
    sourceBucket: spec.documentLibrary.sourceBucket, sourcePrefix: sourcePrefixOf(spec),
    destinationBucket: location.bucket, destinationPrefix: documentLibraryPrefix(location),
    exclude: excluder(excludePatterns(spec.documentLibrary.excludeGeneratedFiles, spec.documentLibrary.excludePatterns)),
    ...config.copy, callTimeoutMs: config.callTimeoutMs, ownsDestination: true,
    ...(ctx.encryption?.awsKmsKeyArn ? { kmsKeyArn: ctx.encryption.awsKmsKeyArn } : {}),
    ...(ctx.base ? { base: { prefix: ctx.base.prefix, refsPrefix: refsPrefix(location) } } : {}),
  };
}

/** Large objects whose parts are being copied across syncs. */
const large = (p: CopyProgress) => { const n = Object.keys(p.uploads ?? {}).length; return n ? `; ${n} large object${n > 1 ? 's' : ''} being copied part by part` : ''; };

const progressOf = (op: OperationStatus): CopyProgress => {
  const p = (op.progress ?? {}) as Partial<CopyProgress>;
  return { copied: 0, alreadyThere: 0, excluded: 0, bytes: 0, ...p };
};

async function observe(step: BackupStep, ctx: BackupContext, job: KubeObject | undefined, op: OperationStatus, aws: AwsClients, config: AwsProviderConfig, store: ObjectStore): Promise<Observation<BackupStepResult>> {
  if (step.name === 'keys' || step.name === 'consistency') return observeCheckJob(step.name, ctx, job, store);
  if (step.name === 'snapshot') {
    const t = snapshotTarget(ctx);
    const kms = ctx.encryption?.awsKmsKeyArn;
    // With the customer's key, the recovery point is a copy of the snapshot under that key. The
    // copy is looked for first on every sync (not only when progress says so): a sync from a stale
    // parent must not look for the original after it was removed.
    const copy = kms ? snapshotTarget(ctx, snapshotIdentifier(ctx.uid, 'k')) : undefined;
    const copied = copy ? await observeIfExists(aws.rds, copy, aws.signal()) : undefined;
    if (copy && copied) {
      if (copied.state !== 'done') return copied.state === 'running' ? { ...copied, progress: { started: true, copying: true } } : copied;
      // Adopted only when tagged as this backup's: a snapshot someone else made under this name is not ours.
      if ((await snapshotTags(aws.rds, copy, aws.signal()))[UID_TAG] !== ctx.uid) {
        return { state: 'failed', reason: 'SnapshotOwnershipConflict', message: `snapshot ${copy.snapshotId} exists but was not made for this BackupRequest`, retryable: false };
      }
      if (copied.result.kmsKeyId !== kms) {
        return { state: 'failed', reason: 'EncryptionNotApplied', message: `snapshot copy ${copy.snapshotId} is under ${copied.result.kmsKeyId ?? 'no key'}, not the project's KMS key ${kms}`, retryable: false };
      }
      // The original, under the instance's key, is not kept: the copy is the backup.
      await deleteSnapshot(aws.rds, t, aws.signal());
      return snapshotDone(ctx, copied.result);
    }
    if (!op.progress?.started) await startSnapshot(aws.rds, t, aws.signal());
    const obs = await observeSnapshot(aws.rds, t, aws.signal());
    if (obs.state !== 'done') return obs.state === 'running' ? { ...obs, progress: { started: true } } : obs;
    if (!copy || !kms) return snapshotDone(ctx, obs.result);
    await startSnapshotCopy(aws.rds, copy, obs.result.arn, kms, aws.signal());
    return { state: 'running', progress: { started: true, copying: true }, resyncAfterSeconds: 5, message: `copying snapshot ${t.snapshotId} into the project's KMS key as ${copy.snapshotId}` };
  }
  if (step.name === 'export') {
    const arn = ctx.database?.snapshotArn;
    if (!arn) return { state: 'failed', reason: 'SnapshotArnMissing', message: 'the snapshot step recorded no snapshot ARN to export from; create a new BackupRequest (this one cannot export)', retryable: false };
    const t: ExportTarget = {
      taskId: step.operationId, snapshotArn: arn, bucket: ctx.location.bucket, prefix: `${ctx.location.prefix}export`,
      iamRoleArn: ctx.spec.database.export?.iamRoleArn ?? config.exportRoleArn ?? '', kmsKeyId: ctx.encryption?.awsKmsKeyArn ?? ctx.spec.database.export?.kmsKeyId ?? config.exportKmsKeyId ?? '',
    };
    if (!op.progress?.started) await startExport(aws.rds, t, aws.signal());
    const obs = await observeExport(aws.rds, t, aws.signal());
    if (obs.state === 'done') return { state: 'done', completedAt: obs.completedAt, result: { databaseExport: { ...obs.result, kmsKeyId: t.kmsKeyId } } };
    return obs.state === 'running' ? { ...obs, progress: { started: true } } : obs;
  }
  const spec = copySpecFor(ctx, config);
  const { progress, done, busyUntil, completedAt } = await leasedStep(aws.s3, ctx.location.bucket, transferCheckpointKey(ctx.location),
    leaseTtlMs(config), config.callTimeoutMs, progressOf(op), (p) => p.after ?? '', (start, save) => copyStep(aws.s3, spec, start, config.stepBudgetMs, save), config.checkpointSecret);
  const state = { ...progress } as Record<string, unknown>;
  if (!done) {
    return { state: 'running', progress: state, resyncAfterSeconds: busyUntil ? 5 : 1,
      message: `${busyUntil ? 'another sync is copying; ' : ''}${progress.copied + progress.alreadyThere} objects copied (${progress.excluded} excluded${ctx.base ? `, ${progress.referenced ?? 0} unchanged since ${ctx.base.backupId}` : ''}), at ${progress.after ?? 'the start'}${large(progress)}` };
  }
  const dl: DocumentLibraryResult = {
    objectCount: progress.copied + progress.alreadyThere, totalBytes: progress.bytes + (progress.alreadyBytes ?? 0),
    excludedPatterns: excludePatterns(ctx.spec.documentLibrary.excludeGeneratedFiles, ctx.spec.documentLibrary.excludePatterns),
    // The folder is this backup's own and new (its ID carries the UID): an object found already
    // there was copied by this backup in a sync whose progress was lost, so it counts as copied.
    tool: TOOL, copiedObjects: progress.copied + progress.alreadyThere, excludedObjects: progress.excluded,
    ...(ctx.base ? { referencedObjects: progress.referenced ?? 0, referencedBytes: progress.referencedBytes ?? 0, base: ctx.base } : {}),
    ...(spec.kmsKeyArn ? { encryption: { type: 'aws:kms' as const, kmsKeyArn: spec.kmsKeyArn } } : {}),
  };
  // When the copy finished, as its checkpoint recorded it: replays and stale syncs write the same manifest.
  return { state: 'done', completedAt: completedAt ?? new Date().toISOString(), result: { documentLibrary: dl } };
}

/** A finished snapshot step. The spec may leave the engine out: the snapshot knows it, never guessed (an Aurora restore needs the right one). */
function snapshotDone(ctx: BackupContext, r: SnapshotResult): Observation<BackupStepResult> {
  const engine = r.engine ?? ctx.spec.database.engine;
  if (!engine) {
    return { state: 'failed', reason: 'EngineUnknown', message: `RDS does not report a PostgreSQL or MySQL engine for snapshot ${r.snapshotId}; set spec.database.engine`, retryable: false };
  }
  return { state: 'done', completedAt: r.createdAt, result: { database: {
    engine, format: ctx.spec.database.cluster ? 'rds-cluster-snapshot' : 'rds-snapshot',
    snapshotId: r.snapshotId, ...(r.arn ? { snapshotArn: r.arn } : {}), sizeBytes: r.allocatedStorageGb * 1024 ** 3, tool: TOOL,
    ...(ctx.encryption?.awsKmsKeyArn ? { kmsKeyId: r.kmsKeyId ?? '' } : {}),
  } } };
}

/** Provider errors become observations: transient ones retried with backoff, the rest a Failed with what to fix. */
export async function observeAwsBackupStep(
  step: BackupStep, ctx: BackupContext, job: KubeObject | undefined, op: OperationStatus, aws: AwsClients, config: AwsProviderConfig, store: ObjectStore,
): Promise<Observation<BackupStepResult>> {
  try { return await observe(step, ctx, job, op, aws, config, store); } catch (e) {
    const c = classify(e);
    return { state: 'failed', reason: c.reason, message: c.message, retryable: c.retryable };
  }
}

export const transferCheckpointKey = (location: { prefix: string }) => `${location.prefix}results/transfer-progress`;

/**
 * Before the folder is deleted, nothing may still write into it: a running export is cancelled and
 * waited for, and a copy holding its lease is waited for (false = not yet; asked again later).
 */
export async function quiesceAws(parent: BackupRequest, aws: AwsClients, config: AwsProviderConfig): Promise<boolean> {
  const uid = parent.metadata.uid ?? '';
  const location = parent.status?.location;
  if (!uid || !location) return true;
  try {
    const exportOp = parent.status?.operations?.export;
    if (exportOp) {
      const task = (await aws.rds.send(new DescribeExportTasksCommand({ ExportTaskIdentifier: exportOp.id }), { abortSignal: aws.signal() })).ExportTasks?.[0];
      const state = (task?.Status ?? '').toUpperCase();
      if (state === 'STARTING' || state === 'IN_PROGRESS') {
        await aws.rds.send(new CancelExportTaskCommand({ ExportTaskIdentifier: exportOp.id }), { abortSignal: aws.signal() });
        return false;
      }
      if (state === 'CANCELING') return false;
    }
    if (await leaseHeldUntil(aws.s3, location.bucket, transferCheckpointKey(location), config.callTimeoutMs, leaseTtlMs(config)) !== undefined) return false;
    // Unfinished multipart copies are not objects: a folder deletion would not see them, yet they are stored (and billed).
    await abortUploadsUnder(aws.s3, location.bucket, location.prefix, config.callTimeoutMs, (key) => isOwnEntry(location, key));
    return true;
  } catch (e) {
    // An export that never existed is quiet; anything else is asked again later.
    return /ExportTaskNotFound/.test((e as { name?: string }).name ?? '');
  }
}

/** The snapshot lives outside the backup's folder; the export (under it) is cancelled if still running. */
export async function deleteAwsExternal(parent: BackupRequest, aws: AwsClients): Promise<boolean> {
  const uid = parent.metadata.uid ?? '';
  const spec = parent.spec;
  if (!uid || !spec) return true;
  try {
    const exportOp = parent.status?.operations?.export;
    if (exportOp?.state === 'Running') {
      await aws.rds.send(new CancelExportTaskCommand({ ExportTaskIdentifier: exportOp.id }), { abortSignal: aws.signal() })
        .catch((e: unknown) => { if (!/NotFound|InvalidExportTaskState/.test((e as { name?: string }).name ?? '')) throw e; });
    }
    const op = parent.status?.operations?.snapshot;
    // The snapshot and its copy into the customer's key (either may be gone already).
    const ids = [snapshotIdentifier(uid), snapshotIdentifier(uid, 'k')];
    if (op) for (const id of new Set([op.id, ids[1]!])) await deleteSnapshot(aws.rds, snapshotTarget({ uid, spec }, id), aws.signal());
    else {
      // No record of the operation (a recovery point whose manifest is gone): the snapshots, if any,
      // have IDs derived from the UID; instance or cluster, each checked by its UID and project tags.
      for (const snapshotId of ids) for (const cluster of [false, true]) await deleteSnapshot(aws.rds, { snapshotId, cluster, uid, tags: tags(spec) }, aws.signal());
    }
    return true;
  } catch (e) {
    // Someone else's snapshot under our name is left alone; anything else is tried again.
    return (e as { name?: string }).name === 'SnapshotOwnershipConflict';
  }
}

/** The snapshot recorded in status still exists and is available (checked before Succeeded). */
export async function verifyAwsSnapshot(ctx: BackupContext, aws: AwsClients): Promise<ManifestCheck> {
  const id = ctx.database?.snapshotId;
  if (!id) return { ok: false, retryable: false, message: 'no snapshot recorded for this backup' };
  try {
    const obs = await observeSnapshot(aws.rds, snapshotTarget(ctx, id), aws.signal());
    if (obs.state === 'done') return { ok: true };
    return obs.state === 'failed' ? { ok: false, retryable: false, message: obs.message } : { ok: false, retryable: true, message: obs.message ?? `snapshot ${id} is not available` };
  } catch (e) {
    const c = classify(e);
    return { ok: false, retryable: c.retryable, message: `snapshot ${id}: ${c.message}` };
  }
}
