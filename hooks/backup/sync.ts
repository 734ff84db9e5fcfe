// The imperative shell around decideBackup: gathers what the machine asks for (Job state and result
// objects, manifest write + verification), performs the one side effect it owns (writing
// manifest.json), and answers Metacontroller with the complete status and children.
import type { BackupRequest, BackupRequestSpec, BackupSchedule, BackupTenant } from '../../core/crd.ts';
import { ON_SCHEDULE_DELETION_ANNOTATION } from '../schedule/machine.ts';
import { log } from '../server/log.ts';
import type { CustomizeResponse, SyncRequest, SyncResponse } from '../contract/types.ts';
import { API_VERSION, childrenOf, groupKey, listOf, relatedObject } from '../contract/objects.ts';
import { admission } from './admission.ts';
import type { Archive } from '../archive/store.ts';
import { trackInFlight } from '../archive/trackInFlight.ts';
import { backupTenancyRefusal, type TenancyMode } from './tenancy.ts';
import { ObjectTooLarge, type BackupRuntime, type BackupStepResult, type ManifestCheck, type Observation, type ObjectStore } from '../../core/provider.ts';
import { dependentsOf, previousFull } from './incremental.ts';
import { isNewestRecoveryPoint } from './recoveryPoints.ts';
import { validateSpec } from '../../core/validation/schema.ts';
import { setCondition } from '../status/conditions.ts';
import { decideBackup, type BackupInput, type BackupObservations } from './machine.ts';
import { backupIdOf, isOwnBackupFolder, isOwnEntry } from '../../core/layout.ts';
import { ACTIVE_LABEL, BASE_LABEL, ENVIRONMENT_LABEL, PROJECT_LABEL, backupLabels, labelValueOf } from './labels.ts';
import type { Manifest } from './manifest.ts';
import { archiveWriteFailures } from '../server/metrics.ts';

/** The parent as the API server holds it (never as a hook request claims it); undefined when it is gone. */
export type ReadParent = (claimed: BackupRequest) => Promise<BackupRequest | undefined>;

/** For a single-tenant setup without an API server (LC2_CONFIRM_DELETIONS=off): believe the request. */
export const trustRequest: ReadParent = async (claimed) => claimed;

/** A BackupSchedule as the API server holds it; undefined when it is gone. */
export type ReadSchedule = (namespace: string, name: string) => Promise<BackupSchedule | undefined>;

export interface BackupShell {
  runtime(provider: string): BackupRuntime | { unavailable: string };
  now(): string;
  /** Time budget for deleting a backup's objects in one finalize call. */
  deleteBudgetMs: number;
  policy: ServicePolicy;
  /** The backup history; absent when archiving is off. */
  archive?: Archive;
  /** Confirms a parent through the API server before any data is deleted; without it nothing is deleted. */
  readParent?: ReadParent;
  /** Confirms a scheduled backup's schedule is alive before its data is deleted; without it scheduled backups keep their data. */
  readSchedule?: ReadSchedule;
  /** The UIDs of the BackupRequests that exist in these namespaces (the API server's list); without it, the retention sweep deletes nothing. */
  liveBackupUids?: (namespaces: readonly string[]) => Promise<Set<string>>;
  /** The same for RestoreRequests: the sweep forgets in-flight rows of restores gone; without it they stay. */
  liveRestoreUids?: (namespaces: readonly string[]) => Promise<Set<string>>;
}

export interface ServicePolicy {
  tenancy: TenancyMode;
  /** Running backups per project unless its BackupTenant says otherwise. */
  maxConcurrentPerProject: number;
  /** Running backups across all projects (protects cloud API quotas). */
  maxConcurrentGlobal: number;
}

/**
 * Related objects of a BackupRequest sync (labels from backupLabels(), every namespace): its
 * project's BackupTenant; the ACTIVE BackupRequests (running or waiting: the queue); the ones whose
 * incremental base is this backup (its dependents); and, only for an incremental backup or one
 * with retentionDays, its environment's finished ones (the base to choose; the newest recovery
 * point). Finished backups of other environments never travel: the set does not grow with history.
 * Depends only on the spec, name and UID (Metacontroller caches it per UID and generation).
 */
export function customizeBackup(parent: BackupRequest): CustomizeResponse {
  const spec = parent.spec;
  const project = typeof spec?.projectId === 'string' ? spec.projectId : '';
  const environment = typeof spec?.environment === 'string' ? spec.environment : '';
  const everywhere = { namespaceSelector: {} };
  const byLabels = (matchLabels: Record<string, string>) => ({ apiVersion: API_VERSION, resource: 'backuprequests', labelSelector: { matchLabels }, ...everywhere });
  const history = project && environment && (spec?.documentLibrary?.incremental === true || typeof spec?.retentionDays === 'number');
  const labels = backupLabels({ ...parent, status: {} });
  return {
    relatedResources: [
      ...(project ? [{ apiVersion: API_VERSION, resource: 'backuptenants', names: [project] }] : []),
      byLabels({ [ACTIVE_LABEL]: 'true' }),
      // Not labelled yet (made before the labelling, or the decorator lags): always travel, so no
      // running backup is missing from the queue and no dependent from its base's deletion check.
      { apiVersion: API_VERSION, resource: 'backuprequests', labelSelector: { matchExpressions: [{ key: ACTIVE_LABEL, operator: 'DoesNotExist' as const }] }, ...everywhere },
      byLabels({ [BASE_LABEL]: labelValueOf(backupIdOf(parent.metadata.name, parent.metadata.uid ?? '')) }),
      ...(history && labels[PROJECT_LABEL] && labels[ENVIRONMENT_LABEL]
        ? [byLabels({ [PROJECT_LABEL]: labels[PROJECT_LABEL], [ENVIRONMENT_LABEL]: labels[ENVIRONMENT_LABEL], [ACTIVE_LABEL]: 'false' })] : []),
    ],
  };
}

/** The spec a decision is made on: the admitted one once the backup started, else the live one. */
function effectiveSpec(parent: BackupRequest): BackupRequestSpec | undefined {
  const validated = validateSpec<BackupRequestSpec>('BackupRequest', parent.spec);
  return validated.ok ? (parent.status?.admitted?.spec ?? validated.value) : undefined;
}

const relatedBackups = (req: SyncRequest<BackupRequest>) => listOf(req.related, 'BackupRequest', API_VERSION) as BackupRequest[];
const tenantOf = (req: SyncRequest, projectId: string) => relatedObject(req.related, 'BackupTenant', API_VERSION, undefined, projectId) as BackupTenant | undefined;

/** Tenancy and queue position from the related objects (pure helpers; the machine decides). */
function gateFor(req: SyncRequest<BackupRequest>, policy: ServicePolicy, now: string): BackupInput['gate'] {
  const parent = req.parent;
  const spec = effectiveSpec(parent);
  if (!spec) return {};
  const tenant = tenantOf(req, spec.projectId);
  const refusal = backupTenancyRefusal(parent.metadata.namespace ?? '', spec, tenant, policy.tenancy);
  // The platform team's BackupTenant, never the request, says whether and for which key dumps are encrypted.
  const encryption = tenant?.metadata.name === spec.projectId ? tenant.spec?.encryption : undefined;
  const gate = { ...(refusal ? { refusal } : {}), ...(encryption ? { encryption } : {}) };
  // Without the related BackupRequests (a controller without the customize hook) there is no queue.
  if (!req.related?.[groupKey('BackupRequest', API_VERSION)]) return gate;
  // A request that claims this project from a namespace that is not the project's is an impostor:
  // it never holds one of the project's slots nor a place in its queue.
  const namespaces = policy.tenancy === 'enforce' ? tenant?.spec?.namespaces ?? [] : undefined;
  // The queue is computed from what every parent sees alike - the backups labelled active (and
  // any not labelled yet) - so no two parents can each defer to the other because they saw
  // different finished ones (some parents also relate their environment's history).
  const all = relatedBackups(req).filter((b) => b.metadata.labels?.[ACTIVE_LABEL] !== 'false')
    .filter((b) => !namespaces || b.spec?.projectId !== spec.projectId || namespaces.includes(b.metadata.namespace ?? ''));
  const limit = tenant?.spec?.maxConcurrentBackups;
  const perProject = (p: string) => (p === spec.projectId && limit ? limit : policy.maxConcurrentPerProject);
  // Others see this backup in their queues only once it carries the active label: until then it
  // may not start (two unlabelled backups would not see each other and could both start).
  if (parent.metadata.labels?.[ACTIVE_LABEL] !== 'true') {
    return { ...gate, admission: { admitted: false, position: 1, reason: 'waiting for its labels (DecoratorController lc2-backuprequest-labels)' } };
  }
  const capped = snapshotCap(parent, spec, tenant, all);
  if (capped) return { ...gate, admission: { admitted: false, position: 1, reason: capped } };
  return { ...gate, admission: admission(parent, all, { perProject, global: policy.maxConcurrentGlobal, now }) };
}

/**
 * A project's share of the cloud account's snapshot quota (BackupTenant spec.maxSnapshots): the
 * snapshots its recovery points hold (the retention sweep's count in the tenant's status) plus its
 * snapshot backups running now. At the cap a new snapshot backup waits (Queued) until retention
 * frees one, so one project cannot use up the quota every project in the account shares.
 */
function snapshotCap(parent: BackupRequest, spec: BackupRequestSpec, tenant: BackupTenant | undefined, active: readonly BackupRequest[]): string | undefined {
  const max = tenant?.spec?.maxSnapshots;
  if (!max || spec.database.type !== 'snapshot') return undefined;
  const held = tenant.status?.snapshots ?? 0;
  const running = active.filter((b) => b.metadata.uid !== parent.metadata.uid && b.spec?.projectId === spec.projectId && b.spec?.database?.type === 'snapshot'
    && !!b.status?.operations?.snapshot && b.status.phase !== 'Succeeded' && b.status.phase !== 'Failed').length;
  if (held + running < max) return undefined;
  return `project ${spec.projectId} holds ${held + running} of its ${max} database snapshots (BackupTenant spec.maxSnapshots): waiting until retention frees one`;
}

/**
 * Whether the request's namespace is one of the project's it claims (the BackupTenant says so):
 * only then is it that project's history. A request claiming another project is never archived.
 */
export function belongsToItsProject(req: SyncRequest, policy: ServicePolicy): boolean {
  if (policy.tenancy === 'off') return true;
  const projectId = (req.parent.spec as { projectId?: unknown } | undefined)?.projectId;
  if (typeof projectId !== 'string') return false;
  const namespaces = tenantOf(req, projectId)?.spec?.namespaces;
  return Array.isArray(namespaces) && namespaces.includes(req.parent.metadata.namespace ?? '');
}

const MAX_ROUNDS = 6;

export async function syncBackup(req: SyncRequest<BackupRequest>, shell: BackupShell): Promise<SyncResponse> {
  const jobs = childrenOf(req.children, 'Job', 'batch/v1', req.parent.metadata.namespace);
  const provider = typeof req.parent.spec?.provider === 'string' ? req.parent.spec.provider : '';
  const runtime = shell.runtime(provider);
  const rt = 'unavailable' in runtime ? undefined : runtime;
  const now = shell.now();
  const observations: BackupObservations = {};
  const gate = gateFor(req, shell.policy, now);
  const all = relatedBackups(req);
  const base = req.parent.spec?.documentLibrary?.incremental ? previousFull(req.parent, all, gate?.encryption?.awsKmsKeyArn) : undefined;
  const decide = () => decideBackup({
    parent: req.parent, existingChildren: new Set(jobs.keys()), planner: rt ? rt.planner : runtime as { unavailable: string },
    observations, now, gate, archiving: !!shell.archive && belongsToItsProject(req, shell.policy), ...(base ? { previousFull: base } : {}),
  });
  let decision = decide();
  for (let round = 0; decision.need && round < MAX_ROUNDS; round += 1) {
    const need = decision.need;
    if (need.kind === 'observeStep') {
      const job = need.step.children.map((c) => jobs.get(c.metadata.name)).find(Boolean);
      observations.steps = { ...observations.steps, [need.step.name]: await observeSafely(() => rt!.observeStep(need.step, need.ctx, job, need.op)) };
    } else if (need.kind === 'writeManifest') {
      const external = rt!.verifyExternal ? await rt!.verifyExternal(need.ctx) : { ok: true as const };
      observations.manifest = external.ok ? await writeAndVerifyManifest(rt!.store, need.bucket, need.key, need.manifest) : external;
    } else if (need.kind === 'deleteData') {
      const wait = await expireData(req.parent, all, rt, shell);
      observations.dataDeleted = wait === 0;
      if (wait > 0) observations.deleteRetryAfterSeconds = wait;
      // The history keeps the row and says when the data went (best effort); the resource stays.
      if (observations.dataDeleted) log('info', 'backup data deleted', { namespace: req.parent.metadata.namespace, name: req.parent.metadata.name, uid: req.parent.metadata.uid, why: 'retentionDays' });
      if (observations.dataDeleted && shell.archive && req.parent.metadata.uid) await shell.archive.markDataDeleted(req.parent.metadata.uid, now).catch(() => undefined);
    } else {
      try { await shell.archive!.upsert(need.record); observations.archived = { ok: true }; } catch (e) {
        observations.archived = { ok: false, message: errorName(e) };
        archiveWriteFailures.inc({ table: 'backup_history' });
      }
    }
    decision = decide();
  }
  if (decision.need) throw new Error('backup decision did not settle: a bug in the state machine');
  await trackInFlight(shell.archive, req.parent, decision.status, now, belongsToItsProject(req, shell.policy));
  return { status: decision.status, children: decision.children, ...(decision.resyncAfterSeconds ? { resyncAfterSeconds: decision.resyncAfterSeconds } : {}) };
}

/**
 * retentionDays expiry: the data goes only when the API server confirms it is due - the same
 * object (UID), Succeeded, its own retentionDays passed - and only the folder its live status
 * records. A crafted request can therefore never make the hook delete anything.
 */
async function expireData(claimed: BackupRequest, all: readonly BackupRequest[], rt: BackupRuntime | undefined, shell: BackupShell): Promise<number> {
  const live = await confirmed(claimed, shell);
  if (typeof live === 'string') return 300;
  const days = (live.status?.admitted?.spec ?? live.spec)?.retentionDays;
  const done = Date.parse(live.status?.completionTime ?? '');
  const due = live.status?.phase === 'Succeeded' && typeof days === 'number' && Number.isFinite(done) && done + days * 86_400_000 <= Date.parse(shell.now());
  // An incremental backup still refers to this one's data: it stays until they are gone.
  if (!due || !rt || dependentsOf(live, all).length > 0 || !isOwnBackupFolder(live.status?.location, live.status?.backupId)) return 300;
  // The environment's newest good backup outlives its retentionDays until a newer one succeeds.
  if (isNewestRecoveryPoint(live, all)) return 3600;
  return deleteBackupData(rt, live, live.status!.location!, shell.deleteBudgetMs);
}

/** The parent as the API server has it, if it is the same object (UID); else why not. */
async function confirmed(claimed: BackupRequest, shell: BackupShell): Promise<BackupRequest | string> {
  if (!shell.readParent) return 'this hook server cannot read BackupRequests from the API server, so it deletes no data (docs/security.md)';
  let live: BackupRequest | undefined;
  // An API server that cannot answer (403, timeout) blocks the deletion for now: never a 500 loop.
  try { live = await shell.readParent(claimed); } catch (e) { return `the API server could not confirm it (${errorName(e)})`; }
  if (!live) return 'gone';
  if (!claimed.metadata.uid || live.metadata.uid !== claimed.metadata.uid) return `the API server holds another ${claimed.metadata.name} (UID differs)`;
  return live;
}

/** A storage hiccup while observing is not a failed backup: report it and look again later. */
async function observeSafely(fn: () => Promise<Observation<BackupStepResult>>): Promise<Observation<BackupStepResult>> {
  try { return await fn(); } catch (e) { return { state: 'running', message: `cannot read the step's result yet (${errorName(e)}); retrying` }; }
}

export async function writeAndVerifyManifest(store: ObjectStore, bucket: string, key: string, manifest: Manifest): Promise<ManifestCheck> {
  const body = `${JSON.stringify(manifest, null, 2)}\n`;
  try {
    // Written once: a replay finds the same bytes there and leaves them (a rewrite would change the object's time and version).
    const there = await store.get(bucket, key).catch((e: unknown) => { if (e instanceof ObjectTooLarge) return null; throw e; });
    if (there?.toString('utf8') !== body) await store.put(bucket, key, body, 'application/json');
    const back = await store.get(bucket, key);
    if (!back || back.toString('utf8') !== body) return { ok: false, retryable: true, message: `manifest ${bucket}/${key} did not read back identically` };
    if (manifest.database.artifact) {
      const head = await store.head(bucket, manifest.database.artifact);
      if (!head) return { ok: false, retryable: false, message: `database artifact ${bucket}/${manifest.database.artifact} is missing` };
      if (head.size !== manifest.database.sizeBytes) {
        return { ok: false, retryable: false, message: `database artifact ${bucket}/${manifest.database.artifact} has ${head.size} bytes, the dump Job reported ${manifest.database.sizeBytes}` };
      }
    }
    return { ok: true };
  } catch (e) {
    return { ok: false, retryable: true, message: `storage unavailable (${errorName(e)})` };
  }
}

export async function finalizeBackup(req: SyncRequest<BackupRequest>, shell: BackupShell): Promise<SyncResponse> {
  const status = req.parent.status ?? {};
  const claimedPolicy = effectiveSpec(req.parent)?.deletionPolicy ?? 'Retain';
  // Retain (the default) deletes nothing, so nothing needs confirming.
  if (claimedPolicy !== 'Delete' || !status.location || !isOwnBackupFolder(status.location, status.backupId)) {
    await recordDeletion(req.parent, shell);
    return { status, children: [], finalized: true };
  }
  const blocked = (reason: string, message: string, seconds: number): SyncResponse => ({
    status: { ...status, conditions: setCondition(status.conditions, { type: 'Ready', status: 'False', reason, message }, shell.now(), req.parent.metadata.generation) },
    children: [], finalized: false, resyncAfterSeconds: seconds,
  });
  // Stop the Jobs first: a dump still running must not write after its folder was emptied.
  if (childrenOf(req.children, 'Job', 'batch/v1', req.parent.metadata.namespace).size > 0) return { status, children: [], finalized: false, resyncAfterSeconds: 5 };
  // Data is deleted only for the object the API server holds, being deleted, as ITS status says.
  const live = await confirmed(req.parent, shell);
  if (live === 'gone') return { status, children: [], finalized: true };
  if (typeof live === 'string') return blocked('DeletionUnconfirmed', `deletionPolicy Delete: ${live}`, 300);
  if (!live.metadata.deletionTimestamp) return blocked('DeletionUnconfirmed', 'deletionPolicy Delete: the API server does not show this BackupRequest as being deleted', 300);
  const liveSpec = effectiveSpec(live);
  const location = live.status?.location;
  if (liveSpec?.deletionPolicy !== 'Delete' || !location || !isOwnBackupFolder(location, live.status?.backupId)) {
    await recordDeletion(live, shell);
    return { status, children: [], finalized: true };
  }
  const kept = await keptForSchedule(live, shell);
  if (typeof kept === 'object') return blocked('DeletionUnconfirmed', `deletionPolicy Delete: ${kept.wait}`, 300);
  if (kept) {
    log('info', 'backup data kept', { namespace: live.metadata.namespace, name: live.metadata.name, uid: live.metadata.uid, why: kept });
    await recordDeletion(live, shell);
    return { status, children: [], finalized: true };
  }
  const dependents = dependentsOf(live, relatedBackups(req));
  if (dependents.length > 0) {
    return blocked('DeletionWaitsForDependents', `deletionPolicy Delete: the data is kept while incremental backups refer to it (${dependents.slice(0, 5).join(', ')}${dependents.length > 5 ? ', ...' : ''})`, 300);
  }
  const runtime = shell.runtime(liveSpec.provider);
  if ('unavailable' in runtime) return blocked('DeletionBlocked', `deletionPolicy Delete, but the data cannot be deleted: ${runtime.unavailable}`, 300);
  const wait = await deleteBackupData(runtime, live, location, shell.deleteBudgetMs);
  if (wait > 0) return { status, children: [], finalized: false, resyncAfterSeconds: wait };
  log('info', 'backup data deleted', { namespace: live.metadata.namespace, name: live.metadata.name, uid: live.metadata.uid, bucket: location.bucket, prefix: location.prefix, why: 'deletionPolicy Delete' });
  await recordDeletion(live, shell, { dataDeleted: true });
  return { status, children: [], finalized: true };
}

/**
 * Only a live schedule's own retention decision deletes a scheduled backup's data: when the backup
 * goes because its schedule is gone or going (deleted, renamed, pruned; background or foreground
 * cascading deletion), its data stays unless the schedule said backupsOnDeletion: Delete.
 * Returns why the data is kept, what to wait for (the API server did not answer), or undefined when it may go.
 */
async function keptForSchedule(live: BackupRequest, shell: BackupShell): Promise<string | { wait: string } | undefined> {
  const owner = live.metadata.ownerReferences?.find((o) => o.controller && o.kind === 'BackupSchedule');
  if (!owner) return undefined;
  if (!shell.readSchedule) return `its schedule ${owner.name} cannot be read from the API server, so its retention decision cannot be confirmed`;
  let schedule: BackupSchedule | undefined;
  try { schedule = await shell.readSchedule(live.metadata.namespace ?? '', owner.name); } catch (e) {
    return { wait: `its schedule ${owner.name} could not be read from the API server (${errorName(e)}); asking again later` };
  }
  const same = !!schedule && schedule.metadata.uid === owner.uid;
  if (same && !schedule!.metadata.deletionTimestamp) return undefined;
  // A schedule still readable while it is deleted (foreground) speaks for itself; a gone one through the stamp it left.
  const onDeletion = same ? schedule!.spec?.backupsOnDeletion ?? 'Retain' : live.metadata.annotations?.[ON_SCHEDULE_DELETION_ANNOTATION];
  if (onDeletion === 'Delete') return undefined;
  return `its schedule ${owner.name} is ${same ? 'being deleted' : 'gone'} and keeps its backups (backupsOnDeletion: Retain)`;
}

/** The history keeps the row and records the deletion (best effort: deletion never waits on it). */
async function recordDeletion(parent: BackupRequest, shell: BackupShell, opts: { dataDeleted?: boolean } = {}): Promise<void> {
  const uid = parent.metadata.uid;
  if (!shell.archive || !uid) return;
  await shell.archive.markDeleted(uid, shell.now()).catch(() => undefined);
  if (opts.dataDeleted) await shell.archive.markDataDeleted(uid, shell.now()).catch(() => undefined);
}

/**
 * Everything one backup made, in an order that leaves nothing behind: first stop what still writes
 * into the folder (a running export, a copy holding its lease), then empty the folder (pages under
 * a time budget), then list it once more, and only then what lives outside it (a snapshot).
 * 0 = all gone, else seconds to wait.
 */
export async function deleteBackupData(rt: BackupRuntime, parent: BackupRequest, location: { bucket: string; prefix: string }, budgetMs: number): Promise<number> {
  if (rt.quiesce && !await rt.quiesce(parent)) return 15;
  if (!await deleteBackupFolder(rt.store, location, budgetMs)) return 1;
  if ((await ownKeys(rt.store, location)).length > 0) return 1;
  // A provider refusing or throttling the deletion is asked again later, not in a tight loop.
  return !rt.deleteExternal || await rt.deleteExternal(parent) ? 0 : 30;
}

/** One page of the keys this backup owns in its folder (a folder nested inside it is not its own). */
export async function ownKeys(store: ObjectStore, location: { bucket: string; prefix: string }): Promise<string[]> {
  const keys: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.list(location.bucket, location.prefix, after, 1000);
    if (page.length === 0) return keys;
    keys.push(...page.map((o) => o.key).filter((k) => isOwnEntry(location, k)));
    if (keys.length >= 1000) return keys;
    after = page[page.length - 1]!.key;
  }
}

/** Deletes one backup's own objects in pages until none is left (true) or the time budget is spent (false). */
async function deleteBackupFolder(store: ObjectStore, location: { bucket: string; prefix: string }, budgetMs: number): Promise<boolean> {
  const deadline = Date.now() + budgetMs;
  while (Date.now() < deadline) {
    const keys = await ownKeys(store, location);
    if (keys.length === 0) return true;
    await store.deleteMany(location.bucket, keys);
  }
  return false;
}

export function errorName(e: unknown): string {
  if (e && typeof e === 'object') {
    const err = e as { name?: string; code?: string };
    return err.code ?? err.name ?? 'Error';
  }
  return 'Error';
}
