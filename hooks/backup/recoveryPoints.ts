// An environment's recovery points, from the related BackupRequests (pure). No automatic deletion
// (a standalone backup's retentionDays; a schedule's retention keeps its own newest success anyway)
// removes the environment's newest verified backup: an environment is never left without a good
// recovery point by the service itself. A user deleting a backup with deletionPolicy Delete is obeyed.
import type { BackupRequest } from '../../core/crd.ts';

const expired = (b: BackupRequest) => b.status?.conditions?.some((c) => c.type === 'Expired' && c.status === 'True') ?? false;
/** One environment's stores: project, environment, the database and the document library backed up. */
function storesOf(b: BackupRequest): string {
  const s = b.status?.admitted?.spec ?? b.spec;
  return JSON.stringify([s?.projectId, s?.environment, s?.database?.instanceId, s?.database?.databaseName ?? '',
    s?.documentLibrary?.sourceBucket, (s?.documentLibrary?.sourcePrefix ?? '').replace(/\/+$/, '')]);
}
const sameEnvironment = (a: BackupRequest, b: BackupRequest) => storesOf(a) === storesOf(b);
/** Verified: Succeeded (its manifest was written and read back, its artifacts checked) and its data not expired. */
const verified = (b: BackupRequest) => b.status?.phase === 'Succeeded' && !!b.status.completionTime && !expired(b);

/** Whether `backup` is its environment's newest verified backup among `all` (which may include it). */
export function isNewestRecoveryPoint(backup: BackupRequest, all: readonly BackupRequest[]): boolean {
  if (!verified(backup)) return false;
  const done = backup.status!.completionTime!;
  return !all.some((b) => b.metadata.uid !== backup.metadata.uid && !b.metadata.deletionTimestamp && verified(b) && sameEnvironment(b, backup)
    && (b.status!.completionTime! > done || (b.status!.completionTime === done && (b.metadata.uid ?? '') > (backup.metadata.uid ?? ''))));
}
