// The BackupRequest state machine: a pure function of (resource, observations, now) that returns
// the complete desired status, the complete children list and, when it needs to know more, one
// "need" for the shell (observe a step, write and verify the manifest). The shell fulfils the need
// and calls again with the observation added, until nothing is needed.
//
// Phases move forward only: Pending → SnapshotInProgress → ExportInProgress → TransferInProgress →
// GeneratingManifest → Succeeded | Failed (a provider skips steps it does not have).
import type { BackupRequest, BackupRequestSpec, BackupRequestStatus, OperationStatus, TenantEncryption } from '../../core/crd.ts';
import type { KubeObject } from '../../core/kube.ts';
import type { BackupPlanner, BackupStep, BackupStepName, ManifestCheck, Observation, SpecProblem } from '../../core/provider.ts';
import type { BackupContext, BackupStepResult } from '../../core/provider.ts';
import { validateSpec } from '../../core/validation/schema.ts';
import { schemaErrors } from '../../core/validation/jsonSchemas.ts';
import { consistentCondition } from '../status/consistency.ts';
import { lifecycleConditions, setCondition } from '../status/conditions.ts';
import { humanBytes } from '../status/format.ts';
import { backupIdOf, backupLocation, manifestKey } from '../../core/layout.ts';
import { buildManifest, MANIFEST_SCHEMA_VERSION, type Manifest } from './manifest.ts';
import { backupSpecProblems } from './rules.ts';
import type { Admission } from './admission.ts';
import type { Refusal } from './tenancy.ts';
import { backupRecord, type ArchiveRecord } from '../archive/records.ts';
import { advance, waitSeconds } from '../status/operations.ts';
import { archiveStep, type ArchiveResult } from '../archive/step.ts';
import { admit, specChange } from '../status/admitted.ts';

export const IN_FLIGHT_RESYNC_SECONDS = 30;

export type BackupNeed =
  | { kind: 'observeStep'; step: BackupStep; op: OperationStatus; ctx: BackupContext }
  | { kind: 'writeManifest'; bucket: string; key: string; manifest: Manifest; ctx: BackupContext }
  | { kind: 'deleteData'; location: { bucket: string; prefix: string } }
  | { kind: 'archive'; record: ArchiveRecord };

export interface BackupObservations {
  steps?: Partial<Record<BackupStepName, Observation<BackupStepResult>>>;
  manifest?: ManifestCheck;
  /** After a deleteData need: whether the backup's folder is now empty. */
  dataDeleted?: boolean;
  /** When not deleted: how long to wait (dependents or a provider refusing take long; a page of deletes does not). */
  deleteRetryAfterSeconds?: number;
  /** After an archive need: whether the row was written. */
  archived?: ArchiveResult;
}

export interface BackupInput {
  parent: BackupRequest;
  /** Names of the Jobs Metacontroller reported as this parent's children. */
  existingChildren: ReadonlySet<string>;
  /** The provider's planner, or why the provider cannot be used. */
  planner: BackupPlanner | { unavailable: string };
  observations: BackupObservations;
  now: string;
  /** Consulted only before the first step starts: the tenant boundary, the concurrency queue and the project's encryption. */
  gate?: { refusal?: Refusal; admission?: Admission; encryption?: TenantEncryption };
  /** Whether finished backups are written to the archive (PostgreSQL history). */
  archiving?: boolean;
  /** The environment's newest succeeded full backup (same provider), for incremental backups. */
  previousFull?: { backupId: string; prefix: string };
}

export interface BackupDecision {
  status: BackupRequestStatus;
  children: KubeObject[];
  resyncAfterSeconds?: number;
  need?: BackupNeed;
}

export const isTerminal = (phase: string | undefined): boolean => phase === 'Succeeded' || phase === 'Failed';

export function decideBackup(input: BackupInput): BackupDecision {
  const { parent, now } = input;
  const prior: BackupRequestStatus = parent.status ?? {};
  const generation = parent.metadata.generation;
  const uid = parent.metadata.uid ?? '';

  const fail = (status: BackupRequestStatus, reason: string, message: string, children: KubeObject[] = []): BackupDecision => ({
    status: {
      ...status, phase: 'Failed', completionTime: status.completionTime ?? now,
      conditions: lifecycleConditions(status.conditions, 'failed', reason, message, now, generation),
    },
    children,
  });

  // Plan first: even a finished backup returns its existing Jobs, so Metacontroller keeps them.
  const validated = validateSpec<BackupRequestSpec>('BackupRequest', parent.spec);
  // Once admitted, every step is built from the frozen spec, never from the live one.
  const spec = validated.ok ? (prior.admitted?.spec ?? validated.value) : undefined;
  const changed = validated.ok && !isTerminal(prior.phase) ? specChange(prior.admitted, validated.value) : undefined;
  const planner = 'unavailable' in input.planner ? undefined : input.planner;
  // Like the spec, the project's encryption settings are frozen when the first step starts: a key
  // rotation mid-backup must not change the Jobs it already runs.
  const encryption = Object.keys(prior.operations ?? {}).length > 0 ? prior.encryption : input.gate?.encryption;
  const problems: SpecProblem[] = spec ? [...backupSpecProblems(spec), ...(planner?.problems(spec, encryption) ?? [])] : [];
  const backupId = prior.backupId ?? backupIdOf(parent.metadata.name, uid);
  const location = prior.location ?? (spec ? backupLocation(spec, backupId) : undefined);
  const base = prior.incrementalBase ?? (spec?.documentLibrary.incremental ? input.previousFull : undefined);
  const ctx = spec && location ? { name: parent.metadata.name, uid, spec, location, ...(base ? { base } : {}), ...(encryption ? { encryption } : {}) } : undefined;
  const steps = ctx && planner && problems.length === 0 ? planner.steps(ctx) : [];
  const started = (s: BackupStep, ops: Record<string, OperationStatus> | undefined) => ops?.[s.name];
  // A finished step's Job is only kept, never re-created: a re-run would overwrite a recorded artifact.
  const childrenFor = (ops: Record<string, OperationStatus> | undefined): KubeObject[] => steps.flatMap((s) => {
    const op = started(s, ops);
    if (!op) return [];
    return s.children.filter((c) => op.state === 'Running' || input.existingChildren.has(c.metadata.name));
  });

  if (isTerminal(prior.phase)) return finished(input, prior, childrenFor(prior.operations));

  if (!validated.ok) return fail(prior, 'InvalidSpec', validated.errors.join('; '), childrenFor(prior.operations));
  if (changed) return fail(prior, 'SpecChanged', changed, childrenFor(prior.operations));
  if (!planner) return fail(prior, 'ProviderUnavailable', (input.planner as { unavailable: string }).unavailable);
  if (problems.length > 0) {
    return fail(prior, 'InvalidSpec', problems.map((p) => `${p.field}: ${p.message}`).join('; '), childrenFor(prior.operations));
  }

  const notStarted = Object.keys(prior.operations ?? {}).length === 0;
  if (notStarted && input.gate?.refusal) return fail(prior, input.gate.refusal.reason, input.gate.refusal.message);
  const admission = input.gate?.admission;
  if (notStarted && admission && !admission.admitted) {
    const message = `queued, position ${admission.position}: ${admission.reason}`;
    return {
      status: { ...prior, phase: 'Queued', backupId, location, queue: { position: admission.position, reason: admission.reason },
        conditions: lifecycleConditions(prior.conditions, 'inProgress', 'Queued', message, now, generation) },
      children: [],
      resyncAfterSeconds: IN_FLIGHT_RESYNC_SECONDS,
    };
  }
  const { queue: _queued, ...unqueued } = prior;
  // The base of an incremental backup is chosen once, when it starts, and kept.
  let status: BackupRequestStatus = { ...unqueued, backupId, location, startTime: prior.startTime ?? now, ...(base ? { incrementalBase: base } : {}) };
  const inFlight = (reason: string, message: string, need?: BackupNeed): BackupDecision => ({
    status: { ...status, conditions: lifecycleConditions(status.conditions, 'inProgress', reason, message, now, generation) },
    children: childrenFor(status.operations),
    resyncAfterSeconds: IN_FLIGHT_RESYNC_SECONDS,
    ...(need ? { need } : {}),
  });
  const setOp = (name: string, op: OperationStatus) => { status = { ...status, operations: { ...status.operations, [name]: op } }; };

  for (const step of steps) {
    const op = started(step, status.operations);
    if (op?.state === 'Succeeded') continue;
    const doing = (id: string) => `${describeStep(step.name, spec!)} (operation ${id})`;
    if (!op) {
      // The tenant boundary is checked again before every operation starts, on the admitted spec.
      if (input.gate?.refusal) return fail(status, input.gate.refusal.reason, input.gate.refusal.message, childrenFor(status.operations));
      // The operation ID is in status before any provider call: a start is only ever a replay of this one.
      // A Job's events wake the parent; a cloud step is started by the next sync, right away.
      setOp(step.name, { id: step.operationId, state: 'Running', startTime: now });
      status = { ...status, phase: step.phase, admitted: status.admitted ?? admit(spec!, generation), ...(encryption ? { encryption } : {}) };
      return { ...inFlight(step.phase, doing(step.operationId)), ...(step.children.length ? {} : { resyncAfterSeconds: 1 }) };
    }
    if (op.state === 'Failed') return fail(status, 'StepFailed', op.message ?? `${step.name} failed`, childrenFor(status.operations));
    status = { ...status, phase: step.phase };
    const wait = waitSeconds(op, now);
    if (wait > 0) return { ...inFlight(step.phase, `${doing(op.id)}: waiting ${wait}s after a transient failure (attempt ${op.attempts ?? 0})`), resyncAfterSeconds: wait };
    const obs = input.observations.steps?.[step.name];
    if (!obs) return inFlight(step.phase, doing(op.id), { kind: 'observeStep', step, op, ctx: withResults(ctx!, status) });
    const next = advance(op, obs, now, uid);
    setOp(step.name, next.op);
    if (next.kind === 'failed') return fail(status, next.reason, `${step.name} failed: ${next.message}`, childrenFor(status.operations));
    if (next.kind === 'retry') return { ...inFlight(step.phase, `${doing(op.id)}: ${next.message}`), resyncAfterSeconds: next.resyncAfterSeconds };
    if (next.kind === 'running') {
      const d = inFlight(step.phase, `${doing(op.id)}${next.message ? `: ${next.message}` : ''}`);
      return next.resyncAfterSeconds ? { ...d, resyncAfterSeconds: next.resyncAfterSeconds } : d;
    }
    status = { ...status, ...next.result };
  }

  // Every data step is done: write manifest.json and prove that data and manifest are there.
  const key = manifestKey(location!);
  status = { ...status, phase: 'GeneratingManifest' };
  // The manifest step starts when the last step finished (a fact every replay agrees on).
  const stepsDone = Object.entries(status.operations ?? {}).filter(([k]) => k !== 'manifest').map(([, o]) => o.completionTime ?? '').sort();
  const manifestOp = status.operations?.manifest ?? { id: key, state: 'Running' as const, startTime: stepsDone[stepsDone.length - 1] || now };
  setOp('manifest', manifestOp);
  const manifest = buildManifest(parent, spec!, status);
  if (typeof manifest === 'string') return fail(status, 'ManifestInvalid', manifest, childrenFor(status.operations));
  const invalid = schemaErrors('manifest', manifest);
  if (invalid.length > 0) return fail(status, 'ManifestInvalid', `manifest does not match schemas/manifest.v1.json: ${invalid.join('; ')}`, childrenFor(status.operations));
  const check = input.observations.manifest;
  if (!check) return inFlight('GeneratingManifest', 'writing and verifying manifest.json', { kind: 'writeManifest', bucket: location!.bucket, key, manifest, ctx: withResults(ctx!, status) });
  if (!check.ok) {
    if (check.retryable) return inFlight('GeneratingManifest', `verifying the backup: ${check.message}`);
    setOp('manifest', { ...manifestOp, state: 'Failed', completionTime: now, message: check.message });
    return fail(status, 'VerificationFailed', check.message, childrenFor(status.operations));
  }
  setOp('manifest', { ...manifestOp, state: 'Succeeded', completionTime: manifest.completedAt });
  const total = (status.database?.sizeBytes ?? 0) + (status.documentLibrary?.totalBytes ?? 0);
  status = {
    ...status, phase: 'Succeeded', completionTime: manifest.completedAt, totalSize: humanBytes(total),
    manifest: { bucket: location!.bucket, key, schemaVersion: MANIFEST_SCHEMA_VERSION },
  };
  const message = `backup complete: database ${humanBytes(status.database?.sizeBytes ?? 0)}, `
    + `${status.documentLibrary?.objectCount ?? 0} document-library objects (${humanBytes(status.documentLibrary?.totalBytes ?? 0)}); `
    + `manifest at ${location!.bucket}/${key}`;
  // The terminal answer is a fixed point: its times are the manifest's (recorded facts, not this
  // sync's clock) and it is archived in the same sync, so a stale or replayed sync of the last step
  // answers byte for byte the same status.
  status = { ...status, conditions: lifecycleConditions(status.conditions, 'succeeded', 'BackupSucceeded', message, manifest.completedAt, generation) };
  const consistency = status.documentLibrary?.consistency;
  if (consistency) status = { ...status, conditions: setCondition(status.conditions, consistentCondition(consistency, 'backed up'), manifest.completedAt, generation) };
  return finished({ ...input, parent: { ...parent, status } }, status, childrenFor(status.operations));
}

/** The step context plus what finished steps recorded (the export step exports that snapshot). */
const withResults = (ctx: BackupContext, status: BackupRequestStatus): BackupContext => ({
  ...ctx, ...(status.database ? { database: status.database } : {}), ...(status.documentLibrary ? { documentLibrary: status.documentLibrary } : {}),
});

const DAY = 86_400_000;
const MAX_WAIT_SECONDS = 86_400;
/** A finished backup: archived once, then subject to its retentionDays. */
function finished(input: BackupInput, prior: BackupRequestStatus, children: KubeObject[]): BackupDecision {
  const step = archiveStep(prior, !!input.archiving, input.observations.archived, () => backupRecord({ ...input.parent, status: prior }), input.now, input.parent.metadata.generation);
  if (step.kind === 'need') return { status: prior, children, need: { kind: 'archive', record: step.record } };
  if (step.kind === 'done') return expire(input, prior, children);
  if (step.retryAfterSeconds) return { status: step.status, children, resyncAfterSeconds: step.retryAfterSeconds };
  return expire({ ...input, parent: { ...input.parent, status: step.status } }, step.status, children);
}

/**
 * retentionDays of a standalone backup: a hook cannot delete its own parent, so when the time is up
 * the backup's data is deleted (the Delete path) and the resource stays as the record, with
 * Expired=True. Backups made by a schedule are expired by the schedule, which deletes the resource.
 */
function expire(input: BackupInput, prior: BackupRequestStatus, children: KubeObject[]): BackupDecision {
  const { parent } = input;
  const days = (prior.admitted?.spec ?? parent.spec)?.retentionDays;
  const fromSchedule = parent.metadata.ownerReferences?.some((o) => o.controller && o.kind === 'BackupSchedule');
  const expired = prior.conditions?.some((c) => c.type === 'Expired' && c.status === 'True');
  if (prior.phase !== 'Succeeded' || typeof days !== 'number' || fromSchedule || expired || !prior.completionTime || !prior.location) {
    return { status: prior, children };
  }
  const expiresAt = Date.parse(prior.completionTime) + days * DAY;
  const now = Date.parse(input.now);
  if (now < expiresAt) return { status: prior, children, resyncAfterSeconds: Math.min(MAX_WAIT_SECONDS, Math.ceil((expiresAt - now) / 1000) + 1) };
  const deleted = input.observations.dataDeleted;
  if (deleted === undefined) return { status: prior, children, need: { kind: 'deleteData', location: prior.location } };
  if (!deleted) return { status: prior, children, resyncAfterSeconds: input.observations.deleteRetryAfterSeconds ?? 1 };
  const message = `retentionDays ${days} passed on ${new Date(expiresAt).toISOString()}: the backup's data was deleted; this resource remains as its record`;
  return {
    status: { ...prior, conditions: setCondition(setCondition(prior.conditions, { type: 'Expired', status: 'True', reason: 'RetentionExpired', message }, input.now, parent.metadata.generation),
      { type: 'Ready', status: 'False', reason: 'RetentionExpired', message }, input.now, parent.metadata.generation) },
    children,
  };
}

function describeStep(step: BackupStepName, spec: BackupRequestSpec): string {
  switch (step) {
    case 'snapshot': return `snapshotting ${spec.database.engine ?? 'database'} instance ${spec.database.instanceId}`;
    case 'export': return spec.database.type === 'snapshot'
      ? `exporting the snapshot of ${spec.database.engine ?? 'database'} instance ${spec.database.instanceId} to the backup's folder`
      : `dumping ${spec.database.engine} database ${spec.database.databaseName ?? spec.database.instanceId}`;
    case 'transfer': return `copying the document library from ${spec.documentLibrary.sourceBucket}`;
    case 'keys': return `listing the document-library files database ${spec.database.databaseName ?? ''} refers to, before the snapshot`;
    case 'consistency': return 'checking the copied document library against the files the database refers to';
  }
}
