// What the metrics report, read from the history's state (backup_history, backup_in_flight) and
// never from events: every replica, after any number of replayed syncs, reads the same numbers.
// Grouped per project and environment (the cardinality docs/metrics.md bounds), one query each.
import type { Sql } from './db.ts';

export interface LastBackup { projectId: string; environment: string; completedAt: number; durationSeconds: number | null; databaseBytes: number | null; dlBytes: number | null }
export interface LastFailure { projectId: string; environment: string; completedAt: number }
export interface PhaseCount { projectId: string; environment: string; provider: string; phase: string; count: number }
export interface ReasonCount { projectId: string; environment: string; reason: string; count: number }
export interface InFlightGroup { projectId: string; environment: string; phase: string; count: number; oldestPhaseSince: number; inBackoff: number }
export interface Interval { projectId: string; environment: string; seconds: number }
export interface QueueGroup { projectId: string; length: number; oldestQueuedAt: number }

export interface BackupState {
  lastSuccess: LastBackup[];
  lastFailure: LastFailure[];
  finished: PhaseCount[];
  failures: ReasonCount[];
  inFlight: InFlightGroup[];
  queues: QueueGroup[];
  /** The schedule interval recorded on each environment's newest scheduled backup. */
  intervals: Interval[];
}

const seconds = (v: unknown) => Date.parse(new Date(v as string).toISOString()) / 1000;
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

const LAST = (phase: string) => `select distinct on (project_id, environment) project_id, environment, completed_at, duration_seconds, database_bytes, dl_bytes
  from backup_history where kind = 'BackupRequest' and phase = '${phase}' and completed_at is not null
  order by project_id, environment, completed_at desc, uid desc`;

export async function readBackupState(sql: Pick<Sql, 'query'>): Promise<BackupState> {
  const [success, failure, finished, failures, inFlight, queues, intervals] = await Promise.all([
    sql.query(LAST('Succeeded')),
    sql.query(LAST('Failed')),
    sql.query(`select project_id, environment, provider, phase, count(*) as n from backup_history
      where kind = 'BackupRequest' and phase in ('Succeeded', 'Failed') group by project_id, environment, provider, phase`),
    sql.query(`select project_id, environment, coalesce(reason, '') as reason, count(*) as n from backup_history
      where kind = 'BackupRequest' and phase = 'Failed' group by project_id, environment, coalesce(reason, '')`),
    sql.query(`select project_id, environment, phase, count(*) as n, min(phase_since) as oldest,
        count(*) filter (where backoff_until > now()) as backoff
      from backup_in_flight where kind = 'BackupRequest' group by project_id, environment, phase`),
    sql.query(`select project_id, count(*) as n, min(coalesce(created_at, phase_since)) as oldest
      from backup_in_flight where kind = 'BackupRequest' and phase = 'Queued' group by project_id`),
    sql.query(`select distinct on (project_id, environment) project_id, environment, interval_seconds from backup_history
      where kind = 'BackupRequest' and interval_seconds is not null order by project_id, environment, coalesce(completed_at, archived_at) desc, uid desc`),
  ]);
  const last = (r: Record<string, unknown>): LastBackup => ({
    projectId: String(r.project_id), environment: String(r.environment), completedAt: seconds(r.completed_at),
    durationSeconds: num(r.duration_seconds), databaseBytes: num(r.database_bytes), dlBytes: num(r.dl_bytes),
  });
  return {
    lastSuccess: success.map(last),
    lastFailure: failure.map((r) => ({ projectId: String(r.project_id), environment: String(r.environment), completedAt: seconds(r.completed_at) })),
    finished: finished.map((r) => ({ projectId: String(r.project_id), environment: String(r.environment), provider: String(r.provider), phase: String(r.phase), count: Number(r.n) })),
    failures: failures.map((r) => ({ projectId: String(r.project_id), environment: String(r.environment), reason: String(r.reason), count: Number(r.n) })),
    inFlight: inFlight.map((r) => ({ projectId: String(r.project_id), environment: String(r.environment), phase: String(r.phase), count: Number(r.n), oldestPhaseSince: seconds(r.oldest), inBackoff: Number(r.backoff) })),
    queues: queues.map((r) => ({ projectId: String(r.project_id), length: Number(r.n), oldestQueuedAt: seconds(r.oldest) })),
    intervals: intervals.map((r) => ({ projectId: String(r.project_id), environment: String(r.environment), seconds: Number(r.interval_seconds) })),
  };
}
