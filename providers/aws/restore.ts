// The AWS provider's restore: the backup's RDS snapshot into a NEW instance (or cluster), then a
// server-side copy of its document library into a NEW bucket/prefix - this backup's own objects,
// then (incremental backups) the objects its refs pages name in the base backup.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { OperationStatus } from '../../core/crd.ts';
import type { ObjectStore, Observation, Preflight, RestoreContext, RestoreStep, RestoreStepResult } from '../../core/provider.ts';
import type { AwsClients } from './clients.ts';
import type { AwsProviderConfig } from './config.ts';
import { classify, PROJECT_TAG, snapshotTags, UID_TAG } from './rds.ts';
import { clusterInstanceId, instance, restoreStep, targetTaken } from './rdsRestore.ts';
import { copyReferenced, copyStep, type CopyProgress, type CopySpec } from './s3Copy.ts';
import { leaseTtlMs, TOOL } from './backup.ts';
import { leasedStep, readCheckpoint, type Checkpoint } from './lease.ts';
import { observeDrillCleanup } from './drillCleanup.ts';

import { destPrefix } from './plan.ts';

export { awsRestoreProblems, awsRestoreSteps } from './plan.ts';

const empty: CopyProgress = { copied: 0, alreadyThere: 0, excluded: 0, bytes: 0 };
interface RestoreCopyProgress { checked?: boolean; own?: CopyProgress; ownDone?: boolean; refs?: CopyProgress }

/**
 * Before anything is created: the snapshot is this project's backup's own, the new instance (or
 * cluster) does not exist yet, and the new document-library prefix is empty (or approved). A
 * refusal here costs nothing; the same refusal after the database step would leave a billed instance.
 */
export async function awsRestorePreflight(ctx: RestoreContext, aws: AwsClients): Promise<Preflight> {
  const { spec, source } = ctx;
  try {
    if (!source.snapshotId) return { ok: false, reason: 'UnsupportedBackup', message: 'the backup has no RDS snapshot', retryable: false };
    const tags = await snapshotTags(aws.rds, { cluster: !!source.cluster, snapshotId: source.snapshotId }, aws.signal());
    if (tags[PROJECT_TAG] !== spec.projectId || !source.sourceUid || tags[UID_TAG] !== source.sourceUid) {
      return { ok: false, reason: 'SnapshotNotAllowed', message: `snapshot ${source.snapshotId} was not taken by this project's backup ${source.manifest.key}`, retryable: false };
    }
    const taken = await targetTaken(aws.rds, { instanceId: spec.database.instanceId.toLowerCase(), cluster: !!source.cluster, uid: ctx.uid }, aws.signal());
    if (taken) return { ok: false, reason: 'TargetExists', message: taken, retryable: false };
    const prefix = destPrefix(spec);
    const there = await aws.s3.send(new ListObjectsV2Command({ Bucket: spec.documentLibrary.destinationBucket, Prefix: prefix, MaxKeys: 1 }), { abortSignal: aws.signal() });
    if ((there.KeyCount ?? 0) > 0 && !spec.approveOverwrite) {
      return { ok: false, reason: 'TargetNotEmpty', message: `${spec.documentLibrary.destinationBucket}/${prefix} already holds objects; restore into a new prefix or set spec.approveOverwrite`, retryable: false };
    }
    return { ok: true };
  } catch (e) {
    const c = classify(e);
    return { ok: false, reason: c.reason, message: c.message, retryable: c.retryable };
  }
}

async function observe(step: RestoreStep, ctx: RestoreContext, op: OperationStatus, aws: AwsClients, config: AwsProviderConfig, store: ObjectStore): Promise<Observation<RestoreStepResult>> {
  const { spec, source } = ctx;
  if (step.name === 'cleanup') return observeDrillCleanup(step, ctx, op, aws, config, store);
  if (step.settle) {
    // A failed or deleted drill waits for this step: nothing new is started (no instance created, no object copied).
    const settled = await settle(step, ctx, aws);
    if (settled) return settled;
  }
  if (step.name === 'database') {
    if (!source.snapshotId) return { state: 'failed', reason: 'UnsupportedBackup', message: 'the backup has no RDS snapshot', retryable: false };
    // The snapshot named by the manifest must be this project's backup's own (tags set when it was
    // taken), checked before anything is created from it: a forged manifest can name any snapshot.
    if (!op.progress?.snapshotChecked) {
      const tags = await snapshotTags(aws.rds, { cluster: !!source.cluster, snapshotId: source.snapshotId }, aws.signal());
      if (tags[PROJECT_TAG] !== spec.projectId || !source.sourceUid || tags[UID_TAG] !== source.sourceUid) {
        return { state: 'failed', reason: 'SnapshotNotAllowed', message: `snapshot ${source.snapshotId} was not taken by this project's backup ${source.manifest.key}`, retryable: false };
      }
      return { state: 'running', progress: { snapshotChecked: true }, resyncAfterSeconds: 1, message: `snapshot ${source.snapshotId} belongs to this backup` };
    }
    const obs = await restoreStep(aws.rds, {
      instanceId: spec.database.instanceId.toLowerCase(), snapshotId: source.snapshotId, cluster: !!source.cluster, engine: source.engine, uid: ctx.uid,
      tags: { 'lc2.backup.liferay.cloud/project': spec.projectId, 'lc2.backup.liferay.cloud/environment': spec.environment },
      ...(spec.database.instanceClass ? { instanceClass: spec.database.instanceClass } : {}),
      ...(spec.database.subnetGroupName ? { subnetGroupName: spec.database.subnetGroupName } : {}),
    }, aws.signal());
    return obs.state === 'done' ? { state: 'done', completedAt: obs.completedAt, result: { instanceId: obs.result.instanceId, tool: TOOL } } : obs;
  }
  const p = (op.progress ?? {}) as RestoreCopyProgress;
  const dest = { destinationBucket: spec.documentLibrary.destinationBucket, destinationPrefix: destPrefix(spec) };
  const checkpoint = `${source.resultsPrefix}documentLibrary-progress`;
  if (!p.checked && !await readCheckpoint(aws.s3, source.bucket, checkpoint, config.callTimeoutMs, config.checkpointSecret)) {
    // Restores go into a NEW prefix: one that already holds data is refused unless approved (a
    // signed checkpoint means the objects there are this restore's own; a planted one counts for nothing).
    const there = await aws.s3.send(new ListObjectsV2Command({ Bucket: dest.destinationBucket, Prefix: dest.destinationPrefix, MaxKeys: 1 }), { abortSignal: aws.signal() });
    if ((there.KeyCount ?? 0) > 0 && !spec.approveOverwrite) {
      return { state: 'failed', reason: 'TargetNotEmpty', message: `${dest.destinationBucket}/${dest.destinationPrefix} already holds objects; restore into a new prefix or set spec.approveOverwrite`, retryable: false };
    }
    return { state: 'running', progress: { checked: true }, resyncAfterSeconds: 1, message: 'target prefix is empty' };
  }
  const ownCopy: CopySpec = {
    sourceBucket: source.bucket, sourcePrefix: source.documentLibraryPrefix, ...dest, exclude: () => false, ...config.copy, callTimeoutMs: config.callTimeoutMs,
  };
  // Own objects first, then (incremental backups) the referenced ones; one leased, checkpointed run per sync.
  const rank = (q: RestoreCopyProgress) => `${q.ownDone ? 1 : 0}|${q.own?.after ?? ''}|${q.refs?.after ?? ''}`;
  const run = async (q: RestoreCopyProgress, save: (progress: RestoreCopyProgress) => Promise<void>): Promise<Checkpoint<RestoreCopyProgress>> => {
    if (!q.ownDone) {
      const r = await copyStep(aws.s3, ownCopy, q.own ?? empty, config.stepBudgetMs, (own) => save({ checked: true, own, ownDone: false }));
      return { progress: { checked: true, own: r.progress, ownDone: r.done }, done: r.done && !source.base };
    }
    const r = await copyReferenced(aws.s3, { ...ownCopy, sourcePrefix: source.base!.prefix, refsBucket: source.bucket, refsPrefix: source.base!.refsPrefix }, q.refs ?? empty, config.stepBudgetMs,
      (refs) => save({ ...q, refs }));
    return { progress: { ...q, refs: r.progress }, done: r.done };
  };
  const out = await leasedStep(aws.s3, source.bucket, checkpoint, leaseTtlMs(config), config.callTimeoutMs, p, rank, run, config.checkpointSecret);
  const own = out.progress.own ?? empty;
  const refs = out.progress.refs ?? empty;
  const count = own.copied + own.alreadyThere + refs.copied;
  const bytes = own.bytes + (own.alreadyBytes ?? 0) + refs.bytes;
  if (!out.done) {
    return { state: 'running', progress: out.progress as Record<string, unknown>, resyncAfterSeconds: out.busyUntil ? 5 : 1,
      message: `${out.busyUntil ? 'another sync is copying; ' : ''}${count} objects copied${source.base ? ' (incl. unchanged ones from the base backup)' : ''}` };
  }
  return { state: 'done', completedAt: out.completedAt ?? new Date().toISOString(), result: { objectCount: count, totalBytes: bytes, tool: TOOL } };
}

/** A step observed to end it: a database not created yet, or a copy, ends here; a database being created is waited for. */
async function settle(step: RestoreStep, ctx: RestoreContext, aws: AwsClients): Promise<Observation<RestoreStepResult> | undefined> {
  const stopped = (message: string): Observation<RestoreStepResult> => ({ state: 'failed', reason: 'Stopped', message, retryable: false });
  if (step.name !== 'database') return stopped('stopped: the drill ended');
  const id = ctx.spec.database.instanceId.toLowerCase();
  const first = ctx.source.cluster ? clusterInstanceId(id) : id;
  // Only its instance makes a restore usable: without it (a cluster alone included) nothing is created any more.
  if (!await instance(aws.rds, first, { abortSignal: aws.signal() })) return stopped(`stopped before instance ${first} was created`);
  return undefined;
}

export async function observeAwsRestoreStep(
  step: RestoreStep, ctx: RestoreContext, op: OperationStatus, aws: AwsClients, config: AwsProviderConfig, store: ObjectStore,
): Promise<Observation<RestoreStepResult>> {
  try { return await observe(step, ctx, op, aws, config, store); } catch (e) {
    const name = (e as { name?: string }).name;
    if (name === 'TargetNotEmpty') return { state: 'failed', reason: 'TargetNotEmpty', message: (e as Error).message, retryable: false };
    const c = classify(e);
    return { state: 'failed', reason: c.reason, message: c.message, retryable: c.retryable };
  }
}
