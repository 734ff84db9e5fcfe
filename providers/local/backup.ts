// The local provider's backup: step "export" is a Job running pg_dump/mysqldump, step "transfer" a
// Job running rclone over the document library. Each Job writes a small result object that
// observeBackupStep reads once the Job has completed.
import { DUMP_ENCRYPTION_ALGORITHM, type BackupRequestSpec, type DatabaseResult, type DocumentLibraryResult, type Engine, type TenantEncryption } from '../../core/crd.ts';
import type { KubeObject } from '../../core/kube.ts';
import { artifactKey, chunkListKey, documentLibraryPrefix, expectedKeysKey, keysPrefix, resultKey } from '../../core/layout.ts';
import { ObjectTooLarge, type BackupContext, type BackupStep, type BackupStepName, type BackupStepResult, type Observation, type SpecProblem, type ObjectStore } from '../../core/provider.ts';
import { createHash } from 'node:crypto';
import { localJobSettings, type LocalProviderConfig } from './config.ts';
import { buildJob, databaseEnv, jobName } from '../shared/jobs/build.ts';
import { excludePatterns } from '../../core/exclusions.ts';
import { observeJob, type JobResult } from '../shared/jobs/results.ts';

/** What the local provider cannot do with this spec (checked before anything starts). */
export function localBackupProblems(spec: BackupRequestSpec, encryption?: TenantEncryption): SpecProblem[] {
  const problems: SpecProblem[] = [];
  if (encryption && !dumpKek(encryption)) {
    problems.push({ field: `BackupTenant ${spec.projectId} spec.encryption`, message: 'the project requires encryption, but names no age recipient and keyVersion, with which the local provider encrypts dumps (docs/encryption.md); nothing was written' });
  }
  if (spec.database.type !== 'dump') {
    problems.push({ field: 'spec.database.type', message: `the local provider makes logical dumps; "${spec.database.type}" needs a cloud provider, use "dump"` });
  }
  if (!spec.database.engine) problems.push({ field: 'spec.database.engine', message: 'required for a dump: postgresql or mysql' });
  if (!spec.database.databaseName) problems.push({ field: 'spec.database.databaseName', message: 'required for a dump: name the Liferay database (e.g. lportal)' });
  if (spec.database.endpoint) problems.push({ field: 'spec.database.endpoint', message: 'the local provider connects to instanceId (host:port); endpoint is for the aws consistency check, leave it out' });
  if (!spec.database.credentialsSecretRef) problems.push({ field: 'spec.database.credentialsSecretRef', message: 'required by the local provider: a Secret in this namespace with the database username and password' });
  return problems;
}

/** The KEK a dump is encrypted for, when the project's settings name one. */
const dumpKek = (e: TenantEncryption | undefined): { keyVersion: string; recipient: string } | undefined =>
  (e?.keyVersion && e.recipient ? { keyVersion: e.keyVersion, recipient: e.recipient } : undefined);

/** The engine of a dump (localBackupProblems refused a spec without one before any step is planned). */
const engineOf = (spec: BackupRequestSpec): Engine => spec.database.engine ?? 'postgresql';

/** A dump's chunk size (DumpChunks) unless LC2_DUMP_CHUNK_MIB says otherwise: a restore holds three in its Job's /tmp. */
export const DUMP_CHUNK_BYTES = 64 * 1024 * 1024;

const dbLabel = (spec: BackupRequestSpec) => ({ 'backup.liferay.cloud/project': spec.projectId, 'backup.liferay.cloud/environment': spec.environment });

export function localBackupSteps(ctx: BackupContext, config: LocalProviderConfig): BackupStep[] {
  const { spec, location } = ctx;
  const dumpJob = jobName(ctx.name, 'db', ctx.uid);
  const copyJob = jobName(ctx.name, 'dl', ctx.uid);
  const dbName = spec.database.databaseName ?? '';
  const secret = spec.database.credentialsSecretRef ?? { name: '' };
  const artifact = artifactKey(location, engineOf(spec));
  const sourcePrefix = (spec.documentLibrary.sourcePrefix ?? '').replace(/\/+$/, '');
  const kek = dumpKek(ctx.encryption);
  return [
    {
      name: 'export', phase: 'ExportInProgress', operationId: dumpJob,
      children: [buildJob({
        name: dumpJob, step: 'export', script: 'backup-database', labels: dbLabel(spec),
        env: [
          ...databaseEnv(engineOf(spec), spec.database.instanceId, dbName, secret),
          { name: 'LC2_ARTIFACT', value: `${location.bucket}/${artifact}` },
          { name: 'LC2_ARTIFACT_KEY', value: artifact },
          { name: 'LC2_CHUNK_BYTES', value: String(config.chunkBytes ?? DUMP_CHUNK_BYTES) },
          { name: 'LC2_CHUNK_LIST', value: `${location.bucket}/${chunkListKey(artifact)}` },
          { name: 'LC2_RESULT', value: `${location.bucket}/${resultKey(location, 'export')}` },
          { name: 'LC2_EXPECTED_KEYS', value: `${location.bucket}/${expectedKeysKey(location)}` },
          // Only the KEK's public half: a backup Job can encrypt for the project, never decrypt.
          ...(kek ? [
            { name: 'LC2_KEK_VERSION', value: kek.keyVersion },
            { name: 'LC2_KEK_RECIPIENT', value: kek.recipient },
            { name: 'LC2_WRAPPED_KEY', value: `${location.bucket}/${keysPrefix(location)}${kek.keyVersion}.age` },
          ] : []),
        ],
      }, localJobSettings(config))],
    },
    {
      name: 'transfer', phase: 'TransferInProgress', operationId: copyJob,
      children: [buildJob({
        name: copyJob, step: 'transfer', script: 'copy-document-library', labels: dbLabel(spec),
        env: [
          { name: 'LC2_DL_SOURCE', value: `${spec.documentLibrary.sourceBucket}/${sourcePrefix}` },
          { name: 'LC2_DL_DEST', value: `${location.bucket}/${documentLibraryPrefix(location)}` },
          { name: 'LC2_EXCLUDES', value: excludePatterns(spec.documentLibrary.excludeGeneratedFiles, spec.documentLibrary.excludePatterns).join('\n') },
          { name: 'LC2_RESULT', value: `${location.bucket}/${resultKey(location, 'transfer')}` },
          { name: 'LC2_EXPECTED_KEYS', value: `${location.bucket}/${expectedKeysKey(location)}` },
        ],
      }, localJobSettings(config))],
    },
  ];
}

/** The most chunk lines the hook reads in a sync (6.5 MB, within one bounded read; 6.4 TB of dump at 64 MiB chunks, 25.6 TB at 256). */
export const MAX_DUMP_CHUNKS = 100_000;

/**
 * The dump's chunk list, checked against the objects the Job wrote (the result is tenant-writable):
 * the artifact has the reported size, the list one line per chunk of it (chunks of 1-256 MiB: the
 * result schema) and the reported SHA-256, read with a bound. Whether the list describes the
 * artifact's bytes is checked where they are read anyway: by the restore, which also compares the
 * whole stream's SHA-256 before the last chunk is used. No list (a Job of an earlier version), or
 * one past MAX_DUMP_CHUNKS (raise LC2_DUMP_CHUNK_MIB): none is recorded, the backup restores in two reads.
 */
async function chunksOf(ctx: BackupContext, artifact: string, r: JobResult, store: ObjectStore): Promise<{ chunks?: DatabaseResult['chunks'] } | { failed: string }> {
  if (!r.chunks) return {};
  const { bytes, count, sha256 } = r.chunks;
  const size = (await store.head(ctx.location.bucket, artifact))?.size;
  if (size === undefined || size !== r.sizeBytes) return { failed: `the dump Job reports ${r.sizeBytes} bytes, the artifact ${artifact} has ${size ?? 'none'}` };
  const want = Math.max(1, Math.ceil(size / bytes));
  if (count !== want) return { failed: `the dump Job reports ${count} chunks of ${bytes} bytes; a ${size}-byte dump has ${want}` };
  if (count > MAX_DUMP_CHUNKS) return {};
  const key = chunkListKey(artifact);
  let list: Buffer | null;
  try { list = await store.get(ctx.location.bucket, key, count * 65); } catch (e) {
    if (e instanceof ObjectTooLarge) return { failed: `the chunk list ${key} is longer than ${count} lines` };
    throw e;
  }
  if (!list) return { failed: `the chunk list ${key} is missing` };
  const actual = createHash('sha256').update(list).digest('hex');
  if (list.length !== count * 65 || actual !== sha256) return { failed: `the chunk list ${key} (${list.length} bytes, SHA-256 ${actual}) is not the one the dump Job reported (${count * 65} bytes, ${sha256})` };
  return { chunks: { bytes, count, sha256 } };
}

/**
 * An encrypted dump's record, from what the hook asked for (the frozen KEK version), never from what
 * the result claims alone: the result must name that version, and its wrapped data key must be there.
 */
async function encryptionOf(ctx: BackupContext, r: JobResult, store: ObjectStore): Promise<{ encryption?: DatabaseResult['encryption'] } | { failed: string }> {
  const kek = dumpKek(ctx.encryption);
  if (!kek) return r.keyVersion ? { failed: 'the dump Job reports an encryption that was not asked for' } : {};
  const { keyVersion } = kek;
  if (r.keyVersion !== keyVersion || !r.dataKeyId) return { failed: `the dump Job does not report encryption for KEK ${keyVersion}, which the project requires` };
  const keys = keysPrefix(ctx.location);
  if (!(await store.head(ctx.location.bucket, `${keys}${keyVersion}.age`))) return { failed: `the wrapped data key ${keys}${keyVersion}.age is missing` };
  return { encryption: { algorithm: DUMP_ENCRYPTION_ALGORITHM, keyVersion, keysPrefix: keys, dataKeyId: r.dataKeyId } };
}

/** The Job's observation, turned into this step's result. */
export async function observeBackupStep(
  step: BackupStepName, ctx: BackupContext, job: KubeObject | undefined, store: ObjectStore,
): Promise<Observation<BackupStepResult>> {
  const obs = await observeJob(job, store, ctx.location.bucket, resultKey(ctx.location, step));
  if (obs.state !== 'done') return obs;
  const r = obs.result;
  if (step === 'export') {
    if (r.sizeBytes === undefined || !r.sha256 || !r.artifact) {
      return { state: 'failed', reason: 'ResultMissing', message: 'database result lacks artifact, size or checksum', retryable: false };
    }
    // The result object sits where a tenant's Job (or the tenant, with its project key) can write:
    // the artifact is where the hook put it, never where a result says it is.
    const artifact = artifactKey(ctx.location, engineOf(ctx.spec));
    if (r.artifact !== artifact) return { state: 'failed', reason: 'ResultInvalid', message: `the dump Job reported its artifact at ${r.artifact}, not at ${artifact}`, retryable: false };
    const encrypted = await encryptionOf(ctx, r, store);
    if ('failed' in encrypted) return { state: 'failed', reason: 'ResultInvalid', message: encrypted.failed, retryable: false };
    const chunked = await chunksOf(ctx, artifact, r, store);
    if ('failed' in chunked) return { state: 'failed', reason: 'ResultInvalid', message: chunked.failed, retryable: false };
    const format = engineOf(ctx.spec) === 'postgresql' ? 'pg_dump-custom+zstd' : 'mysqldump-sql+zstd';
    const db: DatabaseResult = {
      engine: engineOf(ctx.spec), format: encrypted.encryption ? `${format}+age` : format,
      artifact, sizeBytes: r.sizeBytes, sha256: r.sha256, ...chunked, tool: r.tool ?? '',
      ...(encrypted.encryption ? { encryption: encrypted.encryption } : {}),
    };
    return { state: 'done', result: { database: db }, completedAt: obs.completedAt };
  }
  const dl: DocumentLibraryResult = {
    objectCount: r.objectCount ?? 0, totalBytes: r.totalBytes ?? 0, tool: r.tool ?? '',
    excludedPatterns: excludePatterns(ctx.spec.documentLibrary.excludeGeneratedFiles, ctx.spec.documentLibrary.excludePatterns),
    ...(r.consistency ? { consistency: r.consistency } : {}),
  };
  return { state: 'done', result: { documentLibrary: dl }, completedAt: obs.completedAt };
}
