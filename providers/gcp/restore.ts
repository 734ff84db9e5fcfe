// The GCP provider's restore: the backup's Cloud SQL backup into a NEW instance (its name carries the
// restore UID: Cloud SQL blocks a deleted name for a week), then a Storage Transfer job copying the
// backup's dl/ into a NEW bucket prefix. A target that exists or holds objects is refused before
// anything is created, unless spec.approveOverwrite (prefix only: an instance is never overwritten).
import type { OperationStatus, RestoreRequestSpec } from '../../core/crd.ts';
import type { Observation, Preflight, RestoreContext, RestoreStep, RestoreStepResult, SpecProblem } from '../../core/provider.ts';
import type { GcpClients, SqlInstance, SqlOperation } from './clients.ts';
import { withDeadline } from './deadline.ts';
import { checkOwnBackup } from './cloudSql.ts';
import { classify, instanceBusy, isNotFound, sqlReason, httpStatus } from './errors.ts';
import { backupDescription, isOwnBackupName, uidMarker, INSTANCE_ID, labelValue, PROJECT_LABEL, restoredInstanceName, transferJobName, UID_LABEL } from './ids.ts';
import { checkOwnJob, ensureJob, observeJob, type TransferTarget } from './transfer.ts';
import { TOOL } from './backup.ts';

export function gcpRestoreProblems(spec: RestoreRequestSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  if (!INSTANCE_ID.test(spec.database.instanceId)) problems.push({ field: 'spec.database.instanceId', message: 'the base name of the NEW Cloud SQL instance: lowercase letters, digits, hyphens, starting with a letter (the restore adds -r<uid>)' });
  if (spec.database.subnetGroupName) problems.push({ field: 'spec.database.subnetGroupName', message: 'an AWS setting; leave it out for gcp' });
  return problems;
}

const destPrefix = (spec: RestoreRequestSpec) => `${spec.documentLibrary.destinationPrefix.replace(/^\/+|\/+$/g, '')}/`;

export function gcpRestoreSteps(ctx: RestoreContext): RestoreStep[] {
  return [
    { name: 'database', phase: 'RestoringDatabase', operationId: `cloudsql:${restoredInstanceName(ctx.spec.database.instanceId, ctx.uid)}`, children: [] },
    { name: 'documentLibrary', phase: 'RestoringDocumentLibrary', operationId: transferJobName(ctx.uid, 'restore'), children: [] },
  ];
}

const transferTarget = (ctx: RestoreContext, project: string): TransferTarget => ({
  name: transferJobName(ctx.uid, 'restore'), project, description: uidMarker(ctx.uid),
  sourceBucket: ctx.source.bucket, sourcePath: ctx.source.documentLibraryPrefix,
  sinkBucket: ctx.spec.documentLibrary.destinationBucket, sinkPath: destPrefix(ctx.spec), excludePrefixes: [],
});

async function instanceOf(c: GcpClients, name: string): Promise<SqlInstance | undefined> {
  try { return await c.sql.getInstance(name); } catch (e) { if (isNotFound(e)) return undefined; throw e; }
}

const ours = (i: SqlInstance, uid: string) => i.settings?.userLabels?.[UID_LABEL] === labelValue(uid);

async function prefixHolds(c: GcpClients, bucket: string, prefix: string): Promise<boolean> {
  const [files] = await withDeadline(c.storage.bucket(bucket).getFiles({ prefix, maxResults: 1, autoPaginate: false }), c.callTimeoutMs, `GCS list ${bucket}/${prefix}`);
  return files.length > 0;
}

/** The backup named by the manifest must be the one its backup request made, in this project (description lc2:<source uid> project=<project>). */
async function checkSourceBackup(c: GcpClients, ctx: RestoreContext): Promise<string | undefined> {
  const { source } = ctx;
  if (!source.snapshotId || !source.sourceUid) return 'the backup has no Cloud SQL backup';
  if (source.base) return 'the backup is incremental; the gcp provider restores full backups only';
  if (!isOwnBackupName(c.project, source.snapshotId)) return `${source.snapshotId} is not a Cloud SQL backup of project ${c.project} (projects/${c.project}/backups/<id>)`;
  const backup = await c.sql.getBackup(source.snapshotId);
  try { checkOwnBackup(backup, { instance: '', description: backupDescription(source.sourceUid, ctx.spec.projectId) }); } catch {
    return `Cloud SQL backup ${source.snapshotId} was not taken by this project's backup ${source.manifest.key}`;
  }
  if (backup.state !== 'SUCCESSFUL') return `Cloud SQL backup ${source.snapshotId} is ${backup.state ?? 'in no state'}`;
  return undefined;
}

/** Before anything is created: the backup is the manifest's own, the new instance is free, the new prefix is empty (or approved). */
export async function gcpRestorePreflight(ctx: RestoreContext, c: GcpClients): Promise<Preflight> {
  const { spec } = ctx;
  try {
    const bad = await checkSourceBackup(c, ctx);
    if (bad) return { ok: false, reason: 'SnapshotNotAllowed', message: bad, retryable: false };
    const name = restoredInstanceName(spec.database.instanceId, ctx.uid);
    const existing = await instanceOf(c, name);
    if (existing && !ours(existing, ctx.uid)) return { ok: false, reason: 'TargetExists', message: `Cloud SQL instance ${name} already exists; a restore creates a NEW one: choose another spec.database.instanceId`, retryable: false };
    const prefix = destPrefix(spec);
    if (!spec.approveOverwrite && await prefixHolds(c, spec.documentLibrary.destinationBucket, prefix)) {
      return { ok: false, reason: 'TargetNotEmpty', message: `${spec.documentLibrary.destinationBucket}/${prefix} already holds objects; restore into a new prefix or set spec.approveOverwrite`, retryable: false };
    }
    return { ok: true };
  } catch (e) {
    const k = classify(e);
    return { ok: false, reason: k.reason, message: k.message, retryable: k.retryable };
  }
}

/** The newest RESTORE_VOLUME operation of the new instance (only a restore made it: its name carries our UID and label). */
async function restoreOperationOf(c: GcpClients, instance: string): Promise<SqlOperation | undefined> {
  return (await c.sql.listOperations(instance)).find((op) => op.operationType === 'RESTORE_VOLUME' && (!op.targetId || op.targetId === instance));
}

const FAILED_STATES = new Set(['FAILED', 'SUSPENDED', 'MAINTENANCE_FAILED']);

async function restoreDatabase(ctx: RestoreContext, op: OperationStatus, c: GcpClients): Promise<Observation<RestoreStepResult>> {
  const { spec, source } = ctx;
  const name = restoredInstanceName(spec.database.instanceId, ctx.uid);
  const progress = (op.progress ?? {}) as { checked?: boolean; operation?: string };
  if (!progress.checked) {
    // A forged manifest can name any backup: checked before anything is created from it.
    const bad = await checkSourceBackup(c, ctx);
    if (bad) return { state: 'failed', reason: 'SnapshotNotAllowed', message: bad, retryable: false };
    return { state: 'running', progress: { checked: true }, resyncAfterSeconds: 1, message: `Cloud SQL backup ${source.snapshotId} belongs to this backup` };
  }
  let instance = await instanceOf(c, name);
  if (instance && !ours(instance, ctx.uid)) throw Object.assign(new Error(`Cloud SQL instance ${name} already exists and was not made by this restore: choose another spec.database.instanceId`), { name: 'TargetNotEmpty' });
  if (!instance) {
    try {
      const started = await c.sql.restoreBackupToNewInstance(name, source.snapshotId ?? '', {
        name, settings: { userLabels: { [UID_LABEL]: labelValue(ctx.uid), [PROJECT_LABEL]: labelValue(spec.projectId), 'lc2-environment': labelValue(spec.environment) } },
      });
      return { state: 'running', progress: { checked: true, operation: started.name ?? '' }, resyncAfterSeconds: 15, message: `restoring ${source.snapshotId} into the new instance ${name}` };
    } catch (e) {
      // Another sync created it first (the name is the key): ours only with our label.
      if (!(httpStatus(e) === 409 && sqlReason(e) === 'instanceAlreadyExists')) throw e;
      instance = await instanceOf(c, name);
      if (!instance) throw e; // a name deleted less than a week ago: classify says choose another
      if (!ours(instance, ctx.uid)) throw Object.assign(new Error(`Cloud SQL instance ${name} already exists and was not made by this restore`), { name: 'TargetNotEmpty' });
    }
  }
  // The restore's own operation must be DONE without error: RUNNABLE alone is not proof. When status lost its
  // name (a dropped answer, a stale parent), it is recovered from the new instance's operations.
  const restoreOp = progress.operation ? await c.sql.getOperation(progress.operation) : await restoreOperationOf(c, name);
  if (!restoreOp) return { state: 'failed', reason: 'RestoreUnverified', message: `Cloud SQL instance ${name} exists but no RESTORE_VOLUME operation of it can be found to prove the restore finished; restore again into a new instance`, retryable: false };
  if (restoreOp.operationType !== 'RESTORE_VOLUME' || (restoreOp.targetId && restoreOp.targetId !== name)) {
    throw Object.assign(new Error(`operation ${restoreOp.name ?? '?'} is not the restore into ${name}`), { name: 'OwnershipConflict' });
  }
  const recovered = { ...progress, operation: restoreOp.name ?? '' };
  if (restoreOp.status === 'DONE' && restoreOp.error) {
    return { state: 'failed', reason: 'RestoreFailed', message: `restore into ${name} failed: ${(restoreOp.error.errors ?? []).map((x) => x.message ?? x.code).join('; ').slice(0, 300)}`, retryable: false };
  }
  if (restoreOp.status !== 'DONE') return { state: 'running', progress: recovered, resyncAfterSeconds: 15, message: `restoring into ${name}: ${(restoreOp.status ?? 'pending').toLowerCase()}` };
  const state = instance.state ?? '';
  if (FAILED_STATES.has(state)) return { state: 'failed', reason: 'RestoreFailed', message: `Cloud SQL instance ${name} is ${state}`, retryable: false };
  if (state !== 'RUNNABLE') return { state: 'running', progress: recovered, resyncAfterSeconds: 15, message: `Cloud SQL instance ${name} ${state.toLowerCase() || 'being created'}` };
  return { state: 'done', completedAt: new Date().toISOString(), result: { instanceId: name, tool: TOOL } };
}

async function restoreLibrary(ctx: RestoreContext, op: OperationStatus, c: GcpClients): Promise<Observation<RestoreStepResult>> {
  const t = transferTarget(ctx, c.project);
  const progress = (op.progress ?? {}) as { started?: boolean; operation?: string; waitingSince?: string };
  if (!progress.started) {
    // A job already there (a replay) is adopted after its ownership check; otherwise the NEW prefix must be empty.
    const ownJob = async () => {
      try { checkOwnJob(await c.transfer.getJob(t.name), t); return true; } catch (e) { if (!isNotFound(e)) throw e; return false; }
    };
    let exists = await ownJob();
    // Objects in the prefix may be our own job's, created by a concurrent sync after our first look: a
    // job exists before its run writes anything, so a second look after seeing objects is conclusive.
    if (!exists && !ctx.spec.approveOverwrite && await prefixHolds(c, t.sinkBucket, t.sinkPath)) {
      exists = await ownJob();
      if (!exists) return { state: 'failed', reason: 'TargetNotEmpty', message: `${t.sinkBucket}/${t.sinkPath} already holds objects; restore into a new prefix or set spec.approveOverwrite`, retryable: false };
    }
    if (!exists) await ensureJob(c, t);
    return { state: 'running', progress: { started: true }, resyncAfterSeconds: 2, message: `transfer job ${t.name} created` };
  }
  const obs = await observeJob(c, t, progress.operation, progress.waitingSince);
  if (obs.state === 'running') return { ...obs, progress: { started: true, ...obs.progress } };
  if (obs.state === 'failed') return obs;
  const k = obs.result.counts;
  return { state: 'done', completedAt: obs.completedAt, result: { objectCount: k.copied + k.skipped, totalBytes: k.bytesCopied + k.bytesSkipped, tool: 'storage-transfer-v1' } };
}

export async function observeGcpRestoreStep(step: RestoreStep, ctx: RestoreContext, op: OperationStatus, c: GcpClients): Promise<Observation<RestoreStepResult>> {
  try {
    return step.name === 'database' ? await restoreDatabase(ctx, op, c) : await restoreLibrary(ctx, op, c);
  } catch (e) {
    const busy = instanceBusy(e);
    if (busy) return busy;
    const k = classify(e);
    return { state: 'failed', reason: k.reason, message: k.message, retryable: k.retryable };
  }
}
