// The imperative shell around decideBackup: gathers what the machine asks for (Job state and result
// objects, manifest write + verification), performs the one side effect it owns (writing
// manifest.json), and answers Metacontroller with the complete status and children.
import type { BackupRequest, BackupRequestSpec, BackupTenant } from '../api.ts';
import type { CustomizeResponse, SyncRequest, SyncResponse } from '../contract/types.ts';
import { API_VERSION, groupKey, objectsOf } from '../contract/objects.ts';
import { admission, type Admission } from './admission.ts';
import type { Archive } from '../archive/store.ts';
import { backupTenancyRefusal, type TenancyMode } from './tenancy.ts';
import type { ObjectStore } from '../../providers/storage/objectStore.ts';
import type { BackupContext, BackupStep, BackupStepResult, Observation } from '../../providers/types.ts';
import type { OperationStatus } from '../api.ts';
import { dependentsOf, previousFull } from './incremental.ts';
import type { KubeObject } from '../contract/types.ts';
import { validateSpec } from '../validation/schema.ts';
import { setCondition } from '../status/conditions.ts';
import { decideBackup, type BackupObservations, type BackupPlanner, type ManifestCheck } from './machine.ts';
import { isOwnBackupFolder } from './layout.ts';
import type { Manifest } from './manifest.ts';

/** One provider as the backup shell uses it. */
export interface BackupRuntime {
  planner: BackupPlanner;
  /** Where this provider's backups live: manifests are written and verified, folders deleted, here. */
  store: ObjectStore;
  /** Starts (idempotently, by operation ID) and observes one step; `op.progress` is what the last sync recorded. */
  observeStep(step: BackupStep, ctx: BackupContext, job: KubeObject | undefined, op: OperationStatus): Promise<Observation<BackupStepResult>>;
  /** Deletes what the backup made outside its folder (an RDS snapshot); true once it is gone. */
  deleteExternal?(parent: BackupRequest): Promise<boolean>;
  /** Before Succeeded: what lives outside the folder is still there (the snapshot is available). */
  verifyExternal?(ctx: BackupContext): Promise<ManifestCheck>;
}

export interface BackupShell {
  runtime(provider: string): BackupRuntime | { unavailable: string };
  now(): string;
  /** Time budget for deleting a backup's objects in one finalize call. */
  deleteBudgetMs: number;
  policy: ServicePolicy;
  /** The backup history; absent when archiving is off. */
  archive?: Archive;
}

export interface ServicePolicy {
  tenancy: TenancyMode;
  /** Running backups per project unless its BackupTenant says otherwise. */
  maxConcurrentPerProject: number;
  /** Running backups across all projects (protects cloud API quotas). */
  maxConcurrentGlobal: number;
}

/** Related objects every BackupRequest sync needs: its project's BackupTenant and all BackupRequests (for the queue). */
export function customizeBackup(parent: BackupRequest): CustomizeResponse {
  const project = typeof parent.spec?.projectId === 'string' ? parent.spec.projectId : '';
  return {
    relatedResources: [
      ...(project ? [{ apiVersion: API_VERSION, resource: 'backuptenants', names: [project] }] : []),
      { apiVersion: API_VERSION, resource: 'backuprequests', labelSelector: {}, namespaceSelector: {} },
    ],
  };
}

/** Tenancy and queue position from the related objects (pure helpers; the machine decides). */
function gateFor(req: SyncRequest<BackupRequest>, policy: ServicePolicy): { refusal?: ReturnType<typeof backupTenancyRefusal>; admission?: Admission } {
  const parent = req.parent;
  const spec = validateSpec<BackupRequestSpec>('BackupRequest', parent.spec);
  if (!spec.ok) return {};
  const tenant = objectsOf(req.related, 'BackupTenant', API_VERSION).get(spec.value.projectId) as BackupTenant | undefined;
  const refusal = backupTenancyRefusal(parent.metadata.namespace ?? '', spec.value, tenant, policy.tenancy);
  // Without the related BackupRequests (a controller without the customize hook) there is no queue.
  if (!req.related?.[groupKey('BackupRequest', API_VERSION)]) return refusal ? { refusal } : {};
  const all = [...objectsOf(req.related, 'BackupRequest', API_VERSION).values()] as BackupRequest[];
  const limit = tenant?.spec?.maxConcurrentBackups;
  const perProject = (p: string) => (p === spec.value.projectId && limit ? limit : policy.maxConcurrentPerProject);
  return { ...(refusal ? { refusal } : {}), admission: admission(parent, all, { perProject, global: policy.maxConcurrentGlobal }) };
}

const MAX_ROUNDS = 6;

export async function syncBackup(req: SyncRequest<BackupRequest>, shell: BackupShell): Promise<SyncResponse> {
  const jobs = objectsOf(req.children, 'Job', 'batch/v1');
  const provider = typeof req.parent.spec?.provider === 'string' ? req.parent.spec.provider : '';
  const runtime = shell.runtime(provider);
  const rt = 'unavailable' in runtime ? undefined : runtime;
  const now = shell.now();
  const observations: BackupObservations = {};
  const gate = gateFor(req, shell.policy);
  const all = [...objectsOf(req.related, 'BackupRequest', API_VERSION).values()] as BackupRequest[];
  const base = req.parent.spec?.documentLibrary?.incremental ? previousFull(req.parent, all) : undefined;
  const decide = () => decideBackup({
    parent: req.parent, existingChildren: new Set(jobs.keys()), planner: rt ? rt.planner : runtime as { unavailable: string },
    observations, now, gate, archiving: !!shell.archive, ...(base ? { previousFull: base } : {}),
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
      // An incremental backup still refers to this one's data: it stays until they are gone.
      const wait = dependentsOf(req.parent, all).length > 0 || !rt || !isOwnBackupFolder(need.location, req.parent.status?.backupId) ? 300
        : await deleteBackupData(rt, req.parent, need.location, shell.deleteBudgetMs);
      observations.dataDeleted = wait === 0;
      if (wait > 0) observations.deleteRetryAfterSeconds = wait;
      // The history keeps the row and says when the data went (best effort).
      if (observations.dataDeleted && shell.archive && req.parent.metadata.uid) await shell.archive.markDeleted(req.parent.metadata.uid, now).catch(() => undefined);
    } else {
      try { await shell.archive!.upsert(need.record); observations.archived = { ok: true }; } catch (e) {
        observations.archived = { ok: false, message: errorName(e) };
      }
    }
    decision = decide();
  }
  if (decision.need) throw new Error('backup decision did not settle: a bug in the state machine');
  return { status: decision.status, children: decision.children, ...(decision.resyncAfterSeconds ? { resyncAfterSeconds: decision.resyncAfterSeconds } : {}) };
}

/** A storage hiccup while observing is not a failed backup: report it and look again later. */
async function observeSafely(fn: () => Promise<Observation<BackupStepResult>>): Promise<Observation<BackupStepResult>> {
  try { return await fn(); } catch (e) { return { state: 'running', message: `cannot read the step's result yet (${errorName(e)}); retrying` }; }
}

export async function writeAndVerifyManifest(store: ObjectStore, bucket: string, key: string, manifest: Manifest): Promise<ManifestCheck> {
  const body = `${JSON.stringify(manifest, null, 2)}\n`;
  try {
    await store.put(bucket, key, body, 'application/json');
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
  // The history keeps the row and records the deletion (best effort: deletion never waits on it).
  if (shell.archive && req.parent.metadata.uid) await shell.archive.markDeleted(req.parent.metadata.uid, shell.now()).catch(() => undefined);
  const validated = validateSpec<BackupRequestSpec>('BackupRequest', req.parent.spec);
  const policy = validated.ok ? validated.value.deletionPolicy : 'Retain';
  if (policy !== 'Delete' || !status.location || !isOwnBackupFolder(status.location, status.backupId)) {
    return { status, children: [], finalized: true };
  }
  const blocked = (reason: string, message: string, seconds: number): SyncResponse => ({
    status: { ...status, conditions: setCondition(status.conditions, { type: 'Ready', status: 'False', reason, message }, shell.now(), req.parent.metadata.generation) },
    children: [], finalized: false, resyncAfterSeconds: seconds,
  });
  // Stop the Jobs first: a dump still running must not write after its folder was emptied.
  if (objectsOf(req.children, 'Job', 'batch/v1').size > 0) return { status, children: [], finalized: false, resyncAfterSeconds: 5 };
  const dependents = dependentsOf(req.parent, [...objectsOf(req.related, 'BackupRequest', API_VERSION).values()] as BackupRequest[]);
  if (dependents.length > 0) {
    return blocked('DeletionWaitsForDependents', `deletionPolicy Delete: the data is kept while incremental backups refer to it (${dependents.slice(0, 5).join(', ')}${dependents.length > 5 ? ', ...' : ''})`, 300);
  }
  const runtime = shell.runtime(validated.ok ? validated.value.provider : '');
  if ('unavailable' in runtime) return blocked('DeletionBlocked', `deletionPolicy Delete, but the data cannot be deleted: ${runtime.unavailable}`, 300);
  const wait = await deleteBackupData(runtime, req.parent, status.location, shell.deleteBudgetMs);
  return wait === 0 ? { status, children: [], finalized: true } : { status, children: [], finalized: false, resyncAfterSeconds: wait };
}

/** Everything one backup made: its folder (pages under a time budget), then what lives outside it. 0 = all gone, else seconds to wait. */
async function deleteBackupData(rt: BackupRuntime, parent: BackupRequest, location: { bucket: string; prefix: string }, budgetMs: number): Promise<number> {
  if (!await deleteBackupFolder(rt.store, location, budgetMs)) return 1;
  // A provider refusing or throttling the deletion is asked again later, not in a tight loop.
  return !rt.deleteExternal || await rt.deleteExternal(parent) ? 0 : 30;
}

/** Deletes one backup's folder in pages until it is empty (true) or the time budget is spent (false). */
async function deleteBackupFolder(store: ObjectStore, location: { bucket: string; prefix: string }, budgetMs: number): Promise<boolean> {
  const deadline = Date.now() + budgetMs;
  while (Date.now() < deadline) {
    const page = await store.list(location.bucket, location.prefix, undefined, 1000);
    if (page.length === 0) return true;
    await store.deleteMany(location.bucket, page.map((o) => o.key).filter((k) => k.startsWith(location.prefix)));
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
