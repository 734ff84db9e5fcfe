-- backup_environment_state gives an environment a row of its own only once one of its backups
-- passed admission, and at most 50 per project (environmentState.ts); the rest count in the
-- project's row for environment ''. Rows made before that rule are dropped here, and the archive
-- recomputes them all from backup_history on first use (Archive.backfill), until it has finished:
-- the pending task is removed only then, so a backfill cut short (a restart, a failover) runs again.
delete from backup_environment_state;
create table if not exists archive_pending (task text primary key);
insert into archive_pending (task) values ('environment-state') on conflict do nothing;
