// What the metrics report, read from the history's state (backup_history, backup_in_flight) and
// never from events: every replica, after any number of replayed syncs, reads the same numbers.
// Finished backups come from backup_environment_state (one row per environment, recomputed at
// archival: environmentState.ts), unfinished ones from backup_in_flight: three small queries.
import type { Sql } from './db.ts';
import { lastDrills, type LastDrillRow } from './drillQueries.ts';

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
  /** Each environment's newest finished DR drill (environments with a row of their own only). */
  drills: LastDrillRow[];
}

const seconds = (v: unknown) => Date.parse(new Date(v as string).toISOString()) / 1000;
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export async function readBackupState(sql: Pick<Sql, 'query'>): Promise<BackupState> {
  const [envs, inFlight, queues, drills] = await Promise.all([
    sql.query('select * from backup_environment_state'),
    sql.query(`select project_id, environment, phase, count(*) as n, min(phase_since) as oldest,
        count(*) filter (where backoff_until > now()) as backoff
      from backup_in_flight where kind = 'BackupRequest' group by project_id, environment, phase`),
    sql.query(`select project_id, count(*) as n, min(coalesce(created_at, phase_since)) as oldest
      from backup_in_flight where kind = 'BackupRequest' and phase = 'Queued' group by project_id`),
    lastDrills(sql, { projects: '*', knownEnvironments: true }),
  ]);
  const where = (r: Record<string, unknown>) => ({ projectId: String(r.project_id), environment: String(r.environment) });
  const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v ?? {}) as Record<string, number>;
  return {
    lastSuccess: envs.filter((r) => r.last_success_at).map((r) => ({
      ...where(r), completedAt: seconds(r.last_success_at), durationSeconds: num(r.last_duration_seconds), databaseBytes: num(r.last_database_bytes), dlBytes: num(r.last_dl_bytes),
    })),
    lastFailure: envs.filter((r) => r.last_failure_at).map((r) => ({ ...where(r), completedAt: seconds(r.last_failure_at) })),
    finished: envs.flatMap((r) => Object.entries(json(r.finished)).map(([k, n]) => {
      const [provider = '', phase = ''] = k.split('/');
      return { ...where(r), provider, phase, count: Number(n) };
    })),
    failures: envs.flatMap((r) => Object.entries(json(r.failures)).map(([reason, n]) => ({ ...where(r), reason, count: Number(n) }))),
    intervals: envs.filter((r) => r.interval_seconds !== null && r.interval_seconds !== undefined).map((r) => ({ ...where(r), seconds: Number(r.interval_seconds) })),
    inFlight: inFlight.map((r) => ({ projectId: String(r.project_id), environment: String(r.environment), phase: String(r.phase), count: Number(r.n), oldestPhaseSince: seconds(r.oldest), inBackoff: Number(r.backoff) })),
    queues: queues.map((r) => ({ projectId: String(r.project_id), length: Number(r.n), oldestQueuedAt: seconds(r.oldest) })),
    drills,
  };
}
