-- DR drills (issue 15, docs/recovery-points.md): a drill is a RestoreRequest with spec.drill, its
-- row carries drill, drill_rto_seconds and drill_verdict (the restore side's migration adds them;
-- `if not exists` here too, so this one never depends on the order the two are applied in). The
-- index serves the per-environment "last drill" reads of the REST summary, the CLI and the metrics.
alter table backup_history add column if not exists drill boolean;
alter table backup_history add column if not exists drill_rto_seconds integer;
alter table backup_history add column if not exists drill_verdict text;
create index if not exists backup_history_drills on backup_history (project_id, environment, completed_at desc, uid desc)
  where kind = 'RestoreRequest' and drill and completed_at is not null;
