// The BackupTenant's sync hook: one retention policy per environment over all its recovery points
// (the history, itself rebuilt from the manifests), and the cloud's snapshot quota before a backup
// fails on it. The decision is pure (hooks/backup/environmentRetention.ts); this shell reads the
// history, confirms each doomed point through the API server (by UID) and its own manifest, and deletes it.
// Only points no BackupRequest governs are deleted here; a live resource keeps its own policy.
import type { BackupRequest, BackupTenant, BackupTenantStatus, EnvironmentRecoveryPoints, ProviderName } from '../../core/crd.ts';
import type { CustomizeResponse, SyncRequest, SyncResponse } from '../contract/types.ts';
import { API_VERSION, listOf } from '../contract/objects.ts';
import { ACTIVE_LABEL, PROJECT_LABEL } from '../backup/labels.ts';
import { errorName, ownKeys, type BackupShell } from '../backup/sync.ts';
import type { BackupRuntime } from '../../core/provider.ts';
import { pointsToExpire, policyFor, type RecoveryPoint } from '../backup/environmentRetention.ts';
import { manifestProblem } from '../backup/manifestTrust.ts';
import { isOwnBackupFolder } from '../../core/layout.ts';
import type { Manifest } from '../backup/manifest.ts';
import { readManifest } from '../restore/sync.ts';
import type { RecoveryPointRow } from '../archive/store.ts';
import { setCondition } from '../status/conditions.ts';
import { log } from '../server/log.ts';
import { snapshotQuota } from '../server/metrics.ts';

/** How often the history is swept when nothing is pending (related backups re-sync the tenant far more often). */
export const SWEEP_INTERVAL_SECONDS = 600;
/** Sooner while deletions are pending. */
const PENDING_RESYNC_SECONDS = 30;
/** The newest points read per environment: a policy never keeps more than this many (CRD: keepLast ≤ 1000, keepDaily ≤ 3650 ...). */
const MAX_POINTS_PER_ENVIRONMENT = 5000;
/** Rows whose incremental base is unknown (archived before it was recorded) learned from their manifests per sync. */
const BASES_PER_SYNC = 200;
/** The CRD's environment rule (lower-case DNS label of at most 30 characters). */
const ENVIRONMENT = /^[a-z0-9]([-a-z0-9]{0,28}[a-z0-9])?$/;
/** The one provider whose account quota is reported today (its messages speak of RDS); GCP and Azure would join here. */
const QUOTA_PROVIDER = 'aws';
/** At this share of the quota the tenant says so (a backup fails only at 100%). */
export const QUOTA_PRESSURE = 0.8;

/**
 * Related objects: the project's running backups, in every namespace. An incremental backup in
 * flight refers to a base the history cannot know yet, so an environment with one is not swept.
 */
export function customizeTenant(parent: BackupTenant): CustomizeResponse {
  const project = parent.metadata.name;
  return { relatedResources: [{ apiVersion: API_VERSION, resource: 'backuprequests', labelSelector: { matchLabels: { [ACTIVE_LABEL]: 'true', [PROJECT_LABEL]: project } }, namespaceSelector: {} }] };
}

type Outcome = 'deleted' | 'governed' | 'pending' | { problem: string };

export async function syncTenant(req: SyncRequest<BackupTenant>, shell: BackupShell): Promise<SyncResponse> {
  const tenant = req.parent;
  const prev: BackupTenantStatus = tenant.status ?? {};
  const now = shell.now();
  const generation = tenant.metadata.generation;
  const answer = (status: BackupTenantStatus, resync: number): SyncResponse => ({ status: { ...status, ...(generation !== undefined ? { observedGeneration: generation } : {}) }, children: [], resyncAfterSeconds: resync });
  const ready = (status: BackupTenantStatus, s: 'True' | 'False', reason: string, message: string) => setCondition(status.conditions, { type: 'Ready', status: s, reason, message }, now, generation);

  const since = Date.parse(now) - Date.parse(prev.lastSweepTime ?? '');
  const pending = (prev.environments ?? []).some((e) => e.expiring > 0);
  if (since < SWEEP_INTERVAL_SECONDS * 1000 && prev.observedGeneration === generation && !pending) {
    return answer(prev, Math.max(1, Math.ceil(SWEEP_INTERVAL_SECONDS - since / 1000)));
  }
  let status: BackupTenantStatus = { ...prev, lastSweepTime: now };
  if (!shell.archive) {
    status = { ...status, ...await quotaStatus(shell, status, now, generation) };
    return answer({ ...status, conditions: ready(status, 'False', 'HistoryUnavailable', 'environment retention reads the backup history: this hook server has no archive (LC2_ARCHIVE_URL)') }, SWEEP_INTERVAL_SECONDS);
  }
  let rows: RecoveryPointRow[];
  try { rows = await shell.archive.recoveryPoints(tenant.metadata.name, MAX_POINTS_PER_ENVIRONMENT); } catch (e) {
    status = { ...status, ...await quotaStatus(shell, status, now, generation) };
    return answer({ ...status, conditions: ready(status, 'False', 'HistoryUnavailable', `the backup history cannot be read (${errorName(e)}); retrying`) }, 300);
  }
  await learnBases(rows, shell);
  const active = listOf(req.related, 'BackupRequest', API_VERSION) as BackupRequest[];
  // Only the project's own namespaces count: a request elsewhere claiming this project is an impostor.
  const own = new Set(tenant.spec?.namespaces ?? []);
  const incrementalInFlight = new Set(active.filter((b) => own.has(b.metadata.namespace ?? '') && b.spec?.projectId === tenant.metadata.name
    && b.spec?.documentLibrary?.incremental).map((b) => b.spec!.environment));

  // Which BackupRequests exist in the project's namespaces: listed once per sweep, only if something is due.
  let alive: Promise<Set<string> | string> | undefined;
  const live = () => alive ??= !shell.liveBackupUids
    ? Promise.resolve('this hook server cannot list BackupRequests from the API server, so it deletes no data (docs/security.md)')
    : shell.liveBackupUids(tenant.spec?.namespaces ?? []).catch((e: unknown) => `the API server could not list BackupRequests (${errorName(e)})`);
  const environments: EnvironmentRecoveryPoints[] = [];
  const problems: string[] = [];
  let expired = 0;
  const deleted = new Set<string>();
  const deadline = Date.now() + shell.deleteBudgetMs;
  for (const [environment, envRows] of groupBy(rows, (r) => r.environment)) {
    // A name no BackupRequest can have (a planted manifest's) is never swept nor reported.
    if (!ENVIRONMENT.test(environment)) { problems.push(`history rows of environment "${environment.slice(0, 40)}" (not a valid environment name) are never swept: remove them from backup_history if they are not backups`); continue; }
    const points: RecoveryPoint[] = envRows.map((r) => ({
      uid: r.uid, backupId: r.backupId, completedAt: Date.parse(r.completedAt),
      governed: !(r.resourceDeleted || r.fromManifest), ...(r.dlBase ? { baseBackupId: r.dlBase } : {}),
    }));
    const unknownBase = envRows.some((r) => r.dlBase === undefined);
    const doomed = unknownBase || incrementalInFlight.has(environment) ? [] : pointsToExpire(points, policyFor(tenant.spec?.retention, environment), Date.parse(now));
    let left = doomed.length;
    let gone = 0;
    for (const point of doomed) {
      if (Date.now() >= deadline) break;
      const row = envRows.find((r) => r.uid === point.uid)!;
      const outcome = await expire(row, tenant, shell, Math.max(500, deadline - Date.now()), live);
      if (outcome === 'pending') continue;
      left -= 1;
      if (outcome === 'deleted') { gone += 1; deleted.add(row.uid); await shell.archive.markDataDeleted(row.uid, now).catch(() => undefined); }
      else if (outcome !== 'governed') problems.push(`${row.backupId}: ${outcome.problem}`);
    }
    expired += gone;
    const newest = envRows[0];
    environments.push({
      name: environment, recoveryPoints: envRows.length - gone, ungoverned: points.filter((p) => !p.governed).length - gone, expiring: left,
      ...(newest ? { newestBackupId: newest.backupId, newestCompletedAt: newest.completedAt } : {}),
    });
    if (unknownBase) problems.push(`${environment}: waiting to learn the incremental bases of older backups from their manifests`);
  }
  const vanished = await forgetVanished(tenant, shell, live);
  if (typeof vanished === 'string') problems.push(vanished);
  // After the sweep: the quota as it is now, with what retention just freed.
  // The snapshots the project's recovery points hold (each cloud backup has one): the cap of new snapshot backups counts them.
  const holdsSnapshots = (provider: string) => { const rt = shell.runtime(provider); return !('unavailable' in rt) && !!rt.snapshotQuota; };
  const snapshots = rows.filter((r) => holdsSnapshots(r.provider) && !deleted.has(r.uid)).length;
  status = { ...status, environments: environments.slice(0, 200), expiredTotal: (prev.expiredTotal ?? 0) + expired, snapshots };
  status = { ...status, ...await quotaStatus(shell, status, now, generation) };
  if (expired > 0) log('info', 'recovery points expired', { tenant: tenant.metadata.name, count: expired });
  const message = problems.length > 0
    ? `some recovery points could not be expired: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; ...' : ''}`
    : tenant.spec?.retention ? 'environment retention applied' : 'no environment retention set: backups whose resource is gone are kept (spec.retention)';
  status = { ...status, conditions: ready(status, problems.length > 0 ? 'False' : 'True', problems.length > 0 ? 'RetentionBlocked' : 'RetentionApplied', message) };
  return answer(status, environments.some((e) => e.expiring > 0) ? PENDING_RESYNC_SECONDS : SWEEP_INTERVAL_SECONDS);
}

/**
 * In-flight rows of BackupRequests the API server no longer has (deleted without their finalizer)
 * and of RestoreRequests deleted (they have none): they would count as stuck forever. Only rows
 * quiet for 10 minutes in the project's own namespaces are checked, each against the API server's
 * list of its kind; a kind that cannot be listed keeps its rows.
 */
async function forgetVanished(tenant: BackupTenant, shell: BackupShell, live: () => Promise<Set<string> | string>): Promise<number | string> {
  const own = new Set(tenant.spec?.namespaces ?? []);
  let quiet: Array<{ uid: string; kind: string; namespace: string }>;
  try { quiet = (await shell.archive!.quietInFlight(tenant.metadata.name, 10)).filter((r) => own.has(r.namespace)); } catch { return 0; }
  const listRestores = shell.liveRestoreUids;
  const lists: Record<string, () => Promise<Set<string> | string>> = {
    BackupRequest: live,
    RestoreRequest: () => listRestores ? listRestores([...own]).catch(() => 'unlisted') : Promise.resolve('unlisted'),
  };
  const gone: string[] = [];
  for (const [kind, rows] of groupBy(quiet, (r) => r.kind)) {
    const uids = await lists[kind]?.();
    if (uids === undefined || typeof uids === 'string') continue;
    gone.push(...rows.filter((r) => !uids.has(r.uid)).map((r) => r.uid));
  }
  try { await shell.archive!.forgetInFlight(gone); } catch (e) { return `in-flight rows of deleted backups or restores could not be removed (${errorName(e)})`; }
  if (gone.length > 0) log('info', 'in-flight rows of deleted backups and restores forgotten', { tenant: tenant.metadata.name, count: gone.length });
  return gone.length;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item); else groups.set(key(item), [item]);
  }
  return groups;
}

/** Rows archived before bases were recorded: read each manifest once (bounded per sync). */
async function learnBases(rows: RecoveryPointRow[], shell: BackupShell): Promise<void> {
  for (const row of rows.filter((r) => r.dlBase === undefined).slice(0, BASES_PER_SYNC)) {
    const runtime = shell.runtime(row.provider);
    if ('unavailable' in runtime || !row.manifest) continue;
    const read = await readManifest(runtime.store, row.manifest.bucket, row.manifest.key);
    if (!read.ok) continue;
    row.dlBase = read.manifest.documentLibrary.base?.backupId ?? '';
    await shell.archive?.setBase(row.uid, row.dlBase).catch(() => undefined);
  }
}

/**
 * Deletes one recovery point the policy let go, after proving it may: no BackupRequest with its
 * UID exists (the API server says so), and its manifest - at the place the history names, trusted
 * by the same rules as a restore - names this project, environment and UID, in one of the
 * project's backup buckets. The manifest goes last, so a deletion cut short is found again.
 */
async function expire(row: RecoveryPointRow, tenant: BackupTenant, shell: BackupShell, budgetMs: number, live: () => Promise<Set<string> | string>): Promise<Outcome> {
  const runtime = shell.runtime(row.provider);
  if ('unavailable' in runtime) return { problem: runtime.unavailable };
  if (!row.manifest) return { problem: 'the history records no manifest for it' };
  // A row of a namespace that is not (or no longer) the project's cannot be confirmed gone: left alone.
  if (!(tenant.spec?.namespaces ?? []).includes(row.namespace)) return { problem: `its BackupRequest's namespace ${row.namespace} is not one of the project's` };
  // By UID, never by the name a row (or the manifest it was rebuilt from) claims.
  const alive = await live();
  if (typeof alive === 'string') return { problem: alive };
  if (alive.has(row.uid)) return 'governed';
  const buckets = tenant.spec?.backupBuckets ?? [];
  if (shell.policy.tenancy === 'enforce' && !buckets.includes(row.manifest.bucket)) return { problem: `${row.manifest.bucket} is not one of the project's backup buckets` };
  const read = await readManifest(runtime.store, row.manifest.bucket, row.manifest.key);
  if (!read.ok && read.reason === 'ManifestNotFound') return deleteWithoutManifest(runtime, row, tenant, budgetMs);
  if (!read.ok) return read.retryable ? 'pending' : { problem: read.message };
  const m = read.manifest;
  const untrusted = manifestProblem(row.manifest, m);
  if (untrusted) return { problem: `its manifest cannot be believed: ${untrusted}` };
  if (m.source.uid !== row.uid || m.projectId !== tenant.metadata.name || m.environment !== row.environment || !isOwnBackupFolder(m.location, m.backupId)) {
    return { problem: 'its manifest names another backup than the history does' };
  }
  try {
    return await deleteRecoveryPoint(runtime, parentFromManifest(m), m, budgetMs) ? 'deleted' : 'pending';
  } catch (e) { return { problem: `storage refused the deletion (${errorName(e)})` }; }
}

/**
 * The manifest is gone: a deletion cut short after it (it goes last), or the tenant removed it.
 * Nothing is believed but the history's own record: the folder its manifest key names (if it is
 * this backup's folder of this project and environment), and what the provider derives from the
 * UID (an RDS snapshot, deleted only if tagged with that UID and this project).
 */
async function deleteWithoutManifest(rt: BackupRuntime, row: RecoveryPointRow, tenant: BackupTenant, budgetMs: number): Promise<Outcome> {
  const key = row.manifest!.key;
  const location = { bucket: row.manifest!.bucket, prefix: key.slice(0, -'manifest.json'.length) };
  if (!key.endsWith('/manifest.json') || !location.prefix.startsWith(`${tenant.metadata.name}/${row.environment}/`) || !isOwnBackupFolder(location, row.backupId)) {
    return { problem: 'the history names no folder of this backup' };
  }
  const parent: BackupRequest = {
    apiVersion: API_VERSION, kind: 'BackupRequest', metadata: { namespace: row.namespace, name: row.name, uid: row.uid },
    spec: {
      projectId: tenant.metadata.name, environment: row.environment, provider: row.provider as ProviderName,
      database: { type: 'snapshot', instanceId: '' }, documentLibrary: { sourceBucket: '', destinationBucket: location.bucket },
    },
    status: { phase: 'Succeeded', backupId: row.backupId, location },
  };
  try {
    if (rt.deleteExternal && !await rt.deleteExternal(parent)) return 'pending';
    const deadline = Date.now() + budgetMs;
    while (Date.now() < deadline) {
      const keys = await ownKeys(rt.store, location);
      if (keys.length === 0) return 'deleted';
      await rt.store.deleteMany(location.bucket, keys);
    }
    return 'pending';
  } catch (e) { return { problem: `storage refused the deletion (${errorName(e)})` }; }
}

/** What lives outside the folder first (while the manifest still names it), then the folder, the manifest last. */
async function deleteRecoveryPoint(rt: BackupRuntime, parent: BackupRequest, m: Manifest, budgetMs: number): Promise<boolean> {
  // A finished backup has nothing running into its folder: no quiesce (it would act on operation IDs a manifest names).
  if (rt.deleteExternal && !await rt.deleteExternal(parent)) return false;
  const deadline = Date.now() + budgetMs;
  const manifest = `${m.location.prefix}manifest.json`;
  while (Date.now() < deadline) {
    const keys = (await ownKeys(rt.store, m.location)).filter((k) => k !== manifest);
    if (keys.length === 0) { await rt.store.deleteMany(m.location.bucket, [manifest]); return true; }
    await rt.store.deleteMany(m.location.bucket, keys);
  }
  return false;
}

/** The BackupRequest a manifest describes, as far as deleting its data needs (the provider's own ownership checks still apply). */
function parentFromManifest(m: Manifest): BackupRequest {
  const ops = Object.fromEntries(Object.entries(m.operations).map(([step, id]) => [step, { id, state: 'Succeeded' as const }]));
  return {
    apiVersion: API_VERSION, kind: 'BackupRequest',
    metadata: { namespace: m.source.namespace, name: m.source.name, uid: m.source.uid },
    spec: {
      projectId: m.projectId, environment: m.environment, provider: m.provider as ProviderName,
      database: {
        type: m.database.type === 'snapshot' ? 'snapshot' : 'dump', engine: m.database.engine === 'mysql' ? 'mysql' : 'postgresql',
        instanceId: m.database.instanceId, ...(m.database.databaseName ? { databaseName: m.database.databaseName } : {}), ...(m.database.cluster ? { cluster: true } : {}),
        // A provider deletes what the export made outside the folder (Azure: its long-term container).
        ...(m.database.export ? { export: {} } : {}),
      },
      documentLibrary: { sourceBucket: m.documentLibrary.sourceBucket, destinationBucket: m.location.bucket },
    },
    status: { phase: 'Succeeded', backupId: m.backupId, location: m.location, operations: ops },
  };
}

/** The provider's snapshot quota, reported (and a condition raised) before a backup fails on it. */
async function quotaStatus(shell: BackupShell, status: BackupTenantStatus, now: string, generation: number | undefined): Promise<Pick<BackupTenantStatus, 'snapshotQuota' | 'conditions'>> {
  const runtime = shell.runtime(QUOTA_PROVIDER);
  if ('unavailable' in runtime || !runtime.snapshotQuota) return { conditions: status.conditions ?? [] };
  let quota: { used: number; max: number } | undefined;
  try { quota = await runtime.snapshotQuota(); } catch { quota = undefined; }
  if (!quota) return { ...(status.snapshotQuota ? { snapshotQuota: status.snapshotQuota } : {}), conditions: status.conditions ?? [] };
  snapshotQuota.set({ provider: QUOTA_PROVIDER, kind: 'used' }, quota.used);
  snapshotQuota.set({ provider: QUOTA_PROVIDER, kind: 'max' }, quota.max);
  const pressed = quota.max > 0 && quota.used >= quota.max * QUOTA_PRESSURE;
  const conditions = setCondition(status.conditions, pressed
    ? { type: 'SnapshotQuotaPressure', status: 'True', reason: quota.used >= quota.max ? 'QuotaExhausted' : 'QuotaNearlyExhausted',
      message: `the AWS account holds ${quota.used} of its ${quota.max} manual RDS snapshots: new snapshot backups ${quota.used >= quota.max ? 'fail' : 'will fail'} at ${quota.max}; tighten spec.retention, delete unneeded backups or raise the quota (docs/aws.md)` }
    : { type: 'SnapshotQuotaPressure', status: 'False', reason: 'QuotaAvailable', message: `${quota.used} of ${quota.max} manual RDS snapshots in use` }, now, generation);
  return { snapshotQuota: { provider: QUOTA_PROVIDER, ...quota }, conditions };
}
