// The GCP provider's backup: a Cloud SQL on-demand backup (found again by its description
// lc2:<uid>), optionally its SQL export into the backup's own folder, then a Storage Transfer job
// copying the document library into the folder's dl/ with the Liferay exclusions as excludePrefixes.
// Nothing streams through the hook: each sync makes a few calls, whatever the library's size.
import type { BackupRequest, BackupRequestSpec, OperationStatus, TenantEncryption } from '../../core/crd.ts';
import { documentLibraryPrefix } from '../../core/layout.ts';
import type { BackupContext, BackupStep, BackupStepResult, ManifestCheck, Observation, SpecProblem } from '../../core/provider.ts';
import { excludePatterns } from '../../core/exclusions.ts';
import type { GcpClients } from './clients.ts';
import { withDeadline } from './deadline.ts';
import type { GcpProviderConfig } from './config.ts';
import { checkOwnBackup, deleteBackup, engineOf, observeBackup, type BackupTarget } from './cloudSql.ts';
import { exportedSize, observeExport, quiesceExport, type ExportTarget } from './cloudSqlExport.ts';
import { leaseLive } from './lease.ts';
import { classify, instanceBusy, isNotFound } from './errors.ts';
import { excludePrefixes, MAX_EXCLUDE_PREFIXES, prefixPatternProblem } from './excludePrefixes.ts';
import { backupDescription, exportObject, isOwnBackupName, gsUri, INSTANCE_ID, transferJobName, uidMarker } from './ids.ts';
import { deleteJob, ensureJob, observeJob, quiesceJob, type TransferTarget } from './transfer.ts';

export const TOOL = 'cloud-sql-admin-v1';
export const TRANSFER_TOOL = 'storage-transfer-v1';

export function gcpBackupProblems(spec: BackupRequestSpec, encryption?: TenantEncryption): SpecProblem[] {
  const problems: SpecProblem[] = [];
  // Never a silent backup in the clear (docs/encryption.md): CMEK is not built, so a project that requires encryption is refused.
  if (encryption) problems.push({ field: `BackupTenant ${spec.projectId} spec.encryption`, message: 'the project requires encryption with its own key, and the gcp provider cannot apply one yet (customer-managed encryption keys are not supported); nothing was written (docs/gcp.md, docs/encryption.md)' });
  if (spec.database.type !== 'snapshot') problems.push({ field: 'spec.database.type', message: 'the gcp provider takes Cloud SQL backups (add spec.database.export for a portable SQL export); use "snapshot"' });
  if (!INSTANCE_ID.test(spec.database.instanceId)) problems.push({ field: 'spec.database.instanceId', message: 'name the Cloud SQL instance by its ID (lowercase letters, digits, hyphens; no project prefix, host or port)' });
  if (spec.database.cluster) problems.push({ field: 'spec.database.cluster', message: 'Cloud SQL has no clusters; leave it out' });
  if (spec.database.endpoint) problems.push({ field: 'spec.database.endpoint', message: 'the consistency check of a snapshot backup is built for the aws provider only (docs/recovery-points.md); leave endpoint out' });
  if (spec.database.export?.iamRoleArn || spec.database.export?.kmsKeyId) problems.push({ field: 'spec.database.export', message: 'iamRoleArn and kmsKeyId are AWS settings: the Cloud SQL instance\'s service account writes the export (docs/gcp.md); use export: {}' });
  if (spec.documentLibrary.incremental) problems.push({ field: 'spec.documentLibrary.incremental', message: 'the gcp provider makes full document-library copies (Storage Transfer); leave incremental out' });
  for (const p of excludePatterns(spec.documentLibrary.excludeGeneratedFiles, spec.documentLibrary.excludePatterns)) {
    const problem = prefixPatternProblem(p);
    if (problem) problems.push({ field: 'spec.documentLibrary.excludePatterns', message: problem });
  }
  return problems;
}

export const gcpBackupSteps = (config: Pick<GcpProviderConfig, 'defaultDatabase'>) => (ctx: BackupContext): BackupStep[] => {
  return [
    { name: 'snapshot', phase: 'SnapshotInProgress', operationId: backupDescription(ctx.uid, ctx.spec.projectId), children: [] },
    ...(ctx.spec.database.export ? [{ name: 'export' as const, phase: 'ExportInProgress' as const, operationId: exportTarget(ctx, config.defaultDatabase).uri, children: [] }] : []),
    { name: 'transfer', phase: 'TransferInProgress', operationId: transferJobName(ctx.uid, 'dl'), children: [] },
  ];
};

const databaseOf = (spec: BackupRequestSpec, fallback: string) => spec.database.databaseName ?? fallback;

export function backupTarget(ctx: Pick<BackupContext, 'uid' | 'spec' | 'location'>, config: Pick<GcpProviderConfig, 'leaseTtlMs'>): BackupTarget {
  return {
    instance: ctx.spec.database.instanceId, description: backupDescription(ctx.uid, ctx.spec.projectId), bucket: ctx.location.bucket,
    recordKey: `${ctx.location.prefix}results/cloudsql-backup.json`, leaseKey: `${ctx.location.prefix}results/cloudsql-backup.lease`, leaseTtlMs: config.leaseTtlMs,
  };
}

export function exportTarget(ctx: Pick<BackupContext, 'spec' | 'location'>, defaultDatabase: string, leaseTtlMs = 0): ExportTarget {
  const key = exportObject(ctx.location.prefix, databaseOf(ctx.spec, defaultDatabase));
  return {
    instance: ctx.spec.database.instanceId, database: databaseOf(ctx.spec, defaultDatabase), bucket: ctx.location.bucket, key, uri: gsUri(ctx.location.bucket, key),
    folderPrefix: `${ctx.location.prefix}export/`, recordKey: `${ctx.location.prefix}results/cloudsql-export.json`, leaseKey: `${ctx.location.prefix}results/cloudsql-export.lease`, leaseTtlMs,
  };
}

export const sourcePathOf = (spec: BackupRequestSpec) => {
  const p = (spec.documentLibrary.sourcePrefix ?? '').replace(/^\/+|\/+$/g, '');
  return p ? `${p}/` : '';
};

export function transferTarget(ctx: Pick<BackupContext, 'uid' | 'spec' | 'location'>, project: string, prefixes: string[] = []): TransferTarget {
  return {
    name: transferJobName(ctx.uid, 'dl'), project, description: uidMarker(ctx.uid),
    sourceBucket: ctx.spec.documentLibrary.sourceBucket, sourcePath: sourcePathOf(ctx.spec),
    sinkBucket: ctx.location.bucket, sinkPath: documentLibraryPrefix(ctx.location), excludePrefixes: prefixes,
  };
}

/** The source's top-level folders (Liferay's company IDs), where unanchored exclusions are expanded. */
async function topFolders(c: GcpClients, bucket: string, prefix: string): Promise<string[]> {
  const folders: string[] = [];
  let pageToken: string | undefined;
  do {
    const [, next, response] = await withDeadline(c.storage.bucket(bucket).getFiles({ prefix, delimiter: '/', autoPaginate: false, maxResults: 1000, ...(pageToken ? { pageToken } : {}) }), c.callTimeoutMs, `GCS list ${bucket}/${prefix}`);
    folders.push(...((response as { prefixes?: string[] } | undefined)?.prefixes ?? []).map((p) => p.slice(prefix.length)));
    pageToken = (next as { pageToken?: string } | null)?.pageToken;
  } while (pageToken && folders.length <= MAX_EXCLUDE_PREFIXES);
  return folders;
}

async function observe(step: BackupStep, ctx: BackupContext, op: OperationStatus, c: GcpClients, config: GcpProviderConfig): Promise<Observation<BackupStepResult>> {
  const progress = (op.progress ?? {}) as { backup?: string; operation?: string; started?: boolean; waitingSince?: string };
  if (step.name === 'snapshot') {
    const obs = await observeBackup(c, backupTarget(ctx, config), progress);
    if (obs.state !== 'done') return obs;
    const engine = obs.result.engine ?? ctx.spec.database.engine;
    if (!engine) return { state: 'failed', reason: 'EngineUnknown', message: `Cloud SQL reports no PostgreSQL or MySQL version for backup ${obs.result.name}; set spec.database.engine`, retryable: false };
    return { state: 'done', completedAt: obs.completedAt, result: { database: { engine, format: 'cloudsql-backup', snapshotId: obs.result.name, sizeBytes: obs.result.sizeBytes, tool: TOOL } } };
  }
  if (step.name === 'export') {
    const obs = await observeExport(c, exportTarget(ctx, config.defaultDatabase, config.leaseTtlMs), progress);
    return obs.state === 'done' ? { state: 'done', completedAt: obs.completedAt, result: { databaseExport: obs.result } } : obs;
  }
  const patterns = excludePatterns(ctx.spec.documentLibrary.excludeGeneratedFiles, ctx.spec.documentLibrary.excludePatterns);
  if (!progress.started) {
    const t = transferTarget(ctx, c.project);
    const prefixes = excludePrefixes(patterns, patterns.some((p) => !p.startsWith('/')) ? await topFolders(c, t.sourceBucket, t.sourcePath) : []);
    if (prefixes.length > MAX_EXCLUDE_PREFIXES) {
      return { state: 'failed', reason: 'TooManyExclusions', message: `the exclusions expand to ${prefixes.length} prefixes over the source's top-level folders; Storage Transfer takes at most ${MAX_EXCLUDE_PREFIXES}: anchor them ("/folder/**") or narrow spec.documentLibrary.sourcePrefix`, retryable: false };
    }
    await ensureJob(c, { ...t, excludePrefixes: prefixes });
    return { state: 'running', progress: { started: true }, resyncAfterSeconds: 2, message: `transfer job ${t.name} created (${prefixes.length} excluded prefixes)` };
  }
  const obs = await observeJob(c, transferTarget(ctx, c.project), progress.operation, progress.waitingSince);
  if (obs.state === 'running') return { ...obs, progress: { started: true, ...obs.progress } };
  if (obs.state === 'failed') return obs;
  const k = obs.result.counts;
  return { state: 'done', completedAt: obs.completedAt, result: { documentLibrary: {
    objectCount: k.copied + k.skipped, totalBytes: k.bytesCopied + k.bytesSkipped, excludedPatterns: patterns, tool: TRANSFER_TOOL, copiedObjects: k.copied + k.skipped,
  } } };
}

/** Provider errors become observations: transient ones retried with backoff, the rest a Failed with what to fix. */
export async function observeGcpBackupStep(step: BackupStep, ctx: BackupContext, op: OperationStatus, c: GcpClients, config: GcpProviderConfig): Promise<Observation<BackupStepResult>> {
  try { return await observe(step, ctx, op, c, config); } catch (e) {
    const busy = instanceBusy(e);
    if (busy) return busy;
    const k = classify(e);
    return { state: 'failed', reason: k.reason, message: k.message, retryable: k.retryable };
  }
}

const contextOf = (parent: BackupRequest) => {
  const uid = parent.metadata.uid ?? '';
  const spec = parent.status?.admitted?.spec ?? parent.spec;
  const location = parent.status?.location;
  return uid && spec && location ? { uid, spec, location } : undefined;
};

/**
 * A deletion that began while the backup was still being made waits out the lease TTL: a sync
 * already in flight then (a stale parent) may still be inside its lease, about to create the Cloud
 * SQL backup or start the export. A Succeeded backup made everything before its manifest.
 */
function createsMayLand(parent: BackupRequest, leaseTtlMs: number): boolean {
  if (parent.status?.phase === 'Succeeded') return false;
  const since = Date.parse(parent.metadata.deletionTimestamp ?? '');
  return Number.isFinite(since) && Date.now() < since + leaseTtlMs;
}

type Ctx = NonNullable<ReturnType<typeof contextOf>>;

/** Whether a sync holds the backup's or the export's lease (it may be creating one right now). */
async function leasesLive(c: GcpClients, ctx: Ctx, config: GcpProviderConfig): Promise<boolean> {
  for (const key of [backupTarget(ctx, config).leaseKey, exportTarget(ctx, config.defaultDatabase).leaseKey]) {
    if (await leaseLive(c.storage, ctx.location.bucket, key, c.callTimeoutMs)) return true;
  }
  return false;
}

const hasExport = (parent: BackupRequest, ctx: Ctx) => !!ctx.spec.database.export || !!parent.status?.operations?.export;

/** Every running EXPORT to this backup's URI cancelled (from status, the record, or the instance's operations); true once none runs. */
function quiesceExports(parent: BackupRequest, ctx: Ctx, c: GcpClients, config: GcpProviderConfig): Promise<boolean> {
  if (!hasExport(parent, ctx)) return Promise.resolve(true);
  const known = parent.status?.operations?.export?.progress?.operation;
  return quiesceExport(c, exportTarget(ctx, config.defaultDatabase, config.leaseTtlMs), typeof known === 'string' ? known : undefined);
}

/**
 * Before the folder is deleted: nothing may still be created into it. False while a create may be in
 * flight (the deletion began within the lease TTL of an unfinished backup, or a lease is live); a
 * running export to our URI is cancelled and waited for, and so is the transfer's run.
 */
export async function quiesceGcp(parent: BackupRequest, c: GcpClients, config: GcpProviderConfig): Promise<boolean> {
  const ctx = contextOf(parent);
  if (!ctx) return true;
  try {
    if (createsMayLand(parent, config.leaseTtlMs) || await leasesLive(c, ctx, config)) return false;
    if (!await quiesceExports(parent, ctx, c, config)) return false;
    // Always asked (a sync may have created the job without status saying so); a job not ours writes elsewhere.
    return await quiesceJob(c, transferTarget(ctx, c.project)).catch((e: unknown) => {
      if (isConflict(e)) return true;
      throw e;
    });
  } catch (e) {
    return isNotFound(e);
  }
}

/**
 * The Cloud SQL backup and the transfer job live outside the folder: deleted after ownership checks;
 * true once gone. Only once no create can still land: then every backup carrying this backup's
 * description is deleted, so one made by a sync in flight during the deletion is not left behind.
 */
export async function deleteGcpExternal(parent: BackupRequest, c: GcpClients, config: GcpProviderConfig): Promise<boolean> {
  const ctx = contextOf(parent);
  if (!ctx) return true;
  try {
    if (createsMayLand(parent, config.leaseTtlMs) || await leasesLive(c, ctx, config)) return false;
    if (!await quiesceExports(parent, ctx, c, config)) return false;
    const t = backupTarget(ctx, config);
    // Someone else's backup or job is left alone - and the other of the two is still deleted.
    await deleteBackup(c, t, parent.status?.database?.snapshotId).catch((e: unknown) => {
      if (!isConflict(e)) throw e;
      return deleteBackup(c, t, undefined); // the ones carrying our description
    });
    return await deleteJob(c, transferTarget(ctx, c.project)).catch((e: unknown) => {
      if (isConflict(e)) return true;
      throw e;
    });
  } catch (e) {
    // Anything else is tried again.
    return isConflict(e);
  }
}

const isConflict = (e: unknown) => (e as { name?: string }).name === 'OwnershipConflict';

/** Before Succeeded: the backup recorded in status is still there, SUCCESSFUL and ours; the export object is there. */
export async function verifyGcpExternal(ctx: BackupContext, c: GcpClients, config: GcpProviderConfig): Promise<ManifestCheck> {
  const name = ctx.database?.snapshotId;
  if (!name) return { ok: false, retryable: false, message: 'no Cloud SQL backup recorded for this backup' };
  if (!isOwnBackupName(c.project, name)) return { ok: false, retryable: false, message: `${name} is not a Cloud SQL backup of project ${c.project}` };
  try {
    const backup = await c.sql.getBackup(name);
    checkOwnBackup(backup, backupTarget(ctx, config));
    if (backup.state !== 'SUCCESSFUL') return { ok: false, retryable: backup.state === 'RUNNING' || backup.state === 'ENQUEUED', message: `Cloud SQL backup ${name} is ${backup.state ?? 'in no state'}` };
    if (engineOf(backup.databaseVersion) === undefined && !ctx.spec.database.engine) return { ok: false, retryable: false, message: `Cloud SQL backup ${name} has no known engine` };
    if (ctx.spec.database.export) {
      const t = exportTarget(ctx, config.defaultDatabase);
      const size = await exportedSize(c, t.bucket, t.key);
      if (!size) return { ok: false, retryable: false, message: `the export ${t.uri} is ${size === 0 ? 'empty' : 'gone'}` };
    }
    return { ok: true };
  } catch (e) {
    if (isNotFound(e)) return { ok: false, retryable: false, message: `Cloud SQL backup ${name} no longer exists` };
    const k = classify(e);
    return { ok: false, retryable: k.retryable, message: `Cloud SQL backup ${name}: ${k.message}` };
  }
}
