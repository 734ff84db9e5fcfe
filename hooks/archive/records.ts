// Archive rows, built purely from a terminal resource or from a manifest (for rebuilds).
import type { BackupRequest, RestoreRequest } from '../../core/crd.ts';
import type { Manifest } from '../backup/manifest.ts';

export interface ArchiveRecord {
  uid: string;
  kind: 'BackupRequest' | 'RestoreRequest';
  namespace: string;
  name: string;
  backupId: string | null;
  projectId: string;
  environment: string;
  provider: string;
  phase: string;
  reason: string | null;
  message: string | null;
  initiator: string | null;
  startedAt: string | null;
  completedAt: string | null;
  durationSeconds: number | null;
  databaseBytes: number | null;
  dlObjects: number | null;
  dlBytes: number | null;
  manifestBucket: string | null;
  manifestKey: string | null;
  deletedAt: string | null;
  source: 'cluster' | 'manifest';
  /** An incremental backup's base (backup ID), '' for a full backup, null when not a finished backup. */
  dlBase: string | null;
  /** A scheduled backup: seconds until its schedule's next run (the annotation its schedule set); null otherwise. */
  intervalSeconds?: number | null;
  /** Referred-to files missing from the copy and orphans (docs/recovery-points.md); null when not checked. */
  dlMissing?: number | null;
  dlOrphans?: number | null;
  /** A RestoreRequest with spec.drill: its verdict, measured RTO and cleanup (migration 007); null otherwise. */
  drill?: boolean | null;
  drillRtoSeconds?: number | null;
  drillVerdict?: string | null;
  drillCleanup?: string | null;
}

// The schedule annotation, believed only on a BackupRequest a BackupSchedule controls (a tenant's
// own request could otherwise silence the RPO alert with a year) and only as a whole number of
// seconds between a minute and a year.
const INTERVAL = 'backup.liferay.cloud/schedule-interval-seconds';
function intervalOf(br: BackupRequest): number | null {
  if (!br.metadata.ownerReferences?.some((o) => o.controller && o.kind === 'BackupSchedule')) return null;
  const v = br.metadata.annotations?.[INTERVAL];
  const n = typeof v === 'string' && /^\d{1,8}$/.test(v) ? Number(v) : NaN;
  return n >= 60 && n <= 366 * 86_400 ? n : null;
}

const seconds = (a?: string | null, b?: string | null) => (a && b ? (Date.parse(b) - Date.parse(a)) / 1000 : null);

type Tracked = BackupRequest | RestoreRequest;

/** What both kinds record the same way: identity, spec fields, phase and Ready, times. */
function common(r: Tracked): Omit<ArchiveRecord, 'kind' | 'databaseBytes' | 'dlObjects' | 'dlBytes' | 'manifestBucket' | 'manifestKey' | 'deletedAt' | 'dlBase' | 'intervalSeconds'> {
  const s = r.status ?? {};
  const ready = s.conditions?.find((c) => c.type === 'Ready');
  return {
    uid: r.metadata.uid ?? '', namespace: r.metadata.namespace ?? '', name: r.metadata.name,
    backupId: s.backupId ?? null, projectId: r.spec?.projectId ?? '', environment: r.spec?.environment ?? '', provider: r.spec?.provider ?? '',
    phase: s.phase ?? 'Pending', reason: ready?.reason ?? null, message: ready?.message ?? null, initiator: r.spec?.initiator ?? null,
    startedAt: s.startTime ?? null, completedAt: s.completionTime ?? null, durationSeconds: seconds(s.startTime, s.completionTime), source: 'cluster',
  };
}

export function backupRecord(br: BackupRequest, deletedAt: string | null = null): ArchiveRecord {
  const s = br.status ?? {};
  return {
    ...common(br), kind: 'BackupRequest',
    databaseBytes: s.database?.sizeBytes ?? null, dlObjects: s.documentLibrary?.objectCount ?? null, dlBytes: s.documentLibrary?.totalBytes ?? null,
    manifestBucket: s.manifest?.bucket ?? null, manifestKey: s.manifest?.key ?? null, deletedAt,
    dlBase: s.phase === 'Succeeded' ? s.documentLibrary?.base?.backupId ?? '' : null, intervalSeconds: intervalOf(br),
    dlMissing: s.documentLibrary?.consistency?.missing ?? null, dlOrphans: s.documentLibrary?.consistency?.orphans ?? null,
  };
}

/** The archive's integer columns: a forged Job result time (a far-future RTO) must not break archiving. */
const MAX_INTEGER_COLUMN = 2_147_483_647;

export function restoreRecord(rr: RestoreRequest): ArchiveRecord {
  const s = rr.status ?? {};
  return {
    ...common(rr), kind: 'RestoreRequest',
    databaseBytes: null, dlObjects: s.documentLibrary?.objectCount ?? null, dlBytes: s.documentLibrary?.totalBytes ?? null,
    manifestBucket: s.source?.manifest.bucket ?? null, manifestKey: s.source?.manifest.key ?? null, deletedAt: null, dlBase: null, intervalSeconds: null,
    dlMissing: s.documentLibrary?.consistency?.missing ?? null, dlOrphans: s.documentLibrary?.consistency?.orphans ?? null,
    drill: rr.spec?.drill ? true : null, drillRtoSeconds: s.drill?.rtoSeconds === undefined ? null : Math.min(s.drill.rtoSeconds, MAX_INTEGER_COLUMN), drillVerdict: s.drill?.verdict ?? null, drillCleanup: s.drill?.cleanup ?? null,
  };
}

/** A row from a manifest alone: what a rebuild can know about a successful backup. */
export function manifestRecord(m: Manifest, bucket: string, key: string): ArchiveRecord {
  return {
    uid: m.source.uid, kind: 'BackupRequest', namespace: m.source.namespace, name: m.source.name, backupId: m.backupId,
    projectId: m.projectId, environment: m.environment, provider: m.provider, phase: 'Succeeded', reason: 'BackupSucceeded', message: null,
    initiator: m.initiator ?? null, startedAt: m.startedAt, completedAt: m.completedAt, durationSeconds: seconds(m.startedAt, m.completedAt),
    databaseBytes: m.database.sizeBytes, dlObjects: m.documentLibrary.objectCount, dlBytes: m.documentLibrary.totalBytes,
    manifestBucket: bucket, manifestKey: key, deletedAt: null, source: 'manifest', dlBase: m.documentLibrary.base?.backupId ?? '', intervalSeconds: null,
    dlMissing: m.documentLibrary.consistency?.missing ?? null, dlOrphans: m.documentLibrary.consistency?.orphans ?? null,
  };
}
