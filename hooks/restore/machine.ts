// The RestoreRequest state machine (pure): resolve the backup (a BackupRequest in this namespace,
// or a manifest location), read its manifest once, then restore the database and the document
// library into NEW targets, then rebuild the search index when the project says how. Phases:
// Pending → RestoringDatabase → RestoringDocumentLibrary → [Reindexing →] Succeeded | Failed, forward only.
// A DR drill (spec.drill) has no reindex and always passes through CleaningUp before its end, also
// after a failed step: its scratch targets are removed (drill.ts).
import { DEFAULT_KEY_SECRET } from '../../core/layout.ts';
import type { BackupRequest, DumpChunks, RestoreRequest, RestoreRequestSpec, RestoreRequestStatus, RestoreSource, OperationStatus, TenantReindex } from '../../core/crd.ts';
import type { KubeObject } from '../../core/kube.ts';
import type { Observation, Preflight, RestorePlanner, RestoreStep, RestoreStepName, SpecProblem } from '../../core/provider.ts';
import type { RestoreContext, RestoreStepResult } from '../../core/provider.ts';
import type { Manifest } from '../backup/manifest.ts';
import { validateSpec } from '../../core/validation/schema.ts';
import { lifecycleConditions, setCondition } from '../status/conditions.ts';
import { IN_FLIGHT_RESYNC_SECONDS, isTerminal } from '../backup/machine.ts';
import type { Refusal } from '../backup/tenancy.ts';
import { restoreRecord, type ArchiveRecord } from '../archive/records.ts';
import { archiveStep, type ArchiveResult } from '../archive/step.ts';
import { advance, waitSeconds } from '../status/operations.ts';
import { admit, specChange } from '../status/admitted.ts';
import { manifestProblem } from '../backup/manifestTrust.ts';
import { cleanupOutcome, drillEnd, drillProblems, drillRto, drillScope, drillVerdict, failedDrill } from './drill.ts';
import { consistentCondition } from '../status/consistency.ts';
import { reindexConfigProblem, reindexPlan, reindexStep } from './reindex.ts';

export type ManifestRead = { ok: true; manifest: Manifest } | { ok: false; reason: string; message: string; retryable: boolean };

export type RestoreNeed =
  | { kind: 'readManifest'; bucket: string; key: string }
  | { kind: 'preflight'; ctx: RestoreContext }
  | { kind: 'observeStep'; step: RestoreStep; op: OperationStatus; ctx: RestoreContext }
  | { kind: 'archive'; record: ArchiveRecord };

export interface RestoreInput {
  parent: RestoreRequest;
  /** The BackupRequest named by spec.source.backupRef, if Metacontroller sent it as related. */
  backup: BackupRequest | undefined;
  existingChildren: ReadonlySet<string>;
  planner: RestorePlanner | { unavailable: string };
  observations: { manifest?: ManifestRead; preflight?: Preflight; steps?: Partial<Record<RestoreStepName, Observation<RestoreStepResult>>>; archived?: ArchiveResult };
  now: string;
  /** Whether finished restores are written to the archive. */
  archiving?: boolean;
  /** The tenant boundary, consulted before the backup is resolved and before every step starts. */
  refusal?: Refusal;
  /** The backup buckets this project may restore from (undefined: tenancy off). */
  backupBuckets?: readonly string[];
  /** The Secret holding this project's KEKs (BackupTenant spec.encryption.secretName), for encrypted dumps. */
  keySecretName?: string;
  /** The project's reindex settings (BackupTenant spec.reindex), frozen into status when the restore starts. */
  reindex?: TenantReindex;
  /** The image of the Job that makes a reindex HTTP call. */
  toolsImage?: string;
  /** The RestoreRequest is being deleted (Metacontroller's finalize hook): a drill ends now, through its cleanup. */
  finalizing?: boolean;
}

export interface RestoreDecision {
  status: RestoreRequestStatus;
  children: KubeObject[];
  resyncAfterSeconds?: number;
  need?: RestoreNeed;
}

const DRILL_DELETED = 'the drill was deleted before it finished; its scratch targets are removed';
/** How long a RestoreRequest being deleted waits for a Job that does not exist (its namespace is being deleted: no new Jobs, its Jobs and Secrets removed). */
export const FINALIZE_PATIENCE_MS = 10 * 60_000;

export const restoreIdOf = (name: string, uid: string): string => `${name.slice(0, 200)}-${uid.replace(/-/g, '').slice(0, 8)}`;

/** Two chunk records are the same list: size, count and checksum (or both absent). */
const sameChunks = (a: DumpChunks | undefined, b: DumpChunks | undefined): boolean =>
  a?.bytes === b?.bytes && a?.count === b?.count && a?.sha256 === b?.sha256;

export function decideRestore(input: RestoreInput): RestoreDecision {
  const { parent, now } = input;
  const prior: RestoreRequestStatus = parent.status ?? {};
  const generation = parent.metadata.generation;
  const uid = parent.metadata.uid ?? '';
  const name = parent.metadata.name;

  const validated = validateSpec<RestoreRequestSpec>('RestoreRequest', parent.spec);
  // Once admitted, every step is built from the frozen spec, never from the live one.
  const spec = validated.ok ? (prior.admitted?.spec ?? validated.value) : undefined;
  const changed = validated.ok && !isTerminal(prior.phase) ? specChange(prior.admitted, validated.value) : undefined;
  const planner = 'unavailable' in input.planner ? undefined : input.planner;
  const problems = spec ? [...restoreSpecProblems(spec), ...drillProblems(spec, !!planner?.drillCleanup), ...(planner?.problems(spec) ?? [])] : [];
  // The provider's steps, then the reindex phase when the project configured one (frozen in status).
  const stepsFor = (status: RestoreRequestStatus): RestoreStep[] => {
    const source = status.source;
    if (!spec || !planner || !source || problems.length > 0) return [];
    const config = status.reindex?.config;
    const reindex = config && !reindexConfigProblem(config) ? [reindexStep({ name, uid, namespace: parent.metadata.namespace ?? '', spec, backupId: status.backupId ?? '' }, config, input.toolsImage ?? '')] : [];
    return [...planner.steps({ name, uid, spec, source }), ...reindex];
  };
  // A drill's cleanup is built from the admitted spec even when the live one no longer validates.
  const frozen = prior.admitted?.spec ?? spec;
  const cleanupFor = (status: RestoreRequestStatus) => (frozen?.drill && planner?.drillCleanup && status.source
    ? planner.drillCleanup({ name, uid, spec: frozen, source: status.source }, drillScope(status)) : undefined);
  // A Job that exists is always returned (Metacontroller would delete it otherwise, and a later sync
  // create it again), also when a stale parent does not show its operation yet.
  const childrenFor = (status: RestoreRequestStatus): KubeObject[] => [...stepsFor(status), ...[cleanupFor(status)].filter((s) => !!s)].flatMap((s) => {
    const op = status.operations?.[s.name];
    return s.children.filter((c) => op?.state === 'Running' || input.existingChildren.has(c.metadata.name));
  });
  // The terminal Ready condition, and Consistent when the restored prefix was checked.
  const endConditions = (status: RestoreRequestStatus, state: 'succeeded' | 'failed', reason: string, message: string, at: string) => {
    const conditions = lifecycleConditions(status.conditions, state, reason, message, at, generation);
    const consistency = status.documentLibrary?.consistency;
    return consistency ? setCondition(conditions, consistentCondition(consistency, 'restored'), at, generation) : conditions;
  };
  const archived = (done: RestoreRequestStatus): RestoreDecision => {
    // As for backups: the terminal status carries recorded times and is archived in the same sync.
    const step = archiveStep(done, !!input.archiving, input.observations.archived, () => restoreRecord({ ...parent, status: done }), now, generation);
    if (step.kind === 'need') return { status: done, children: childrenFor(done), need: { kind: 'archive', record: step.record } };
    if (step.kind === 'done') return { status: done, children: childrenFor(done) };
    return { status: step.status, children: childrenFor(done), ...(step.retryAfterSeconds ? { resyncAfterSeconds: step.retryAfterSeconds } : {}) };
  };
  const inProgress = (status: RestoreRequestStatus, reason: string, message: string, need?: RestoreNeed): RestoreDecision => ({
    status: { ...status, conditions: lifecycleConditions(status.conditions, 'inProgress', reason, message, now, generation) },
    children: childrenFor(status),
    resyncAfterSeconds: IN_FLIGHT_RESYNC_SECONDS,
    ...(need ? { need } : {}),
  });
  // While the request is deleted, a Job that cannot come (its namespace is going) must not hold the
  // finalizer, and with it the namespace, forever: after FINALIZE_PATIENCE_MS of deletion, a step
  // whose operation is over two minutes old and whose Job is not there is given up.
  const deletedAt = Date.parse(parent.metadata.deletionTimestamp ?? '');
  const patienceOver = !!input.finalizing && Number.isFinite(deletedAt) && Date.parse(now) - deletedAt > FINALIZE_PATIENCE_MS;
  // A cloud step has no Job to lose: it is observed through its provider until it ends (an RDS
  // instance being deleted takes minutes), never given up.
  const jobGone = (op: OperationStatus, step: RestoreStep): boolean => patienceOver && Date.parse(now) - Date.parse(op.startTime ?? now) > 120_000
    && step.children.length > 0 && !step.children.some((c) => input.existingChildren.has(c.metadata.name));
  // A drill's step whose Job exists but whose operation a cached parent does not show (Metacontroller
  // would write this stale status back over the newer one) is rebuilt from that Job, under the same
  // ID, before anything is decided from the operations: it is waited for and in the cleanup's scope,
  // never read as "not started".
  const recoverOps = (status: RestoreRequestStatus): RestoreRequestStatus => {
    if (!frozen?.drill || !planner || !status.source) return status;
    let operations = status.operations;
    for (const step of planner.steps({ name, uid, spec: frozen, source: status.source })) {
      if (!operations?.[step.name] && step.children.some((c) => input.existingChildren.has(c.metadata.name))) {
        operations = { ...operations, [step.name]: { id: step.operationId, state: 'Running', startTime: now } };
      }
    }
    return operations === status.operations ? status : { ...status, operations };
  };
  // A drill's last phase: remove what its own steps created, then end with its verdict.
  const cleanUp = (entered: RestoreRequestStatus): RestoreDecision => {
    let status: RestoreRequestStatus = { ...recoverOps(entered), phase: 'CleaningUp' };
    const step = cleanupFor(status)!;
    const drill = status.drill!;
    const scope = drillScope(status);
    const end = (outcome: { cleanup: 'Done' | 'Failed'; message: string }, at: string): RestoreDecision => {
      const d = { ...drill, cleanup: outcome.cleanup, cleanupMessage: outcome.message };
      const e = drillEnd(d);
      return archived({ ...status, drill: d, phase: e.phase, completionTime: at, conditions: endConditions(status, e.phase === 'Succeeded' ? 'succeeded' : 'failed', e.reason, e.message, at) });
    };
    const doing = `removing the drill's scratch targets (operation ${step.operationId})`;
    const op = status.operations?.cleanup;
    // A step still running (the drill failed for another reason, e.g. a changed spec, or was
    // deleted) may still create or fill its target: the cleanup starts only once EVERY step's Job
    // has ended (a cached parent's rebuilt operations can show two running at once).
    const running = !op ? (['database', 'documentLibrary'] as const).filter((n) => status.operations?.[n]?.state === 'Running') : [];
    const steps = planner && status.source ? planner.steps({ name, uid, spec: frozen!, source: status.source }) : [];
    for (const r of running) {
      const runningStep = steps.find((s) => s.name === r);
      if (!runningStep) continue;
      const rop = status.operations![r]!;
      const waitFor = `waiting for the ${r} step's Job to end before removing the drill's scratch targets`;
      const obs = input.observations.steps?.[r];
      if (!obs) return inProgress(status, 'CleaningUp', waitFor, { kind: 'observeStep', step: { ...runningStep, settle: true }, op: rop, ctx: { name, uid, spec: frozen!, source: status.source! } });
      const gone = obs.state === 'running' && jobGone(rop, runningStep);
      if (obs.state === 'running' && !gone) return inProgress(status, 'CleaningUp', waitFor);
      // A step that ends here refusing its target (found taken) keeps that reason: the cleanup leaves the target alone.
      status = { ...status, operations: { ...status.operations, [r]: { ...rop, state: obs.state === 'done' ? 'Succeeded' : 'Failed', completionTime: obs.state === 'done' ? obs.completedAt : now,
        message: gone ? 'its Job is gone while the drill is deleted' : 'ended after the drill had failed', ...(obs.state === 'failed' ? { reason: obs.reason.slice(0, 128) } : {}) } } };
    }
    if (!op) {
      // A cloud cleanup (no Job) still runs: a cached parent may not show the step that created its
      // instance, and the provider deletes only what carries the drill's own UID tag.
      if (!scope.database && !scope.prefix && step.children.length > 0) return end(cleanupOutcome({ database: 'skipped', prefix: 'skipped', objectCount: 0 }, frozen!, scope), now);
      // As for every step: the operation ID is in status before its Job is asked for.
      status = { ...status, operations: { ...status.operations, cleanup: { id: step.operationId, state: 'Running', startTime: now } } };
      return inProgress(status, 'CleaningUp', doing);
    }
    if (op.state === 'Failed') return end(cleanupOutcome({ failed: op.message ?? 'the cleanup Job failed' }, frozen!, scope), op.completionTime ?? now);
    const obs = input.observations.steps?.cleanup;
    if (!obs) return inProgress(status, 'CleaningUp', doing, { kind: 'observeStep', step, op, ctx: { name, uid, spec: frozen!, source: status.source! } });
    const next = advance(op, obs, now, uid);
    status = { ...status, operations: { ...status.operations, cleanup: next.op } };
    if (next.kind === 'failed') return end(cleanupOutcome({ failed: `${next.reason}: ${next.message}` }, frozen!, scope), next.op.completionTime ?? now);
    if (next.kind !== 'done' && jobGone(op, step)) return end(cleanupOutcome({ failed: `its Job could not run while the drill was deleted (is its namespace being deleted?)` }, frozen!, scope), now);
    if (next.kind !== 'done') return { ...inProgress(status, 'CleaningUp', `${doing}${next.message ? `: ${next.message}` : ''}`), ...(next.resyncAfterSeconds ? { resyncAfterSeconds: next.resyncAfterSeconds } : {}) };
    const result = next.result.cleanup;
    return end(result ? cleanupOutcome(result, frozen!, scope) : cleanupOutcome({ failed: 'the cleanup Job wrote no cleanup result' }, frozen!, scope), next.op.completionTime ?? now);
  };
  const fail = (failed: RestoreRequestStatus, reason: string, message: string): RestoreDecision => {
    let status = recoverOps(failed);
    // A drill being deleted whose status (maybe a cached parent's) does not yet say what it restored,
    // while its Jobs exist: ending now would drop those Jobs and leave their scratch targets. It waits
    // (the Jobs are kept by the shell) for the status or the backup, at most FINALIZE_PATIENCE_MS.
    const unknownTargets = !!input.finalizing && !!frozen?.drill && !status.source && input.existingChildren.size > 0;
    if (unknownTargets && !patienceOver) return inProgress(status, 'Finalizing', `waiting to learn what this deleted drill restored before removing it: ${message}`);
    if (frozen?.drill) {
      // A drill whose steps may have created something goes through its cleanup, whatever failed.
      // (A drill already cleaning up keeps its verdict: only its cleanup can fail now.)
      const verdict = status.drill ?? failedDrill(reason, message, drillRto(status));
      const withVerdict = { ...status, drill: verdict };
      const scope = drillScope(withVerdict);
      const some = scope.database || scope.prefix;
      const step = cleanupFor(withVerdict);
      // A cloud cleanup (no Job) runs whatever the status shows: its provider removes only what carries the drill's UID.
      if (step && (some || step.children.length === 0)) return cleanUp(withVerdict);
      const outcome = unknownTargets ? cleanupOutcome({ failed: `deleted before its status recorded its steps, and its backup cannot be read now (${reason})` }, frozen, { database: true, prefix: true })
        : some ? cleanupOutcome({ failed: `${reason}: ${message}` }, frozen, scope)
          : status.operations?.database ? cleanupOutcome({ database: 'skipped', prefix: 'skipped', objectCount: 0 }, frozen, scope)
            : { cleanup: 'Done' as const, message: 'nothing to remove: no step started' };
      status = { ...withVerdict, drill: { ...verdict, cleanup: outcome.cleanup, cleanupMessage: outcome.message } };
    }
    const left = frozen?.drill ? undefined : leftBehind(status, spec);
    const text = status.operations?.documentLibrary?.state === 'Succeeded' && spec && !frozen?.drill
      ? `${message}. The data was restored (database ${spec.database.databaseName}, ${spec.documentLibrary.destinationBucket}/${spec.documentLibrary.destinationPrefix}); only the search index was not rebuilt: trigger a full reindex by hand (docs/liferay-store.md)`
      : left ? `${message}. Left behind by this restore: ${left}` : message;
    return {
      status: { ...status, phase: 'Failed', completionTime: status.completionTime ?? now, conditions: lifecycleConditions(status.conditions, 'failed', reason, text, now, generation) },
      children: childrenFor(status),
    };
  };

  if (isTerminal(prior.phase)) return archived(prior);
  // A drill cleaning up finishes that whatever the live spec, planner or tenancy say now.
  if (prior.phase === 'CleaningUp' && cleanupFor(prior)) return cleanUp(prior);
  // A drill deleted before anything started ends here; one with Jobs goes on below, where its steps are known.
  if (input.finalizing && frozen?.drill && !prior.source && input.existingChildren.size === 0) return fail(prior, 'DrillDeleted', DRILL_DELETED);
  if (!validated.ok) return fail(prior, 'InvalidSpec', validated.errors.join('; '));
  if (changed) return fail(prior, 'SpecChanged', changed);
  if (!planner) return fail(prior, 'ProviderUnavailable', (input.planner as { unavailable: string }).unavailable);
  if (problems.length > 0) return fail(prior, 'InvalidSpec', problems.map((p) => `${p.field}: ${p.message}`).join('; '));

  let status: RestoreRequestStatus = { ...prior, phase: prior.phase ?? 'Pending', startTime: prior.startTime ?? now };
  const waiting = (reason: string, message: string, need?: RestoreNeed): RestoreDecision => inProgress(status, reason, message, need);
  // A deleted drill does not wait for its backup longer than FINALIZE_PATIENCE_MS: it ends, saying what may be left.
  const admissionWait = (reason: string, message: string): RestoreDecision => (input.finalizing && frozen?.drill && patienceOver ? fail(status, reason, message) : waiting(reason, message));

  if (!status.source) {
    if (input.refusal) return fail(status, input.refusal.reason, input.refusal.message);
    const location = resolveManifestLocation(spec!, input.backup);
    // A drill rehearses a backup that exists: waiting for one that is gone would block its schedule's next drills.
    if ('wait' in location) return spec!.drill && location.reason === 'BackupNotFound' ? fail(status, location.reason, `${location.wait}: a drill does not wait for it`) : admissionWait(location.reason, location.wait);
    if ('fail' in location) return fail(status, location.reason, location.fail);
    // Another project's folder is never even read: answered exactly like a key that does not exist.
    const notFound = `no manifest at ${location.bucket}/${location.key}`;
    if (!location.key.startsWith(`${spec!.projectId}/`)) return fail(status, 'ManifestNotFound', notFound);
    const read = input.observations.manifest;
    if (!read) return waiting('ReadingManifest', `reading ${location.bucket}/${location.key}`, { kind: 'readManifest', ...location });
    if (!read.ok) return read.retryable ? admissionWait(read.reason, read.message) : fail(status, read.reason, read.message);
    const m = read.manifest;
    // Another project's backup is answered exactly like a missing one: nothing about it is revealed.
    if (m.projectId !== spec!.projectId) return fail(status, 'ManifestNotFound', notFound);
    const untrusted = manifestProblem(location, m);
    if (untrusted) return fail(status, 'ManifestUntrusted', `${location.bucket}/${location.key} is not a backup's manifest: ${untrusted}`);
    if (input.backupBuckets && !input.backupBuckets.includes(m.location.bucket)) {
      return fail(status, 'BucketNotAllowed', `${m.location.bucket} is not one of project ${spec!.projectId}'s backup buckets`);
    }
    // What the bucket says must be what the hook recorded when the backup was made (status is not
    // writable by tenants or storage writers): a swapped dump, checksum or encryption is refused.
    const recorded = input.backup?.status?.manifest?.key === location.key ? input.backup.status.database : undefined;
    if (recorded && (recorded.sha256 !== m.database.sha256 || !sameChunks(recorded.chunks, m.database.chunks) || recorded.snapshotId !== m.database.snapshotId
      || recorded.encryption?.dataKeyId !== m.database.encryption?.dataKeyId || recorded.encryption?.keysPrefix !== m.database.encryption?.keysPrefix)) {
      return fail(status, 'ManifestUntrusted', `${location.bucket}/${location.key} does not match what backup ${input.backup!.metadata.name} recorded (its database checksum, chunk list, snapshot or encryption differ): not restoring`);
    }
    if (m.provider !== spec!.provider) {
      return fail(status, 'ProviderMismatch', `backup ${m.backupId} was made by the ${m.provider} provider; restore it with provider "${m.provider}"`);
    }
    const dump = m.database.artifact && m.database.sha256 ? { artifact: m.database.artifact, sha256: m.database.sha256, ...(m.database.chunks ? { chunks: m.database.chunks } : {}) } : undefined;
    const snapshot = m.database.snapshotId ? { snapshotId: m.database.snapshotId, cluster: !!m.database.cluster } : undefined;
    if (!dump && !snapshot) return fail(status, 'UnsupportedBackup', `backup ${m.backupId} has neither a database dump with a checksum nor a snapshot`);
    const reindexProblem = !spec!.skipReindex && input.reindex ? reindexConfigProblem(input.reindex) : undefined;
    if (reindexProblem) return fail(status, 'InvalidTenantConfig', reindexProblem);
    const base = m.documentLibrary.base;
    status = {
      ...status, backupId: m.backupId, admitted: status.admitted ?? admit(spec!, generation),
      source: {
        manifest: { bucket: location.bucket, key: location.key }, engine: m.database.engine as RestoreSource['engine'],
        bucket: m.location.bucket, ...(dump ?? {}), ...(snapshot ?? {}),
        documentLibraryPrefix: m.documentLibrary.prefix, resultsPrefix: `${m.location.prefix}restores/${restoreIdOf(name, uid)}/`,
        ...(base ? { base: { prefix: base.prefix, refsPrefix: base.refsPrefix } } : {}),
        ...(m.source.uid ? { sourceUid: m.source.uid } : {}),
        // Proof that needs no key: the source BackupRequest's status (written only by the hook) recorded this snapshot.
        ...(recorded?.snapshotId && recorded.snapshotId === m.database.snapshotId && input.backup?.metadata.uid === m.source.uid ? { recordedByBackup: true } : {}),
        // The restoring project's own key Secret, whatever the backup's project was (the manifest
        // check above already refused another project's backup; another project's key would not open it).
        ...(m.database.encryption ? { encryption: {
          keysPrefix: m.database.encryption.keysPrefix, dataKeyId: m.database.encryption.dataKeyId,
          secretName: input.keySecretName ?? DEFAULT_KEY_SECRET,
        } } : {}),
      },
      // Frozen with the source: a later change of the project's settings does not change this restore's Job.
      reindex: reindexPlan(spec!, input.reindex),
    };
  }

  const source = status.source!;
  const setOp = (key: string, op: OperationStatus) => { status = { ...status, operations: { ...status.operations, [key]: op } }; };
  // A drill being deleted starts no new step; the steps it started are seen to their end (so a drill
  // whose steps all finished keeps its verdict), then it cleans up as after any failure.
  const finalizingDrill = !!input.finalizing && !!spec!.drill;
  if (finalizingDrill) {
    // A cached parent may not show a step its Job proves started (Metacontroller would write this
    // stale status back over the newer one): that step's operation is rebuilt from its Job, under
    // the same ID, so it is waited for instead of read as "not started".
    status = recoverOps(status);
    if (!status.operations?.database) return fail(status, 'DrillDeleted', DRILL_DELETED);
  }
  // Refusals that can be known before anything is created are checked before the first step starts.
  if (!status.operations?.preflight && !status.operations?.database) {
    if (input.refusal) return fail(status, input.refusal.reason, input.refusal.message);
    const check = input.observations.preflight;
    if (!check) return waiting('Preflight', 'checking that the targets are new before anything is created', { kind: 'preflight', ctx: { name, uid, spec: spec!, source } });
    if (!check.ok) return check.retryable ? { ...waiting(check.reason, check.message), resyncAfterSeconds: 30 } : fail(status, check.reason, check.message);
    setOp('preflight', { id: 'preflight', state: 'Succeeded', startTime: now, completionTime: now });
  }
  for (const step of stepsFor(status)) {
    const op = status.operations?.[step.name];
    if (op?.state === 'Succeeded') continue;
    status = { ...status, phase: step.phase };
    const doing = (id: string) => `${describe(step.name, spec!, source)} (operation ${id})`;
    if (!op) {
      if (finalizingDrill) return fail(status, 'DrillDeleted', DRILL_DELETED);
      // The tenant boundary is checked again before every operation starts, on the admitted spec.
      if (input.refusal) return fail(status, input.refusal.reason, input.refusal.message);
      // The operation ID is in status before any provider call: a start is only ever a replay of this one.
      // A Job's events wake the parent; a cloud step is started by the next sync, right away.
      setOp(step.name, { id: step.operationId, state: 'Running', startTime: now });
      return { ...waiting(step.phase, doing(step.operationId)), ...(step.children.length ? {} : { resyncAfterSeconds: 1 }) };
    }
    if (op.state === 'Failed') return fail(status, 'StepFailed', op.message ?? `${step.name} failed`);
    const wait = waitSeconds(op, now);
    if (wait > 0) return { ...waiting(step.phase, `${doing(op.id)}: waiting ${wait}s after a transient failure`), resyncAfterSeconds: wait };
    const obs = input.observations.steps?.[step.name];
    if (!obs) return waiting(step.phase, doing(op.id), { kind: 'observeStep', step, op, ctx: { name, uid, spec: spec!, source } });
    // Deleted with its namespace: a step whose Job cannot be there is not waited for forever.
    if (finalizingDrill && obs.state === 'running' && jobGone(op, step)) return fail(status, 'DrillDeleted', DRILL_DELETED);
    const next = advance(op, obs, now, uid);
    setOp(step.name, next.op);
    if (next.kind === 'failed') return fail(status, next.reason, `${step.name === 'reindex' ? 'reindex' : `${step.name} restore`} failed: ${next.message}`);
    if (next.kind === 'retry') return { ...waiting(step.phase, `${doing(op.id)}: ${next.message}`), resyncAfterSeconds: next.resyncAfterSeconds };
    if (next.kind === 'running') {
      const d = waiting(step.phase, `${doing(op.id)}${next.message ? `: ${next.message}` : ''}`);
      return next.resyncAfterSeconds ? { ...d, resyncAfterSeconds: next.resyncAfterSeconds } : d;
    }
    const r = next.result;
    if (step.name === 'database') {
      status = { ...status, database: { databaseName: spec!.database.databaseName, ...(r.instanceId ? { instanceId: r.instanceId } : {}), ...(r.sha256 ? { verifiedSha256: r.sha256 } : {}), tool: r.tool } };
    } else if (step.name === 'documentLibrary') {
      status = { ...status, documentLibrary: {
        bucket: spec!.documentLibrary.destinationBucket, prefix: spec!.documentLibrary.destinationPrefix, objectCount: r.objectCount ?? 0, totalBytes: r.totalBytes ?? 0,
        ...(r.consistency ? { consistency: r.consistency } : {}),
      } };
    } else {
      status = { ...status, reindex: { ...status.reindex, completionTime: next.op.completionTime ?? now } };
    }
  }
  if (spec!.drill) return cleanUp({ ...status, drill: drillVerdict(status) });
  const done = (status.reindex?.config ? status.operations?.reindex?.completionTime : undefined) ?? status.operations?.documentLibrary?.completionTime ?? now;
  const message = `restored backup ${status.backupId} into database ${spec!.database.databaseName} and ${spec!.documentLibrary.destinationBucket}/${spec!.documentLibrary.destinationPrefix} (${status.documentLibrary?.objectCount ?? 0} objects); ${reindexNote(status)}`;
  return archived({ ...status, phase: 'Succeeded', completionTime: done, conditions: endConditions(status, 'succeeded', 'RestoreSucceeded', message, done) });
}

function reindexNote(status: RestoreRequestStatus): string {
  if (status.reindex?.config) return `search reindexed (operation ${status.operations?.reindex?.id ?? ''})`;
  if (status.reindex?.skipped === 'SkippedByRequest') return 'no reindex (spec.skipReindex): reindex search after starting Liferay';
  return status.reindex?.skipped === 'NotConfigured'
    ? 'no reindex configured for this project: reindex search after starting Liferay'
    : 'reindex search after starting Liferay';
}

type Resolved = { bucket: string; key: string } | { wait: string; reason: string } | { fail: string; reason: string };

function resolveManifestLocation(spec: RestoreRequestSpec, backup: BackupRequest | undefined): Resolved {
  if (spec.source.manifest) return spec.source.manifest;
  const ref = spec.source.backupRef?.name ?? '';
  if (!backup) return { reason: 'BackupNotFound', wait: `waiting for BackupRequest ${ref} in this namespace` };
  if (backup.spec?.projectId !== spec.projectId) return { reason: 'BackupNotFound', fail: `no BackupRequest ${ref} of project ${spec.projectId} in this namespace` };
  const phase = backup.status?.phase;
  if (phase === 'Failed') return { reason: 'BackupFailed', fail: `BackupRequest ${ref} failed; there is nothing to restore` };
  if (phase !== 'Succeeded' || !backup.status?.manifest) return { reason: 'BackupNotReady', wait: `waiting for BackupRequest ${ref} to succeed (phase ${phase ?? 'Pending'})` };
  return { bucket: backup.status.manifest.bucket, key: backup.status.manifest.key };
}

function restoreSpecProblems(spec: RestoreRequestSpec): SpecProblem[] {
  const n = Number(!!spec.source.backupRef) + Number(!!spec.source.manifest);
  return n === 1 ? [] : [{ field: 'spec.source', message: 'needs exactly one of backupRef or manifest' }];
}

function describe(step: RestoreStepName, spec: RestoreRequestSpec, source: RestoreSource): string {
  if (step === 'reindex') return 'rebuilding the search index';
  if (step === 'database' && source.snapshotId) return `restoring snapshot ${source.snapshotId} into the new ${source.cluster ? 'cluster' : 'instance'} ${spec.database.instanceId}`;
  return step === 'database'
    ? `verifying the dump and restoring it into database ${spec.database.databaseName} on ${spec.database.instanceId}`
    : `copying the document library to ${spec.documentLibrary.destinationBucket}/${spec.documentLibrary.destinationPrefix}`;
}

/**
 * What a restore that failed after its database step created (a new RDS instance or cluster, a new
 * database), and how to remove it: the service never deletes a database it restored, since a human
 * may already use it, but it says exactly what is there.
 */
function leftBehind(status: RestoreRequestStatus, spec: RestoreRequestSpec | undefined): string | undefined {
  const db = status.operations?.database;
  // Only what this restore is known to have made: a failed create may have hit someone else's instance.
  if (!spec || db?.state !== 'Succeeded') return undefined;
  if (status.source?.snapshotId && spec.provider !== 'aws') {
    // The provider names the new instance or server (GCP adds the restore's UID): the recorded name.
    const id = status.database?.instanceId ?? spec.database.instanceId;
    return `the new ${spec.provider === 'gcp' ? 'Cloud SQL instance' : 'Flexible Server'} ${id} (delete it if it is not wanted)`;
  }
  if (status.source?.snapshotId) {
    const id = spec.database.instanceId.toLowerCase();
    return status.source.cluster
      ? `the new RDS cluster ${id} (remove it with: aws rds delete-db-cluster --db-cluster-identifier ${id} --skip-final-snapshot, after deleting its instances)`
      : `the new RDS instance ${id} (remove it with: aws rds delete-db-instance --db-instance-identifier ${id} --skip-final-snapshot)`;
  }
  return `database ${spec.database.databaseName} on ${spec.database.instanceId} (drop it if it is not wanted)`;
}
