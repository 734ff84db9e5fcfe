// Incremental backups, from the related BackupRequests (pure). One level only: an incremental
// backup refers to the environment's newest full backup, never to another incremental one, so
// deleting any incremental backup breaks nothing, and only a full backup that an incremental one
// still refers to must keep its data (deletion waits for its dependents).
import type { BackupRequest } from '../../core/crd.ts';

type Base = { backupId: string; prefix: string };

const sameEnvironment = (a: BackupRequest, b: BackupRequest) =>
  a.spec?.projectId === b.spec?.projectId && a.spec?.environment === b.spec?.environment && a.spec?.provider === b.spec?.provider
  && a.spec?.documentLibrary?.sourceBucket === b.spec?.documentLibrary?.sourceBucket
  && (a.spec?.documentLibrary?.sourcePrefix ?? '') === (b.spec?.documentLibrary?.sourcePrefix ?? '')
  // References are server-side: the base must be in the same backup bucket.
  && a.spec?.documentLibrary?.destinationBucket === b.spec?.documentLibrary?.destinationBucket;

const expired = (b: BackupRequest) => b.status?.conditions?.some((c) => c.type === 'Expired' && c.status === 'True') ?? false;
/** A base whose own retentionDays ran out by `at` may be deleted any moment: never chosen. */
const retentionPassed = (b: BackupRequest, at: string) => {
  const days = (b.status?.admitted?.spec ?? b.spec)?.retentionDays;
  return typeof days === 'number' && Date.parse(b.status?.completionTime ?? '') + days * 86_400_000 <= Date.parse(at);
};

/** The newest succeeded full backup of the same environment finished before this one was created. */
export function previousFull(parent: BackupRequest, all: readonly BackupRequest[], kmsKeyArn?: string): Base | undefined {
  const created = parent.metadata.creationTimestamp ?? '9999';
  // A backup encrypted with the customer's key never refers to objects kept under another (or none).
  const sameKey = (b: BackupRequest) => b.status?.documentLibrary?.encryption?.kmsKeyArn === kmsKeyArn;
  const candidates = all.filter((b) => b.metadata.uid !== parent.metadata.uid && !b.metadata.deletionTimestamp && sameEnvironment(parent, b) && sameKey(b)
    && b.status?.phase === 'Succeeded' && !b.status.incrementalBase && !expired(b) && b.status.backupId && b.status.location
    && (b.status.completionTime ?? '9999') <= created && !retentionPassed(b, created));
  const newest = candidates.sort((a, b) => (b.status!.completionTime ?? '').localeCompare(a.status!.completionTime ?? ''))[0];
  return newest ? { backupId: newest.status!.backupId!, prefix: `${newest.status!.location!.prefix}dl/` } : undefined;
}

/** Backups whose data still refers to this one's (it must keep its data until they are gone). */
export function dependentsOf(parent: BackupRequest, all: readonly BackupRequest[]): string[] {
  const id = parent.status?.backupId;
  const bucket = parent.status?.location?.bucket;
  if (!id) return [];
  return all.filter((b) => b.metadata.uid !== parent.metadata.uid && b.status?.incrementalBase?.backupId === id
    && b.spec?.documentLibrary?.destinationBucket === bucket && b.status.phase !== 'Failed' && !expired(b))
    .map((b) => `${b.metadata.namespace ?? ''}/${b.metadata.name}`).sort();
}
