// backup_environment_state: one row per project and environment with what the metrics report
// about its finished backups, recomputed from backup_history (never incremented: a replayed
// archival recomputes the same row). Under a transaction-scoped advisory lock per environment,
// so two replicas archiving backups of one environment at once cannot leave an older answer last.
import type { Sql } from './db.ts';

const ENV = `project_id = $1 and environment = $2 and kind = 'BackupRequest'`;
const REFRESH = `insert into backup_environment_state (project_id, environment, last_success_at, last_duration_seconds, last_database_bytes,
    last_dl_bytes, last_failure_at, interval_seconds, finished, failures, updated_at)
  select $1, $2, s.completed_at, s.duration_seconds, s.database_bytes, s.dl_bytes,
    (select max(completed_at) from backup_history where ${ENV} and phase = 'Failed'),
    (select interval_seconds from backup_history where ${ENV} and interval_seconds is not null order by coalesce(completed_at, archived_at) desc, uid desc limit 1),
    coalesce((select jsonb_object_agg(k, n) from (select provider || '/' || phase as k, count(*) as n from backup_history
      where ${ENV} and phase in ('Succeeded', 'Failed') group by provider, phase) c), '{}'::jsonb),
    coalesce((select jsonb_object_agg(r, n) from (select coalesce(reason, '') as r, count(*) as n from backup_history
      where ${ENV} and phase = 'Failed' group by coalesce(reason, '')) f), '{}'::jsonb),
    now()
  from (select 1) as one left join lateral (select completed_at, duration_seconds, database_bytes, dl_bytes from backup_history
    where ${ENV} and phase = 'Succeeded' and completed_at is not null and data_deleted_at is null order by completed_at desc, uid desc limit 1) s on true
  on conflict (project_id, environment) do update set last_success_at = excluded.last_success_at,
    last_duration_seconds = excluded.last_duration_seconds, last_database_bytes = excluded.last_database_bytes, last_dl_bytes = excluded.last_dl_bytes,
    last_failure_at = excluded.last_failure_at, interval_seconds = excluded.interval_seconds, finished = excluded.finished,
    failures = excluded.failures, updated_at = now()`;

export async function refreshEnvironmentState(sql: Sql, projectId: string, environment: string): Promise<void> {
  await sql.session(async (s) => {
    await s.query('begin');
    try {
      await s.query('select pg_advisory_xact_lock(hashtext($1))', [`lc2-env/${projectId}/${environment}`]);
      await s.query(REFRESH, [projectId, environment]);
      await s.query('commit');
    } catch (e) { await s.query('rollback'); throw e; }
  });
}

/** Every environment at once (the migration's backfill, `lc2-backup rebuild-archive`). */
export async function refreshAllEnvironmentStates(sql: Sql): Promise<void> {
  const envs = await sql.query<{ project_id: string; environment: string }>(`select distinct project_id, environment from backup_history where kind = 'BackupRequest'`);
  for (const e of envs) await refreshEnvironmentState(sql, e.project_id, e.environment);
}
