// The S3 policy of one project's storage key (pure). The local provider's Jobs run in the tenant's
// namespace with the key in its Secret lc2-storage, which anyone with `edit` there can read; so that
// key must reach only what the project's backups and restores touch, as its BackupTenant lists:
//   backup buckets           list, read, write and delete under `<projectId>/` only: backups are
//                            written to {bucket}/{projectId}/{environment}/{backupId}/, restores
//                            read from there and write their results under it.
//   document-library buckets list and read (backup sources) and write (restore targets); delete
//                            too, because rclone removes a copy that fails its size/hash check. With
//                            documentLibraryPrefixes only under those prefixes, else the whole
//                            bucket (the platform team gives each project buckets of its own).
// Nothing else: no bucket creation or configuration, no versions, no listing of other projects'
// multipart uploads (s3:ListBucketMultipartUploads is not needed: rclone aborts its own uploads by
// upload ID). The hook server keeps the service key; a project key is never the root key.
import type { BackupTenantSpec } from '../../core/crd.ts';

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
  Condition?: { StringLike: { 's3:prefix': string[] } };
}
export interface StoragePolicy { Version: '2012-10-17'; Statement: PolicyStatement[] }

/** Object actions of a Job: read, write (single and multipart), delete, and abort its own multipart uploads. */
export const OBJECT_ACTIONS: readonly string[] = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'];

// The BackupTenant name pattern (crds/backuptenants.yaml): no '*', '?', '/', '$' or '..' can widen an ARN.
const PROJECT_ID = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// S3 bucket names: 3-63 of a-z 0-9 . -, starting and ending with a letter or digit.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export class PolicyError extends Error {}

function checkedPrefix(prefix: string): string {
  // '*' and '?' are wildcards in ARNs and StringLike, '${' starts a policy variable.
  if (!prefix.endsWith('/') || prefix.startsWith('/') || /[*?$\\]/.test(prefix) || prefix.split('/').some((s, i, all) => s === '..' || s === '.' || (s === '' && i < all.length - 1))) {
    throw new PolicyError(`documentLibraryPrefixes: "${prefix}" must be a plain prefix ending with '/' (no wildcards, '$', empty, '.' or '..' segments)`);
  }
  return prefix;
}

function checkedBuckets(field: string, buckets: readonly string[] | undefined): string[] {
  const list = [...new Set(buckets ?? [])];
  for (const b of list) {
    if (!BUCKET.test(b) || b.includes('..')) throw new PolicyError(`${field}: "${b}" is not an S3 bucket name`);
  }
  return list.sort();
}

const arn = (bucket: string, key?: string): string => `arn:aws:s3:::${bucket}${key === undefined ? '' : `/${key}`}`;

/**
 * The policy of project `projectId`'s storage key, from its BackupTenant spec. Throws PolicyError
 * on anything that could widen it (a projectId, bucket or prefix that is not a plain name) and on
 * a tenant without buckets (there would be nothing to allow).
 */
export function storagePolicyFor(projectId: string, tenant: BackupTenantSpec): StoragePolicy {
  if (!PROJECT_ID.test(projectId) || projectId.length > 40) {
    throw new PolicyError(`projectId "${projectId}" is not a lower-case DNS label of at most 40 characters`);
  }
  const backupBuckets = checkedBuckets('backupBuckets', tenant.backupBuckets);
  const dlBuckets = checkedBuckets('documentLibraryBuckets', tenant.documentLibraryBuckets);
  if (backupBuckets.length === 0 && dlBuckets.length === 0) {
    throw new PolicyError(`BackupTenant ${projectId} lists no backupBuckets and no documentLibraryBuckets: nothing to allow`);
  }
  const dlPrefixes = Array.isArray(tenant.documentLibraryPrefixes) ? [...new Set(tenant.documentLibraryPrefixes.map(checkedPrefix))].sort() : undefined;
  if (dlPrefixes?.length === 0 && dlBuckets.length > 0) {
    throw new PolicyError(`BackupTenant ${projectId} has an empty documentLibraryPrefixes list: it may touch no prefix of its document-library buckets`);
  }

  const statements: PolicyStatement[] = [];
  const own = `${projectId}/`;
  if (backupBuckets.length > 0) {
    statements.push(
      { Sid: 'ListOwnProjectInBackupBuckets', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: backupBuckets.map((b) => arn(b)),
        Condition: { StringLike: { 's3:prefix': [own, `${own}*`] } } },
      { Sid: 'ObjectsOfOwnProjectInBackupBuckets', Effect: 'Allow', Action: [...OBJECT_ACTIONS], Resource: backupBuckets.map((b) => arn(b, `${own}*`)) },
    );
  }
  if (dlBuckets.length > 0) {
    statements.push(
      { Sid: 'ListDocumentLibraryBuckets', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: dlBuckets.map((b) => arn(b)),
        ...(dlPrefixes ? { Condition: { StringLike: { 's3:prefix': dlPrefixes.flatMap((p) => [p, `${p}*`]) } } } : {}) },
      { Sid: 'ObjectsInDocumentLibraryBuckets', Effect: 'Allow', Action: [...OBJECT_ACTIONS],
        Resource: dlBuckets.flatMap((b) => (dlPrefixes ? dlPrefixes.map((p) => arn(b, `${p}*`)) : [arn(b, '*')])) },
    );
  }
  return { Version: '2012-10-17', Statement: statements };
}
