// `status`: per environment, how much data an incident would lose right now (RPO = age of the
// newest Succeeded backup, from the cluster and the archive), what runs or waits, and what comes
// next. Pure: the objects, the archive's last successes and the clock in, rows out.
import type { BackupRequest, BackupSchedule } from '../core/crd.ts';
import { formatDuration, secondsBetween, table } from './format.ts';

export interface EnvironmentHealth {
  projectId: string;
  environment: string;
  /** The newest Succeeded BackupRequest still in the cluster (the archive may know a newer one only by time). */
  lastBackup: string | null;
  lastVerifiedAt: string | null;
  rpoSeconds: number | null;
  running: number;
  queued: number;
  failedSinceLastSuccess: number;
  nextScheduledAt: string | null;
  /** Restore drills are a later issue: always null for now. */
  lastDrillAt: string | null;
}

export interface ArchivedSuccess { projectId: string; environment: string; lastSuccessAt: string | null }

const WAITING = new Set(['Pending', 'Queued']);
const DONE = new Set(['Succeeded', 'Failed']);
const later = (a: string | null, b: string | null | undefined) => (!b ? a : !a || Date.parse(b) > Date.parse(a) ? b : a);
const sooner = (a: string | null, b: string | null | undefined) => (!b ? a : !a || Date.parse(b) < Date.parse(a) ? b : a);

export function environmentHealth(backups: readonly BackupRequest[], schedules: readonly BackupSchedule[], archived: readonly ArchivedSuccess[], now: Date): EnvironmentHealth[] {
  const envs = new Map<string, EnvironmentHealth>();
  const at = (projectId: string, environment: string) => {
    const key = `${projectId}/${environment}`;
    let e = envs.get(key);
    if (!e) {
      e = { projectId, environment, lastBackup: null, lastVerifiedAt: null, rpoSeconds: null, running: 0, queued: 0, failedSinceLastSuccess: 0, nextScheduledAt: null, lastDrillAt: null };
      envs.set(key, e);
    }
    return e;
  };
  for (const b of backups) {
    if (!b.spec) continue;
    const e = at(b.spec.projectId, b.spec.environment);
    const phase = b.status?.phase ?? 'Pending';
    if (WAITING.has(phase)) e.queued++;
    else if (!DONE.has(phase)) e.running++;
    else if (phase === 'Succeeded' && b.status?.completionTime && later(e.lastVerifiedAt, b.status.completionTime) !== e.lastVerifiedAt) {
      e.lastVerifiedAt = b.status.completionTime;
      e.lastBackup = b.metadata.name;
    }
  }
  for (const b of backups) {
    if (!b.spec || b.status?.phase !== 'Failed') continue;
    const e = at(b.spec.projectId, b.spec.environment);
    const when = b.status.completionTime ?? b.metadata.creationTimestamp;
    if (!e.lastVerifiedAt || (when && Date.parse(when) > Date.parse(e.lastVerifiedAt))) e.failedSinceLastSuccess++;
  }
  for (const a of archived) {
    const e = at(a.projectId, a.environment);
    const newer = later(e.lastVerifiedAt, a.lastSuccessAt);
    if (newer !== e.lastVerifiedAt) { e.lastVerifiedAt = newer; e.lastBackup = null; }
  }
  for (const s of schedules) {
    const spec = s.spec?.template?.spec;
    if (!spec || s.spec?.suspend) continue;
    const e = at(spec.projectId, spec.environment);
    e.nextScheduledAt = sooner(e.nextScheduledAt, s.status?.nextScheduleTime);
  }
  for (const e of envs.values()) {
    const age = secondsBetween(e.lastVerifiedAt, now);
    e.rpoSeconds = age === undefined ? null : Math.max(0, Math.floor(age));
  }
  return [...envs.values()].sort((a, b) => a.projectId.localeCompare(b.projectId) || a.environment.localeCompare(b.environment));
}

export function healthTable(rows: readonly EnvironmentHealth[], now: Date, wide: boolean): string {
  const next = (t: string | null) => {
    const s = secondsBetween(now.toISOString(), t);
    return s === undefined ? '-' : s < 0 ? `overdue ${formatDuration(-s)}` : `in ${formatDuration(s)}`;
  };
  return table(['PROJECT', 'ENV', 'LAST-BACKUP', 'RPO', 'RUNNING', 'QUEUED', 'FAILED', 'NEXT', 'LAST-DRILL', ...(wide ? ['VERIFIED-AT'] : [])],
    rows.map((r) => [r.projectId, r.environment, r.lastBackup ?? (r.lastVerifiedAt ? '(archive)' : '<none>'),
      r.rpoSeconds === null ? '-' : formatDuration(r.rpoSeconds), r.running, r.queued, r.failedSinceLastSuccess, next(r.nextScheduledAt),
      r.lastDrillAt ?? '-', ...(wide ? [r.lastVerifiedAt] : [])]));
}
