-- Lists sort by (coalesce(completed_at, epoch) desc, uid desc) for stable cursors; index exactly
-- that expression (001's plain completed_at indexes could not serve it).
create index if not exists backup_history_order on backup_history ((coalesce(completed_at, 'epoch'::timestamptz)) desc, uid desc);
create index if not exists backup_history_project_order on backup_history (project_id, (coalesce(completed_at, 'epoch'::timestamptz)) desc, uid desc);
create index if not exists backup_history_project_env_order on backup_history (project_id, environment, (coalesce(completed_at, 'epoch'::timestamptz)) desc, uid desc);
create index if not exists backup_history_project_env_phase_order on backup_history (project_id, environment, phase, (coalesce(completed_at, 'epoch'::timestamptz)) desc, uid desc);
drop index if exists backup_history_project_time;
drop index if exists backup_history_time;
