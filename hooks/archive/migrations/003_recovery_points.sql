-- A recovery point outlives its resource (deleted with Retain) until retention deletes its data:
-- deleted_at says when the resource went, data_deleted_at when its data did. dl_base is an
-- incremental backup's base (its backup ID), '' for a full backup, null where not yet known (rows
-- archived before this migration: the retention sweep reads their manifest once and fills it in).
alter table backup_history add column if not exists data_deleted_at timestamptz;
alter table backup_history add column if not exists dl_base text;
create index if not exists backup_history_recovery_points on backup_history (project_id, environment, completed_at desc)
  where kind = 'BackupRequest' and phase = 'Succeeded' and data_deleted_at is null;
