-- DR drills (docs/recovery-points.md): a RestoreRequest with spec.drill, its verdict and the measured
-- RTO (seconds from its database step's start to its document-library step's end), so "last drill
-- RTO" per environment comes from history. Null for plain restores and backups; a drill's count of
-- missing referenced files is dl_missing, as for backups.
alter table backup_history add column if not exists drill boolean;
alter table backup_history add column if not exists drill_rto_seconds integer;
alter table backup_history add column if not exists drill_verdict text;
alter table backup_history add column if not exists drill_cleanup text;
create index if not exists backup_history_drills on backup_history (project_id, environment, completed_at desc) where drill;
