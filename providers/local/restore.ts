// The local provider's restore: a Job that verifies the dump's SHA-256 and restores it into a NEW
// database, then a Job that copies the backed-up document library into a NEW prefix and checks it
// against the restored database's rows. A DR drill marks the database its Job creates, and ends with
// a Job that removes the drill's scratch targets.
import type { DrillCleanupResult, RestoreRequestSpec, RestoreSource } from '../../core/crd.ts';
import type { KubeObject } from '../../core/kube.ts';
import type { DrillScope, Observation, Preflight, RestoreContext, RestoreStep, RestoreStepName, RestoreStepResult, SpecProblem, ObjectStore } from '../../core/provider.ts';
import { localJobSettings, type LocalProviderConfig } from './config.ts';
import { buildJob, databaseEnv, jobName } from '../shared/jobs/build.ts';
import { observeJob } from '../shared/jobs/results.ts';
import { LIFERAY_GENERATED_PATTERNS } from '../../core/exclusions.ts';
import { chunkListKey } from '../../core/layout.ts';


export function localRestoreProblems(spec: RestoreRequestSpec): SpecProblem[] {
  return spec.database.credentialsSecretRef ? [] : [{
    field: 'spec.database.credentialsSecretRef',
    message: 'required by the local provider: a Secret in this namespace with a user that may create the new database',
  }];
}

/** Written by the document-library Job once it found its target empty (or approved): its files are its own from then on. */
const startedMarker = (source: RestoreSource): string => `${source.bucket}/${source.resultsPrefix}documentLibrary.started`;

export const restoreResultKey = (source: RestoreSource, step: RestoreStepName): string => `${source.resultsPrefix}${step}.json`;

/** The mark a drill's database Job puts on the database it creates (a PostgreSQL or MariaDB comment): only a database carrying it is ever dropped. */
export const drillMarker = (uid: string): string => `lc2-drill:${uid.replace(/[^A-Za-z0-9-]/g, '')}`;
const destOf = (spec: RestoreRequestSpec) => `${spec.documentLibrary.destinationBucket}/${spec.documentLibrary.destinationPrefix.replace(/\/+$/, '')}/`;
const labelsOf = (spec: RestoreRequestSpec) => ({ 'backup.liferay.cloud/project': spec.projectId, 'backup.liferay.cloud/environment': spec.environment });

export function localRestoreSteps(ctx: RestoreContext, config: LocalProviderConfig): RestoreStep[] {
  const { spec, source } = ctx;
  const dbJob = jobName(ctx.name, 'rdb', ctx.uid);
  const dlJob = jobName(ctx.name, 'rdl', ctx.uid);
  const approve = { name: 'LC2_APPROVE_OVERWRITE', value: spec.approveOverwrite ? 'true' : 'false' };
  const labels = labelsOf(spec);
  return [
    {
      name: 'database', phase: 'RestoringDatabase', operationId: dbJob,
      children: [buildJob({
        name: dbJob, step: 'restore-database', script: 'restore-database', labels,
        env: [
          ...databaseEnv(source.engine, spec.database.instanceId, spec.database.databaseName, spec.database.credentialsSecretRef ?? { name: '' }),
          { name: 'LC2_ARTIFACT', value: `${source.bucket}/${source.artifact}` },
          { name: 'LC2_EXPECTED_SHA256', value: source.sha256 },
          // One read, every chunk checked before it is used; a dump without a chunk list is read twice.
          ...(source.chunks ? [
            { name: 'LC2_CHUNK_LIST', value: `${source.bucket}/${chunkListKey(source.artifact ?? '')}` },
            { name: 'LC2_CHUNK_BYTES', value: String(source.chunks.bytes) },
            { name: 'LC2_CHUNK_COUNT', value: String(source.chunks.count) },
            { name: 'LC2_CHUNKS_SHA256', value: source.chunks.sha256 },
          ] : []),
          approve,
          ...(spec.drill ? [{ name: 'LC2_DRILL_MARKER', value: drillMarker(ctx.uid) }] : []),
          { name: 'LC2_RESULT', value: `${source.bucket}/${restoreResultKey(source, 'database')}` },
          ...(source.encryption ? [
            // The wrapped keys are files database.key.<version>.age of the backup's folder.
            { name: 'LC2_KEYS_DIR', value: `${source.bucket}/${source.encryption.keysPrefix.slice(0, source.encryption.keysPrefix.lastIndexOf('/') + 1)}` },
            { name: 'LC2_KEY_SECRET', value: source.encryption.secretName },
            { name: 'LC2_DATA_KEY_ID', value: source.encryption.dataKeyId },
          ] : []),
        ],
        // The restoring project's own KEKs, by version; the Secret is read in this namespace only.
        ...(source.encryption ? { envFrom: [{ prefix: 'LC2_KEK_', secretRef: { name: source.encryption.secretName, optional: true as const } }] } : {}),
      }, localJobSettings(config))],
    },
    {
      name: 'documentLibrary', phase: 'RestoringDocumentLibrary', operationId: dlJob,
      children: [buildJob({
        name: dlJob, step: 'restore-document-library', script: 'restore-document-library', labels,
        env: [
          { name: 'LC2_DL_SOURCE', value: `${source.bucket}/${source.documentLibraryPrefix}` },
          { name: 'LC2_DL_DEST', value: destOf(spec) },
          approve,
          // The check after the copy reads the restored database's rows (the database step ran first).
          ...databaseEnv(source.engine, spec.database.instanceId, spec.database.databaseName, spec.database.credentialsSecretRef ?? { name: '' }),
          { name: 'LC2_EXCLUDES', value: LIFERAY_GENERATED_PATTERNS.join('\n') },
          { name: 'LC2_CLEANUP_ORPHANS', value: spec.cleanupOrphans ? 'true' : 'false' },
          { name: 'LC2_STARTED_MARKER', value: startedMarker(source) },
          { name: 'LC2_RESULT', value: `${source.bucket}/${restoreResultKey(source, 'documentLibrary')}` },
        ],
      }, localJobSettings(config))],
    },
  ];
}

/**
 * A drill's cleanup Job: drops the scratch database only when it carries this drill's marker, and
 * deletes the scratch prefix only when the drill's own document-library step wrote it (`scope`).
 */
export function localDrillCleanup(ctx: RestoreContext, scope: DrillScope, config: LocalProviderConfig): RestoreStep {
  const { spec, source } = ctx;
  const name = jobName(ctx.name, 'rdc', ctx.uid);
  return {
    name: 'cleanup', phase: 'CleaningUp', operationId: name,
    children: [buildJob({
      name, step: 'drill-cleanup', script: 'drill-cleanup', labels: labelsOf(spec),
      env: [
        ...(scope.database ? [
          ...databaseEnv(source.engine, spec.database.instanceId, spec.database.databaseName, spec.database.credentialsSecretRef ?? { name: '' }),
          { name: 'LC2_DRILL_MARKER', value: drillMarker(ctx.uid) },
        ] : []),
        // The prefix only with the proof that this drill's copy found it empty and wrote into it.
        ...(scope.prefix ? [{ name: 'LC2_DL_DEST', value: destOf(spec) }, { name: 'LC2_STARTED_MARKER', value: startedMarker(source) }] : []),
        { name: 'LC2_RESULT', value: `${source.bucket}/${restoreResultKey(source, 'cleanup')}` },
      ],
    }, localJobSettings(config))],
  };
}

/**
 * Before the database Job creates anything: the new document-library prefix must be empty (or
 * approved). A store that cannot be read here leaves the check to the Job (it refuses too), so this
 * only ever saves a half-done restore, never blocks a good one.
 */
export async function localRestorePreflight(ctx: RestoreContext, store: ObjectStore): Promise<Preflight> {
  const { spec } = ctx;
  if (spec.approveOverwrite) return { ok: true };
  const prefix = `${spec.documentLibrary.destinationPrefix.replace(/\/+$/, '')}/`;
  let found = false;
  try { found = (await store.list(spec.documentLibrary.destinationBucket, prefix, undefined, 1)).length > 0; } catch { return { ok: true }; }
  return found
    ? { ok: false, reason: 'TargetNotEmpty', message: `${spec.documentLibrary.destinationBucket}/${prefix} already holds files; restore into a new prefix or set spec.approveOverwrite: true`, retryable: false }
    : { ok: true };
}

export async function observeRestoreStep(
  step: RestoreStepName, source: RestoreSource, job: KubeObject | undefined, store: ObjectStore,
): Promise<Observation<RestoreStepResult>> {
  const obs = await observeJob(job, store, source.bucket, restoreResultKey(source, step));
  if (obs.state !== 'done') return obs;
  const r = obs.result;
  return {
    state: 'done', completedAt: obs.completedAt,
    result: {
      tool: r.tool ?? '', ...(r.sha256 ? { sha256: r.sha256 } : {}), ...(r.objectCount !== undefined ? { objectCount: r.objectCount, totalBytes: r.totalBytes ?? 0 } : {}),
      ...(r.consistency ? { consistency: r.consistency } : {}),
      ...(r.cleanup ? { cleanup: { ...r.cleanup, objectCount: r.objectCount ?? 0 } satisfies DrillCleanupResult } : {}),
    },
  };
}
