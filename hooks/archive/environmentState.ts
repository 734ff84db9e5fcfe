// backup_environment_state: one row per project and environment with what the metrics report
// about its finished backups, recomputed from backup_history (never incremented: a replayed
// archival recomputes the same row). Under a transaction-scoped advisory lock per project, so two
// replicas archiving backups of one project at once cannot leave an older answer last, nor both
// take the project's last free environment.
//
// Bounded labels (docs/metrics.md): spec.environment is any DNS label, so an environment gets a
// row of its own only once one of its backups passed admission (started_at is set only then) and
// while the project has fewer than MAX_ENVIRONMENTS_PER_PROJECT. Every other backup - refused at
// admission (InvalidSpec, BucketNotAllowed, tenancy) in an environment with no row, or of an
// environment over the cap - counts in the project's one OTHER row (environment '').
import type { Sql } from './db.ts';

export const MAX_ENVIRONMENTS_PER_PROJECT = 50;
/** The key of a project's row for every backup whose environment has no row (not a DNS label: no environment can have it). */
export const OTHER_ENVIRONMENT = '';

type Query = Pick<Sql, 'query'>;

const OWN = `project_id = $1 and environment = $2 and kind = 'BackupRequest'`;
// $3: the project's environments without a row (named, so the project's index serves every subquery).
const OTHER = `project_id = $1 and environment = any($3::text[]) and kind = 'BackupRequest'`;
const WITHOUT_ROW = `select distinct environment from backup_history h where project_id = $1 and kind = 'BackupRequest'
  and not exists (select 1 from backup_environment_state s where s.project_id = $1 and s.environment = h.environment and s.environment <> '')`;

/** The row's recomputation over the history rows `rows` selects ($1 project, $2 the row's environment). */
const refresh = (rows: string, interval: boolean) => `insert into backup_environment_state (project_id, environment, last_success_at, last_duration_seconds, last_database_bytes,
    last_dl_bytes, last_failure_at, interval_seconds, finished, failures, updated_at)
  select $1, $2, s.completed_at, s.duration_seconds, s.database_bytes, s.dl_bytes,
    (select max(completed_at) from backup_history where ${rows} and phase = 'Failed'),
    ${interval ? `(select interval_seconds from backup_history where ${rows} and interval_seconds is not null order by coalesce(completed_at, archived_at) desc, uid desc limit 1)` : 'null::integer'},
    coalesce((select jsonb_object_agg(k, n) from (select provider || '/' || phase as k, count(*) as n from backup_history
      where ${rows} and phase in ('Succeeded', 'Failed') group by provider, phase) c), '{}'::jsonb),
    coalesce((select jsonb_object_agg(r, n) from (select coalesce(reason, '') as r, count(*) as n from backup_history
      where ${rows} and phase = 'Failed' group by coalesce(reason, '')) f), '{}'::jsonb),
    now()
  from (select 1) as one left join lateral (select completed_at, duration_seconds, database_bytes, dl_bytes from backup_history
    where ${rows} and phase = 'Succeeded' and completed_at is not null and data_deleted_at is null order by completed_at desc, uid desc limit 1) s on true
  on conflict (project_id, environment) do update set last_success_at = excluded.last_success_at,
    last_duration_seconds = excluded.last_duration_seconds, last_database_bytes = excluded.last_database_bytes, last_dl_bytes = excluded.last_dl_bytes,
    last_failure_at = excluded.last_failure_at, interval_seconds = excluded.interval_seconds, finished = excluded.finished,
    failures = excluded.failures, updated_at = now()`;
// The OTHER row mixes environments: no schedule interval, so no RPO alert on it.
const REFRESH_OWN = refresh(OWN, true);
const REFRESH_OTHER = refresh(OTHER, false);

/** Whether the environment has a row, or gets one now: one of its backups passed admission and the project is under the cap. */
async function ownRow(s: Query, projectId: string, environment: string): Promise<'existing' | 'new' | 'none'> {
  const [row] = await s.query<{ existing: boolean; started: boolean; rows: string | number }>(`select
      exists (select 1 from backup_environment_state where project_id = $1 and environment = $2) as existing,
      exists (select 1 from backup_history where ${OWN} and started_at is not null) as started,
      (select count(*) from backup_environment_state where project_id = $1 and environment <> '') as rows`, [projectId, environment]);
  if (row?.existing) return 'existing';
  return row?.started && Number(row.rows) < MAX_ENVIRONMENTS_PER_PROJECT ? 'new' : 'none';
}

/** `other: false` leaves the project's OTHER row to the caller (the backfill refreshes it once per project). */
export async function refreshEnvironmentState(sql: Sql, projectId: string, environment: string, { other = true } = {}): Promise<void> {
  await sql.session(async (s) => {
    await s.query('begin');
    try {
      await s.query('select pg_advisory_xact_lock(hashtext($1))', [`lc2-env/${projectId}`]);
      const own = environment === OTHER_ENVIRONMENT ? 'none' : await ownRow(s, projectId, environment);
      if (own !== 'none') await s.query(REFRESH_OWN, [projectId, environment]);
      // A new row takes the environment's earlier refusals out of OTHER.
      if (own !== 'existing' && other) {
        const without = (await s.query<{ environment: string }>(WITHOUT_ROW, [projectId])).map((r) => r.environment);
        await s.query(REFRESH_OTHER, [projectId, OTHER_ENVIRONMENT, without]);
      }
      await s.query('commit');
    } catch (e) { await s.query('rollback'); throw e; }
  });
}

/** Every environment at once (the migration's backfill, `lc2-backup rebuild-archive`), those admitted first taking the rows first. */
export async function refreshAllEnvironmentStates(sql: Sql): Promise<void> {
  const envs = await sql.query<{ project_id: string; environment: string }>(`select project_id, environment from backup_history
    where kind = 'BackupRequest' group by project_id, environment order by project_id, min(started_at) nulls last, environment`);
  for (const [i, e] of envs.entries()) {
    await refreshEnvironmentState(sql, e.project_id, e.environment, { other: false });
    if (envs[i + 1]?.project_id !== e.project_id) await refreshEnvironmentState(sql, e.project_id, OTHER_ENVIRONMENT);
  }
}
