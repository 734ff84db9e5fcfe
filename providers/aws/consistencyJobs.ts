// The AWS provider's consistency check (docs/recovery-points.md), pure: a Job that lists the
// document-library keys the database's rows refer to right before the snapshot (the snapshot is
// RDS's, so no dump can share that read's state), and a Job that compares the server-side copy with
// them. Both are the local provider's scripts, reaching the backup bucket through rclone's S3 backend.
import type { BackupRequestSpec } from '../../core/crd.ts';
import { documentLibraryPrefix, expectedKeysKey, resultKey } from '../../core/layout.ts';
import type { BackupContext, BackupStep, SpecProblem } from '../../core/provider.ts';
import { excludePatterns } from '../../core/exclusions.ts';
import { buildJob, databaseEnv, jobName, type EnvVar, type JobSettings } from '../shared/jobs/build.ts';
import type { AwsJobConfig, AwsProviderConfig } from './config.ts';

/**
 * A backup asks for the check by naming the database's endpoint (with its credentials and name). Not
 * by credentials alone: aws specs written before the check may carry credentialsSecretRef, which
 * the provider ignored, and must go on as before.
 */
export const checksConsistency = (spec: BackupRequestSpec) => spec.database.endpoint !== undefined;

export function consistencyProblems(spec: BackupRequestSpec, config: AwsProviderConfig): SpecProblem[] {
  const db = spec.database;
  if (!checksConsistency(spec)) return [];
  const why = 'for the consistency check (spec.database.endpoint is set; docs/recovery-points.md)';
  const problems: SpecProblem[] = [];
  if (!db.credentialsSecretRef) problems.push({ field: 'spec.database.credentialsSecretRef', message: `required ${why}: a Secret in this namespace with the database username and password` });
  if (!db.databaseName) problems.push({ field: 'spec.database.databaseName', message: `required ${why}: the Liferay database (e.g. lportal)` });
  if (!db.engine) problems.push({ field: 'spec.database.engine', message: `required ${why}: postgresql or mysql` });
  // An incremental copy holds only what changed; the rest is referenced from its base, which the check does not read yet.
  if (spec.documentLibrary.incremental) problems.push({ field: 'spec.documentLibrary.incremental', message: `the consistency check compares a full copy; use a full backup ${why}` });
  if (!config.jobs) problems.push({ field: 'spec.database.endpoint', message: `the hook server runs no Jobs for the aws provider: set LC2_AWS_JOB_SECRET or LC2_AWS_JOB_SERVICE_ACCOUNT (docs/aws.md), or leave endpoint out` });
  return problems;
}

/** rclone's S3 backend on the backup bucket, as the platform team's Secret or workload identity allows. */
function s3Env(config: AwsProviderConfig, jobs: AwsJobConfig, kmsKeyArn: string | undefined): EnvVar[] {
  const endpoint = config.s3Endpoint ?? config.endpoint;
  return [
    { name: 'RCLONE_CONFIG_STORE_TYPE', value: 's3' },
    // An endpoint of its own is an emulator (tests only): rclone forces virtual-host addressing for provider AWS.
    { name: 'RCLONE_CONFIG_STORE_PROVIDER', value: endpoint ? 'Other' : 'AWS' },
    { name: 'RCLONE_CONFIG_STORE_REGION', value: config.region },
    ...(endpoint ? [{ name: 'RCLONE_CONFIG_STORE_ENDPOINT', value: endpoint }, { name: 'RCLONE_CONFIG_STORE_FORCE_PATH_STYLE', value: 'true' }] : []),
    // The bucket exists; a project's credentials may not create or probe buckets.
    { name: 'RCLONE_CONFIG_STORE_NO_CHECK_BUCKET', value: 'true' },
    ...(jobs.credentialsSecret ? [
      { name: 'RCLONE_CONFIG_STORE_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: jobs.credentialsSecret, key: 'AWS_ACCESS_KEY_ID' } } },
      { name: 'RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: jobs.credentialsSecret, key: 'AWS_SECRET_ACCESS_KEY' } } },
    ] : [{ name: 'RCLONE_CONFIG_STORE_ENV_AUTH', value: 'true' }]),
    // The key list names the project's files: under the project's key like the rest of its backup.
    ...(kmsKeyArn ? [{ name: 'RCLONE_CONFIG_STORE_SERVER_SIDE_ENCRYPTION', value: 'aws:kms' }, { name: 'RCLONE_CONFIG_STORE_SSE_KMS_KEY_ID', value: kmsKeyArn }] : []),
  ];
}

const settings = (config: AwsProviderConfig, jobs: AwsJobConfig, ctx: BackupContext): JobSettings => ({
  image: jobs.image, backoffLimit: jobs.backoffLimit, activeDeadlineSeconds: jobs.activeDeadlineSeconds, transfers: jobs.transfers,
  storage: s3Env(config, jobs, ctx.encryption?.awsKmsKeyArn), ...(jobs.serviceAccountName ? { serviceAccountName: jobs.serviceAccountName } : {}),
});

/** The key list's hard limit: a query over tens of millions of rows takes minutes, not hours. */
export const KEYS_DEADLINE_SECONDS = 3600;

const labels = (spec: BackupRequestSpec) => ({ 'backup.liferay.cloud/project': spec.projectId, 'backup.liferay.cloud/environment': spec.environment });

/** The check's two steps: keys (before the snapshot) and consistency (after the copy). */
export function consistencySteps(ctx: BackupContext, config: AwsProviderConfig): { keys: BackupStep; consistency: BackupStep } | undefined {
  const { spec, location } = ctx;
  const db = spec.database;
  if (!checksConsistency(spec) || !config.jobs || !db.endpoint || !db.databaseName || !db.engine || !db.credentialsSecretRef) return undefined;
  const s = settings(config, config.jobs, ctx);
  const keysJob = jobName(ctx.name, 'keys', ctx.uid);
  const checkJob = jobName(ctx.name, 'check', ctx.uid);
  const expectedKeys = { name: 'LC2_EXPECTED_KEYS', value: `${location.bucket}/${expectedKeysKey(location)}` };
  return {
    keys: {
      name: 'keys', phase: 'SnapshotInProgress', operationId: keysJob,
      children: [buildJob({
        // The snapshot waits for it: a Job that cannot start (a missing Secret) must not hold the backup for a day.
        name: keysJob, step: 'keys', script: 'list-expected-keys', labels: labels(spec), deadlineSeconds: KEYS_DEADLINE_SECONDS,
        env: [...databaseEnv(db.engine, db.endpoint, db.databaseName, db.credentialsSecretRef), expectedKeys,
          { name: 'LC2_RESULT', value: `${location.bucket}/${resultKey(location, 'keys')}` }],
      }, s)],
    },
    consistency: {
      name: 'consistency', phase: 'TransferInProgress', operationId: checkJob,
      children: [buildJob({
        name: checkJob, step: 'consistency', script: 'check-consistency', labels: labels(spec),
        env: [
          { name: 'LC2_DL_DEST', value: `${location.bucket}/${documentLibraryPrefix(location)}` },
          { name: 'LC2_EXCLUDES', value: excludePatterns(spec.documentLibrary.excludeGeneratedFiles, spec.documentLibrary.excludePatterns).join('\n') },
          expectedKeys, { name: 'LC2_RESULT', value: `${location.bucket}/${resultKey(location, 'consistency')}` },
        ],
      }, s)],
    },
  };
}
