// `status`: per environment, how much data an incident would lose right now (RPO = age of the
// newest Succeeded backup, from the cluster and the archive), what runs or waits, and what comes
// next, and how the last DR drill went (verdict, RTO, when: from the schedules' status and the
// archive). Pure: the objects, the archive's rows and the clock in, rows out.
import type { BackupRequest, BackupSchedule } from '../core/crd.ts';
import { formatAge, formatDuration, secondsBetween, table } from './format.ts';

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
  /** The newest finished DR drill: when it ended, its verdict and measured restore time (RTO). */
  lastDrillAt: string | null;
  lastDrill: string | null;
  lastDrillVerdict: 'Passed' | 'Failed' | null;
  lastDrillRtoSeconds: number | null;
}

export interface ArchivedSuccess {
  projectId: string; environment: string; lastSuccessAt: string | null;
  lastDrill?: { name: string; completedAt: string; verdict: 'Passed' | 'Failed'; rtoSeconds: number | null } | null;
}

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
      e = { projectId, environment, lastBackup: null, lastVerifiedAt: null, rpoSeconds: null, running: 0, queued: 0, failedSinceLastSuccess: 0, nextScheduledAt: null, lastDrillAt: null, lastDrill: null, lastDrillVerdict: null, lastDrillRtoSeconds: null };
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
  const drill = (e: EnvironmentHealth, d: { name: string; completedAt?: string | null; verdict: 'Passed' | 'Failed'; rtoSeconds?: number | null }) => {
    if (!d.completedAt || later(e.lastDrillAt, d.completedAt) === e.lastDrillAt) return;
    Object.assign(e, { lastDrillAt: d.completedAt, lastDrill: d.name, lastDrillVerdict: d.verdict, lastDrillRtoSeconds: d.rtoSeconds ?? null });
  };
  for (const a of archived) {
    const e = at(a.projectId, a.environment);
    const newer = later(e.lastVerifiedAt, a.lastSuccessAt);
    if (newer !== e.lastVerifiedAt) { e.lastVerifiedAt = newer; e.lastBackup = null; }
    if (a.lastDrill) drill(e, a.lastDrill);
  }
  for (const s of schedules) {
    const spec = s.spec?.template?.spec;
    if (!spec) continue;
    const last = s.status?.lastDrill;
    if (last) drill(at(spec.projectId, spec.environment), { ...last, completedAt: last.completionTime ?? null });
    if (s.spec?.suspend) continue;
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
      lastDrill(r, now), ...(wide ? [r.lastVerifiedAt] : [])]));
}

/** LAST-DRILL: verdict, measured restore time and age, e.g. `Passed RTO 5m12s, 3h ago`. */
function lastDrill(r: EnvironmentHealth, now: Date): string {
  if (!r.lastDrillAt || !r.lastDrillVerdict) return '-';
  return `${r.lastDrillVerdict}${r.lastDrillRtoSeconds === null ? '' : ` RTO ${formatDuration(r.lastDrillRtoSeconds)}`}, ${formatAge(r.lastDrillAt, now)} ago`;
}
