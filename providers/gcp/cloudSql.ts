// Cloud SQL on-demand backups (the v1 Backups API). Cloud SQL assigns the backup's ID and has no
// duplicate error, so a backup is found again by its description `lc2:<uid>`: before every create
// the instance's ON_DEMAND backups are listed and a match adopted. The list and the create run
// under a lease in the backup's folder, and the create's operation is recorded there (create-only)
// before the lease is released: two syncs never both find nothing and create two.
import type { Observation } from '../../core/provider.ts';
import type { GcpClients, SqlBackup, SqlOperation } from './clients.ts';
import { isNotFound } from './errors.ts';
import { isOwnBackupName } from './ids.ts';
import { readRecord, withLease, writeRecordOnce } from './lease.ts';

export interface BackupTarget {
  instance: string; description: string;
  /** Where the lease and the create record live (the backup's own folder). */
  bucket: string; recordKey: string; leaseKey: string; leaseTtlMs: number;
}
export type BackupProgress = { backup?: string; operation?: string };
export interface BackupDone { name: string; engine?: 'postgresql' | 'mysql'; sizeBytes: number; completedAt: string }

/** Cloud SQL's pages of backups: enough for any instance's on-demand backups (500 a page). */
const MAX_PAGES = 20;

/** The pages ran out before the list did: whether a backup exists is not known yet (retryable, never "gone"). */
const listIncomplete = (instance: string) => Object.assign(new Error(`Cloud SQL lists more than ${MAX_PAGES} pages of on-demand backups${instance ? ` of ${instance}` : ' in the project'}: not known yet, looked up again later`), { name: 'ListIncomplete' });

/** Walks the backup pages, stopping early once `enough` says so; throws ListIncomplete when the pages run out first. */
async function scanBackups(c: GcpClients, instance: string, description: string, enough: (found: SqlBackup[]) => boolean): Promise<SqlBackup[]> {
  const found: SqlBackup[] = [];
  let token: string | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const { backups, nextPageToken } = await c.sql.listBackups(instance, token);
    found.push(...backups.filter((b) => b.description === description && (!instance || b.instance === instance)));
    if (!nextPageToken || enough(found)) return found;
    token = nextPageToken;
  }
  throw listIncomplete(instance);
}

export async function findBackup(c: GcpClients, instance: string, description: string): Promise<SqlBackup | undefined> {
  return (await scanBackups(c, instance, description, (found) => found.length > 0))[0];
}

/** Every backup carrying the description (normally one; a create in flight during a deletion may have made another). */
export const findBackups = (c: GcpClients, instance: string, description: string): Promise<SqlBackup[]> => scanBackups(c, instance, description, () => false);

export const engineOf = (databaseVersion: string | null | undefined): 'postgresql' | 'mysql' | undefined =>
  !databaseVersion ? undefined : databaseVersion.startsWith('POSTGRES') ? 'postgresql' : databaseVersion.startsWith('MYSQL') ? 'mysql' : undefined;

const opFailure = (op: SqlOperation) => (op.error?.errors ?? []).map((e) => `${e.code ?? ''} ${e.message ?? ''}`.trim()).join('; ') || 'no error detail';

const ownershipConflict = (message: string) => Object.assign(new Error(message), { name: 'OwnershipConflict' });

/**
 * Whether the backup is the one this request made: our description (lc2:<uid>: UIDs are unique, so
 * no other request's backup carries it), on the instance the spec names when it names one.
 */
export function checkOwnBackup(b: SqlBackup, t: Pick<BackupTarget, 'instance' | 'description'>): void {
  if (b.description !== t.description || (t.instance !== '' && b.instance !== t.instance)) {
    throw ownershipConflict(`Cloud SQL backup ${b.name ?? '?'} is not this backup's (description ${JSON.stringify(b.description ?? '')}, instance ${b.instance ?? '?'})`);
  }
}

/** Finds (or, under the lease, creates) this request's backup; running until Cloud SQL lists it. */
async function locate(c: GcpClients, t: BackupTarget): Promise<Observation<never> | { backup: SqlBackup }> {
  const found = await findBackup(c, t.instance, t.description);
  if (found) return { backup: found };
  const record = await readRecord<{ operation: string }>(c.storage, t.bucket, t.recordKey, c.callTimeoutMs);
  if (record?.operation) {
    const op = await c.sql.getOperation(record.operation);
    if (op.status === 'DONE' && op.error) return { state: 'failed', reason: 'BackupFailed', message: `Cloud SQL backup of ${t.instance} failed: ${opFailure(op)}`, retryable: false };
    return { state: 'running', progress: { operation: record.operation }, resyncAfterSeconds: 5, message: `Cloud SQL backup of ${t.instance}: operation ${record.operation} ${(op.status ?? 'pending').toLowerCase()}` };
  }
  const leased = await withLease(c.storage, t.bucket, t.leaseKey, t.leaseTtlMs, c.callTimeoutMs, async (stillHeld): Promise<BackupProgress> => {
    // Looked up again under the lease: the previous holder may have just created it.
    const again = await findBackup(c, t.instance, t.description);
    if (again) return { backup: again.name ?? '' };
    const prior = await readRecord<{ operation: string }>(c.storage, t.bucket, t.recordKey, c.callTimeoutMs);
    if (prior?.operation) return { operation: prior.operation };
    if (!stillHeld()) return {}; // too slow this time: the next sync looks again
    const op = await c.sql.createBackup(t.instance, t.description);
    return writeRecordOnce(c.storage, t.bucket, t.recordKey, { operation: op.name ?? '' }, c.callTimeoutMs);
  });
  if (leased.busy) return { state: 'running', resyncAfterSeconds: 2, message: `another sync is starting the Cloud SQL backup of ${t.instance}` };
  return { state: 'running', progress: leased.value, resyncAfterSeconds: 2, message: `Cloud SQL backup of ${t.instance} ${leased.value.backup || leased.value.operation ? 'started' : 'not started yet'}` };
}

const FAILED = new Set(['FAILED', 'DELETING', 'DELETION_FAILED', 'DELETED']);

/** One sync of the backup step: find or start it, then report its state. */
export async function observeBackup(c: GcpClients, t: BackupTarget, progress: BackupProgress): Promise<Observation<BackupDone>> {
  let backup: SqlBackup;
  if (progress.backup) {
    backup = await c.sql.getBackup(progress.backup);
  } else {
    const located = await locate(c, t);
    if (!('backup' in located)) return located;
    backup = located.backup;
  }
  checkOwnBackup(backup, t);
  const name = backup.name ?? '';
  const state = backup.state ?? '';
  if (state === 'SUCCESSFUL') {
    const engine = engineOf(backup.databaseVersion);
    return { state: 'done', completedAt: backup.backupInterval?.endTime ?? new Date().toISOString(), result: {
      name, sizeBytes: Number(backup.maxChargeableBytes ?? 0), completedAt: backup.backupInterval?.endTime ?? '', ...(engine ? { engine } : {}),
    } };
  }
  if (FAILED.has(state)) {
    return { state: 'failed', reason: 'BackupFailed', message: `Cloud SQL backup ${name} is ${state}${backup.error?.message ? `: ${backup.error.message.slice(0, 300)}` : ''}`, retryable: false };
  }
  return { state: 'running', progress: { backup: name }, resyncAfterSeconds: 10, message: `Cloud SQL backup ${name} ${(state || 'enqueued').toLowerCase()}` };
}

/**
 * Deletes this request's backups: the one status names (after the ownership check) and every one
 * carrying its description. Gone or DELETING counts as done; a backup list that runs out of pages
 * throws (not known yet), never "deleted".
 */
export async function deleteBackup(c: GcpClients, t: Pick<BackupTarget, 'instance' | 'description'>, name: string | undefined): Promise<void> {
  let named: SqlBackup | undefined;
  if (name) {
    if (!isOwnBackupName(c.project, name)) throw ownershipConflict(`${name} is not a Cloud SQL backup of project ${c.project}`);
    try { named = await c.sql.getBackup(name); } catch (e) { if (!isNotFound(e)) throw e; }
    if (named) checkOwnBackup(named, t);
  }
  const described = await findBackups(c, t.instance, t.description);
  for (const backup of [...(named ? [named] : []), ...described.filter((b) => b.name !== named?.name)]) {
    if (backup.state === 'DELETING') continue;
    try { await c.sql.deleteBackup(backup.name ?? ''); } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
