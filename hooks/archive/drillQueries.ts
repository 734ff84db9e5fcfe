// Per environment, the last DR drill from the history: the newest finished RestoreRequest with
// spec.drill (its row's drill, drill_rto_seconds, drill_verdict) and when a drill last passed.
// One read (the index of migration 007); the caller's allowed projects are part of the WHERE clause.
import type { Sql } from './db.ts';

export interface LastDrillRow {
  projectId: string;
  environment: string;
  name: string;
  completedAt: string;
  /** Passed or Failed; a drill restore that ended without a verdict (it failed before the check) is Failed. */
  verdict: 'Passed' | 'Failed';
  rtoSeconds: number | null;
  /** The newest drill of the environment that passed (this one or an earlier one). */
  lastPassedAt: string | null;
}

export interface DrillFilter {
  projects: readonly string[] | '*'; project?: string; environment?: string;
  /** Only environments with a row of their own in backup_environment_state (bounded metric labels: environmentState.ts). */
  knownEnvironments?: boolean;
}

const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());

export async function lastDrills(sql: Pick<Sql, 'query'>, f: DrillFilter): Promise<LastDrillRow[]> {
  const params: unknown[] = [];
  const clauses = [`kind = 'RestoreRequest'`, 'drill', 'completed_at is not null'];
  const add = (clause: string, value: unknown) => { params.push(value); clauses.push(clause.replace('?', `$${params.length}`)); };
  if (f.projects !== '*') add('project_id = any(?::text[])', [...f.projects]);
  if (f.project) add('project_id = ?', f.project);
  if (f.environment) add('environment = ?', f.environment);
  if (f.knownEnvironments) clauses.push(`exists (select 1 from backup_environment_state s where s.project_id = h.project_id and s.environment = h.environment and s.environment <> '')`);
  const where = clauses.join(' and ');
  const rows = await sql.query(`select distinct on (project_id, environment) project_id, environment, name, completed_at, drill_rto_seconds, drill_verdict,
      (select max(p.completed_at) from backup_history p where p.kind = 'RestoreRequest' and p.drill and p.completed_at is not null
        and p.project_id = h.project_id and p.environment = h.environment and p.drill_verdict = 'Passed') as last_passed
    from backup_history h where ${where} order by project_id, environment, completed_at desc, uid desc`, params);
  return rows.map((r) => ({
    projectId: String(r.project_id), environment: String(r.environment), name: String(r.name), completedAt: iso(r.completed_at)!,
    verdict: r.drill_verdict === 'Passed' ? 'Passed' : 'Failed',
    rtoSeconds: r.drill_rto_seconds === null || r.drill_rto_seconds === undefined ? null : Number(r.drill_rto_seconds),
    lastPassedAt: iso(r.last_passed),
  }));
}
