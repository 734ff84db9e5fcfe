// Identifiers derived from a resource UID, within each GCP API's naming rules (pure).

/** What our transfer jobs are described by (the job name carries the UID too). */
export const uidMarker = (uid: string): string => `lc2:${uid}`;

/**
 * Cloud SQL assigns backup IDs and keeps no labels on backups: ours is found again by this
 * description (list-and-adopt), keyed by the UID. The project is part of it so that a restore can
 * prove a backup is its project's (as the project tag does on AWS): a forged manifest naming
 * another project's backup and UID still fails on the project.
 */
export const backupDescription = (uid: string, projectId: string): string => `lc2:${uid} project=${projectId}`;

const uidChars = (uid: string) => uid.toLowerCase().replace(/[^a-z0-9-]/g, '');

/**
 * A Storage Transfer job name: `transferJobs/` then [A-Za-z0-9-._~], ending in a letter or digit,
 * not starting with OPI, at most 128 characters. A DELETED job keeps its name for 30 days: a UID is never reused.
 */
export function transferJobName(uid: string, step: 'dl' | 'restore'): string {
  return `transferJobs/lc2-${uidChars(uid).slice(0, 100)}-${step}`;
}

/** The export's object: in the backup's own folder, so the folder's deletion removes it too. */
export const exportObject = (prefix: string, database: string): string => `${prefix}export/${database}.sql.gz`;
export const gsUri = (bucket: string, key: string): string => `gs://${bucket}/${key}`;

/**
 * The NEW instance a restore creates: the name in the spec plus the restore UID's first 8 hex digits
 * (Cloud SQL blocks a deleted instance's name for a week, so a retried restore needs a fresh one).
 * Instance IDs: lowercase letters, digits, hyphens, starting with a letter, at most 98 characters with the project.
 */
export function restoredInstanceName(instanceId: string, uid: string): string {
  const suffix = `-r${uid.replace(/[^a-f0-9]/gi, '').slice(0, 8).toLowerCase()}`;
  return `${instanceId.toLowerCase().slice(0, 60 - suffix.length).replace(/-+$/, '')}${suffix}`;
}

/** Cloud SQL instance IDs as the tenant writes them (no project prefix, no host:port). */
export const INSTANCE_ID = /^[a-z][a-z0-9-]{0,50}[a-z0-9]$/;

/** Labels (the ownership marker on a restored instance): lowercase letters, digits, - and _, ≤ 63. */
export const UID_LABEL = 'lc2-uid';
export const PROJECT_LABEL = 'lc2-project';
export const labelValue = (v: string): string => v.toLowerCase().replace(/[^a-z0-9_-]/g, '_').slice(0, 63);

/**
 * A Cloud SQL backup's resource name in this project, as the Backups API makes them. Checked before
 * any GetBackup/DeleteBackup of a name read from a manifest or status: the client puts it into the
 * URL path as it is, so another project's backup or a path with "." segments never reaches the API.
 */
export const isOwnBackupName = (project: string, name: string): boolean =>
  name.startsWith(`projects/${project}/backups/`) && /^[A-Za-z0-9_-]+$/.test(name.slice(`projects/${project}/backups/`.length));
