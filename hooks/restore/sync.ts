// The imperative shell around decideRestore (manifest reads, Job observation) plus the customize
// hook that asks Metacontroller for the referenced BackupRequest.
import type { BackupRequest, BackupTenant, RestoreRequest, RestoreRequestSpec, RestoreRequestStatus } from '../../core/crd.ts';
import { validateSpec } from '../../core/validation/schema.ts';
import { allowedBackupBuckets, restoreTenancyRefusal } from '../backup/tenancy.ts';
import { belongsToItsProject, type ServicePolicy } from '../backup/sync.ts';
import type { Archive } from '../archive/store.ts';
import { trackInFlight } from '../archive/trackInFlight.ts';
import type { CustomizeResponse, SyncRequest, SyncResponse } from '../contract/types.ts';
import { API_VERSION, childrenOf, relatedObject } from '../contract/objects.ts';
import { ObjectTooLarge, type ObjectStore } from '../../core/provider.ts';
import type { Observation, Preflight, RestoreRuntime, RestoreStepResult } from '../../core/provider.ts';
import { schemaErrors, firstErrors } from '../../core/validation/jsonSchemas.ts';
import { MAX_MANIFEST_BYTES, type Manifest } from '../backup/manifest.ts';
import { errorName } from '../backup/sync.ts';
import type { ArchiveResult } from '../archive/step.ts';
import { decideRestore, FINALIZE_PATIENCE_MS, type ManifestRead, type RestoreInput } from './machine.ts';
import { observeReindex } from './reindex.ts';
import { archiveWriteFailures } from '../server/metrics.ts';

export interface RestoreShell {
  runtime(provider: string): RestoreRuntime | { unavailable: string };
  /** The image of the Job that makes a project's reindex HTTP call (the local provider's tools image). */
  toolsImage: string;
  now(): string;
  policy: ServicePolicy;
  archive?: Archive;
}

export function customizeRestore(parent: RestoreRequest): CustomizeResponse {
  const ref = parent.spec?.source?.backupRef?.name;
  const project = typeof parent.spec?.projectId === 'string' ? parent.spec.projectId : '';
  const namespace = parent.metadata.namespace;
  return {
    relatedResources: [
      // Without a namespace a names rule returns that name from EVERY namespace: ask for our own only.
      ...(typeof ref === 'string' && ref ? [{ apiVersion: API_VERSION, resource: 'backuprequests', names: [ref], ...(namespace ? { namespace } : {}) }] : []),
      ...(project ? [{ apiVersion: API_VERSION, resource: 'backuptenants', names: [project] }] : []),
    ],
  };
}

/**
 * Metacontroller's finalize hook. A restore has nothing to undo (what it made is the user's); a
 * drill deleted while it runs goes through its cleanup first, so its scratch copy of production
 * data is not left behind: the finalizer goes once the drill has ended.
 */
export async function finalizeRestore(req: SyncRequest<RestoreRequest>, shell: RestoreShell): Promise<SyncResponse> {
  const drill = req.parent.status?.admitted?.spec?.drill ?? req.parent.spec?.drill;
  if (drill !== true) return { status: req.parent.status ?? {}, children: [], finalized: true };
  const out = await syncRestore(req, shell, true);
  const phase = (out.status as RestoreRequestStatus).phase;
  // Ended, and archived (a failed archive write is retried, but never holds the deletion for long).
  const deletedFor = Date.parse(shell.now()) - Date.parse(req.parent.metadata.deletionTimestamp ?? shell.now());
  const archived = !out.resyncAfterSeconds || deletedFor > FINALIZE_PATIENCE_MS;
  const finalized = (phase === 'Succeeded' || phase === 'Failed') && archived;
  if (finalized) return { ...out, finalized };
  // Until then no Job of the drill is dropped, also one its (cached) status does not know yet:
  // Metacontroller would delete it, and the drill could no longer wait for what it writes.
  const desired = new Set(out.children.map((c) => c.metadata.name));
  const kept = [...childrenOf(req.children, 'Job', 'batch/v1', req.parent.metadata.namespace).values()]
    .filter((j) => !desired.has(j.metadata.name))
    .map((j) => ({ apiVersion: j.apiVersion, kind: j.kind, metadata: { name: j.metadata.name, ...(j.metadata.labels ? { labels: j.metadata.labels } : {}) }, spec: j.spec }));
  return { ...out, children: [...out.children, ...kept], finalized };
}

/** The BackupSchedule controlling a (drill) RestoreRequest, from its controller reference. */
const scheduleOf = (parent: RestoreRequest): { scheduleUid?: string } => {
  const uid = parent.metadata.ownerReferences?.find((r) => r.controller === true && r.kind === 'BackupSchedule' && r.apiVersion === API_VERSION)?.uid;
  return uid ? { scheduleUid: uid } : {};
};

export async function syncRestore(req: SyncRequest<RestoreRequest>, shell: RestoreShell, finalizing = false): Promise<SyncResponse> {
  const namespace = req.parent.metadata.namespace;
  const jobs = childrenOf(req.children, 'Job', 'batch/v1', namespace);
  const validated = validateSpec<RestoreRequestSpec>('RestoreRequest', req.parent.spec);
  // Decisions are made on the admitted spec once there is one (the machine fails a changed spec).
  const spec = validated.ok ? (req.parent.status?.admitted?.spec ?? validated.value) : undefined;
  const ref = spec?.source.backupRef?.name;
  // backupRef names a BackupRequest in the RestoreRequest's OWN namespace, never a same-named one elsewhere.
  const backup = ref ? relatedObject(req.related, 'BackupRequest', API_VERSION, namespace ?? '', ref) as BackupRequest | undefined : undefined;
  const provider = typeof req.parent.spec?.provider === 'string' ? req.parent.spec.provider : '';
  const tenant = spec ? relatedObject(req.related, 'BackupTenant', API_VERSION, undefined, spec.projectId) as BackupTenant | undefined : undefined;
  const refusal = spec ? restoreTenancyRefusal({ namespace: namespace ?? '', name: req.parent.metadata.name ?? '', ...scheduleOf(req.parent) }, spec, tenant, shell.policy.tenancy) : undefined;
  const backupBuckets = allowedBackupBuckets(tenant, shell.policy.tenancy);
  const runtime = shell.runtime(provider);
  const rt = 'unavailable' in runtime ? undefined : runtime;
  const input: RestoreInput = {
    parent: req.parent, backup, existingChildren: new Set(jobs.keys()), planner: rt ? rt.planner : runtime as { unavailable: string }, observations: {}, now: shell.now(),
    ...(refusal ? { refusal } : {}), ...(backupBuckets ? { backupBuckets } : {}), ...(tenant?.spec?.encryption?.secretName ? { keySecretName: tenant.spec.encryption.secretName } : {}),
    ...(tenant?.spec?.reindex ? { reindex: tenant.spec.reindex } : {}), toolsImage: shell.toolsImage, ...(finalizing ? { finalizing } : {}), archiving: !!shell.archive && belongsToItsProject(req, shell.policy),
  };
  let decision = decideRestore(input);
  for (let round = 0; decision.need && round < 6; round += 1) {
    const need = decision.need;
    if (need.kind === 'readManifest') {
      input.observations = { ...input.observations, manifest: await readManifest(rt!.store, need.bucket, need.key) };
    } else if (need.kind === 'preflight') {
      let preflight: Preflight;
      try { preflight = rt!.preflight ? await rt!.preflight(need.ctx) : { ok: true }; } catch (e) {
        preflight = { ok: false, reason: 'PreflightUnavailable', message: `cannot check the restore targets yet (${errorName(e)}); retrying`, retryable: true };
      }
      input.observations = { ...input.observations, preflight };
    } else if (need.kind === 'archive') {
      let archived: ArchiveResult;
      try { await shell.archive!.upsert(need.record); archived = { ok: true }; } catch (e) {
        archived = { ok: false, message: errorName(e) };
        archiveWriteFailures.inc({ table: 'backup_history' });
      }
      input.observations = { ...input.observations, archived };
    } else {
      const job = need.step.children.map((c) => jobs.get(c.metadata.name)).find(Boolean);
      let obs: Observation<RestoreStepResult>;
      // The reindex Job is the service's own, whatever the provider: its status is the observation.
      try { obs = need.step.name === 'reindex' ? observeReindex(job, req.parent.status?.reindex?.config ?? {}, input.now) : await rt!.observeStep(need.step, need.ctx, job, need.op); } catch (e) { obs = { state: 'running', message: `cannot read the step's result yet (${errorName(e)}); retrying` }; }
      input.observations = { ...input.observations, steps: { ...input.observations.steps, [need.step.name]: obs } };
    }
    decision = decideRestore(input);
  }
  if (decision.need) throw new Error('restore decision did not settle: a bug in the state machine');
  await trackInFlight(shell.archive, req.parent, decision.status, input.now, belongsToItsProject(req, shell.policy));
  return { status: decision.status, children: decision.children, ...(decision.resyncAfterSeconds ? { resyncAfterSeconds: decision.resyncAfterSeconds } : {}) };
}

export async function readManifest(store: ObjectStore, bucket: string, key: string): Promise<ManifestRead> {
  let body: Buffer | null;
  try { body = await store.get(bucket, key, MAX_MANIFEST_BYTES); } catch (e) {
    if (e instanceof ObjectTooLarge) return { ok: false, reason: 'ManifestInvalid', message: `${bucket}/${key} is larger than a manifest can be (${MAX_MANIFEST_BYTES} bytes)`, retryable: false };
    return { ok: false, reason: 'StorageUnavailable', message: `cannot read ${bucket}/${key} (${errorName(e)}); retrying`, retryable: true };
  }
  if (!body) return { ok: false, reason: 'ManifestNotFound', message: `no manifest at ${bucket}/${key}`, retryable: false };
  let value: unknown;
  try { value = JSON.parse(body.toString('utf8')); } catch {
    return { ok: false, reason: 'ManifestInvalid', message: `${bucket}/${key} is not JSON`, retryable: false };
  }
  const errors = schemaErrors('manifest', value);
  if (errors.length > 0) return { ok: false, reason: 'ManifestInvalid', message: `${bucket}/${key} is not a valid manifest: ${firstErrors(errors)}`, retryable: false };
  return { ok: true, manifest: value as Manifest };
}
