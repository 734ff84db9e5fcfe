-- DR drills (issue 15, docs/recovery-points.md): a drill is a RestoreRequest with spec.drill; its
-- row carries drill, drill_rto_seconds and drill_verdict, which the restore side's migration
-- (007_drills.sql, with the index the per-environment "last drill" reads use) adds. `if not exists`
-- here too, so the schedule side's reads (REST summary, CLI, metrics) never depend on the order
-- the two are applied in.
alter table backup_history add column if not exists drill boolean;
alter table backup_history add column if not exists drill_rto_seconds integer;
alter table backup_history add column if not exists drill_verdict text;
