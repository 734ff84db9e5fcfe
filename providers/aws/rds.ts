// RDS snapshots for the AWS provider. The snapshot identifier is derived from
// the BackupRequest UID, so "start" repeated after a crash, a timeout or a stale read is a no-op:
// "already exists" means started - after checking, by tag, that the snapshot is ours.
import {
  RDSClient, CreateDBSnapshotCommand, CreateDBClusterSnapshotCommand, DescribeDBSnapshotsCommand, DescribeDBClusterSnapshotsCommand,
  DeleteDBSnapshotCommand, DeleteDBClusterSnapshotCommand, CopyDBSnapshotCommand, CopyDBClusterSnapshotCommand, type Tag,
} from '@aws-sdk/client-rds';
import type { Observation } from '../../core/provider.ts';

export const UID_TAG = 'lc2.backup.liferay.cloud/uid';
export const PROJECT_TAG = 'lc2.backup.liferay.cloud/project';

export { snapshotIdentifier } from './plan.ts';

export interface SnapshotTarget { instanceId: string; cluster: boolean; snapshotId: string; uid: string; tags: Record<string, string> }
export interface SnapshotResult { snapshotId: string; arn: string; allocatedStorageGb: number; createdAt: string; engine?: 'postgresql' | 'mysql'; kmsKeyId?: string }

/** RDS engine names (postgres, aurora-postgresql, mysql, mariadb, aurora-mysql) as ours. */
const engineName = (e: string | undefined): 'postgresql' | 'mysql' | undefined => (!e ? undefined : e.includes('postgres') ? 'postgresql' : /mysql|mariadb/.test(e) ? 'mysql' : undefined);

const tagList = (t: SnapshotTarget): Tag[] => Object.entries({ ...t.tags, [UID_TAG]: t.uid }).map(([Key, Value]) => ({ Key, Value }));
const RETRYABLE = new Set([
  'ThrottlingException', 'Throttling', 'RequestLimitExceeded', 'TooManyRequestsException', 'SlowDown', 'InternalFailure', 'InternalError',
  'ServiceUnavailable', 'TimeoutError', 'AbortError', 'RequestTimeout', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT',
  'InvalidDBInstanceStateFault', 'InvalidDBClusterStateFault', 'InvalidDBSnapshotStateFault', 'InvalidDBClusterSnapshotStateFault',
  'InvalidExportSourceStateFault', 'ExportTaskLimitReachedFault',
  // A copy's source changed under it (also a bare 412 the SDK cannot name), or a kept upload was
  // ended elsewhere (a lifecycle rule): the next sync lists again and copies the object afresh.
  'PreconditionFailed', 'NoSuchUpload',
]);

export function classify(e: unknown): { reason: string; message: string; retryable: boolean } {
  const err = e as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = err.code && /^E[A-Z]+$/.test(err.code) ? err.code : err.name ?? 'Error';
  const status = err.$metadata?.httpStatusCode ?? 0;
  const hints: Record<string, string> = {
    DBInstanceNotFoundFault: 'check spec.database.instanceId: no such RDS instance in this account and region',
    DBClusterNotFoundFault: 'check spec.database.instanceId: no such Aurora cluster in this account and region',
    AccessDenied: 'access denied: the hook\'s IAM role lacks a permission listed in docs/aws.md',
    AccessDeniedException: 'access denied: the hook\'s IAM role lacks a permission listed in docs/aws.md',
    SnapshotQuotaExceededFault: 'the account\'s manual snapshot quota is reached: delete old snapshots or raise the quota',
    NoSuchBucket: 'a bucket named in the spec does not exist in this account and region: check spec.documentLibrary.sourceBucket/destinationBucket',
    IamRoleNotFoundFault: 'the export role (spec.database.export.iamRoleArn or LC2_AWS_EXPORT_ROLE_ARN) does not exist',
    IamRoleMissingPermissionsFault: 'the export role lacks s3:PutObject*/GetObject*/ListBucket/DeleteObject*/GetBucketLocation on the backup bucket',
    KMSKeyNotAccessibleFault: 'the export KMS key is not usable by the hook\'s role (kms:CreateGrant, kms:DescribeKey)',
    EncryptionNotApplied: 'the object store did not encrypt a copy with the project\'s KMS key (BackupTenant spec.encryption.awsKmsKeyArn); the backup is not kept as encrypted',
    'KMS.NotFoundException': 'the project\'s KMS key (BackupTenant spec.encryption.awsKmsKeyArn) does not exist in this region',
    'KMS.DisabledException': 'the project\'s KMS key (BackupTenant spec.encryption.awsKmsKeyArn) is disabled',
    InvalidS3BucketFault: 'the backup bucket cannot receive the export (wrong region or name)',
    DBInstanceAlreadyExistsFault: 'an instance with the restore\'s spec.database.instanceId already exists and was not made by this restore: choose a new identifier',
    DBClusterAlreadyExistsFault: 'a cluster with the restore\'s spec.database.instanceId already exists and was not made by this restore: choose a new identifier',
    DBSnapshotNotFoundFault: 'the backup\'s snapshot no longer exists in this account and region',
    DBClusterSnapshotNotFoundFault: 'the backup\'s cluster snapshot no longer exists in this account and region',
  };
  // The provider's own message is kept (it names the missing permission or resource); it never holds credentials.
  const detail = `${name}: ${err.message ?? ''}`.slice(0, 400);
  return { reason: name.replace(/Fault$|Exception$/, '') || 'Error', message: hints[name] ? `${hints[name]} (${detail})` : detail, retryable: RETRYABLE.has(name) || status >= 500 || status === 429 || status === 412 };
}

/** Idempotent start. Throws on a snapshot of that name that belongs to someone else. */
export async function startSnapshot(rds: RDSClient, t: SnapshotTarget, signal?: AbortSignal): Promise<void> {
  try {
    if (t.cluster) await rds.send(new CreateDBClusterSnapshotCommand({ DBClusterIdentifier: t.instanceId, DBClusterSnapshotIdentifier: t.snapshotId, Tags: tagList(t) }), { ...(signal ? { abortSignal: signal } : {}) });
    else await rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: t.instanceId, DBSnapshotIdentifier: t.snapshotId, Tags: tagList(t) }), { ...(signal ? { abortSignal: signal } : {}) });
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name !== 'DBSnapshotAlreadyExistsFault' && name !== 'DBClusterSnapshotAlreadyExistsFault') throw e;
    const tags = await snapshotTags(rds, t, signal);
    if (tags[UID_TAG] !== t.uid) {
      throw Object.assign(new Error(`snapshot ${t.snapshotId} exists but was not made for this BackupRequest (tag ${UID_TAG} is ${tags[UID_TAG] ?? 'missing'})`), { name: 'SnapshotOwnershipConflict' });
    }
  }
}

export async function snapshotTags(rds: RDSClient, t: Pick<SnapshotTarget, 'cluster' | 'snapshotId'>, signal?: AbortSignal): Promise<Record<string, string>> {
  const opts = signal ? { abortSignal: signal } : {};
  const list = t.cluster
    ? (await rds.send(new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: t.snapshotId }), opts)).DBClusterSnapshots?.[0]?.TagList
    : (await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: t.snapshotId }), opts)).DBSnapshots?.[0]?.TagList;
  return Object.fromEntries((list ?? []).map((x) => [x.Key ?? '', x.Value ?? '']));
}

const FAILED = new Set(['failed', 'deleted', 'deleting', 'incompatible-restore', 'incompatible-parameters', 'incompatible-network']);

export async function observeSnapshot(rds: RDSClient, t: SnapshotTarget, signal?: AbortSignal): Promise<Observation<SnapshotResult>> {
  const opts = signal ? { abortSignal: signal } : {};
  const s = t.cluster
    ? (await rds.send(new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: t.snapshotId }), opts)).DBClusterSnapshots?.[0]
    : (await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: t.snapshotId }), opts)).DBSnapshots?.[0];
  const status = (s?.Status ?? '').toLowerCase();
  const arn = (s as { DBSnapshotArn?: string; DBClusterSnapshotArn?: string } | undefined);
  if (status === 'available') {
    return { state: 'done', completedAt: (s?.SnapshotCreateTime ?? new Date()).toISOString(), result: {
      snapshotId: t.snapshotId, arn: arn?.DBSnapshotArn ?? arn?.DBClusterSnapshotArn ?? '', allocatedStorageGb: s?.AllocatedStorage ?? 0,
      createdAt: (s?.SnapshotCreateTime ?? new Date()).toISOString(), ...(engineName(s?.Engine) ? { engine: engineName(s?.Engine)! } : {}),
      ...(s?.KmsKeyId ? { kmsKeyId: s.KmsKeyId } : {}),
    } };
  }
  if (FAILED.has(status)) return { state: 'failed', reason: 'SnapshotFailed', message: `RDS snapshot ${t.snapshotId} is ${status}`, retryable: false };
  return { state: 'running', message: `RDS snapshot ${t.snapshotId} ${status || 'starting'}${s?.PercentProgress !== undefined ? `, ${s.PercentProgress}%` : ''}` };
}

/**
 * Copies this backup's snapshot into the customer's KMS key, under the copy's own UID-derived name
 * and tags: "already exists" counts as started only when the copy is tagged as this backup's.
 */
export async function startSnapshotCopy(rds: RDSClient, copy: SnapshotTarget, sourceArn: string, kmsKeyId: string, signal?: AbortSignal): Promise<void> {
  const opts = signal ? { abortSignal: signal } : {};
  try {
    if (copy.cluster) await rds.send(new CopyDBClusterSnapshotCommand({ SourceDBClusterSnapshotIdentifier: sourceArn, TargetDBClusterSnapshotIdentifier: copy.snapshotId, KmsKeyId: kmsKeyId, Tags: tagList(copy) }), opts);
    else await rds.send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: sourceArn, TargetDBSnapshotIdentifier: copy.snapshotId, KmsKeyId: kmsKeyId, Tags: tagList(copy) }), opts);
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name !== 'DBSnapshotAlreadyExistsFault' && name !== 'DBClusterSnapshotAlreadyExistsFault') throw e;
    const tags = await snapshotTags(rds, copy, signal);
    if (tags[UID_TAG] !== copy.uid) {
      throw Object.assign(new Error(`snapshot ${copy.snapshotId} exists but was not made for this BackupRequest (tag ${UID_TAG} is ${tags[UID_TAG] ?? 'missing'})`), { name: 'SnapshotOwnershipConflict' });
    }
  }
}

/** The snapshot's observation, or undefined when there is none of that name. */
export async function observeIfExists(rds: RDSClient, t: SnapshotTarget, signal?: AbortSignal): Promise<Observation<SnapshotResult> | undefined> {
  try { return await observeSnapshot(rds, t, signal); } catch (e) {
    if (/^DB(Cluster)?SnapshotNotFoundFault$/.test((e as { name?: string }).name ?? '')) return undefined;
    throw e;
  }
}

/** Deletes this backup's snapshot (retention, deletionPolicy Delete); gone already counts as done. */
export async function deleteSnapshot(rds: RDSClient, t: Pick<SnapshotTarget, 'snapshotId' | 'cluster' | 'uid'> & { tags?: Record<string, string> }, signal?: AbortSignal): Promise<void> {
  const opts = signal ? { abortSignal: signal } : {};
  try {
    // Never delete a snapshot this backup did not make, whatever its name says - nor, when the
    // project is known, one tagged for another project (a UID in a manifest is only a claim).
    const tags = await snapshotTags(rds, t, signal);
    const project = t.tags?.[PROJECT_TAG];
    if (tags[UID_TAG] !== t.uid || (project !== undefined && tags[PROJECT_TAG] !== project)) {
      throw Object.assign(new Error(`snapshot ${t.snapshotId} is not tagged as this backup's; not deleting it`), { name: 'SnapshotOwnershipConflict' });
    }
    if (t.cluster) await rds.send(new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: t.snapshotId }), opts);
    else await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: t.snapshotId }), opts);
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name === 'DBSnapshotNotFoundFault' || name === 'DBClusterSnapshotNotFoundFault') return;
    throw e;
  }
}
