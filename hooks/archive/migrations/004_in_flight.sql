-- Backups and restores that have not finished: one row per resource UID, rewritten only when its
-- phase, step states or backoff change, and removed when the terminal row goes into backup_history.
-- The metrics (queue, stuck phases, backoff) and the REST API's in-flight view read it, so every
-- replica reports the same state, however often Metacontroller replays a sync.
create table if not exists backup_in_flight (
  uid          text primary key,
  kind         text not null check (kind in ('BackupRequest', 'RestoreRequest')),
  namespace    text not null,
  name         text not null,
  project_id   text not null,
  environment  text not null,
  provider     text not null,
  phase        text not null,
  -- phases only move forward: a stale replay never moves a row back
  phase_rank   integer not null,
  phase_since  timestamptz not null,
  created_at   timestamptz,
  started_at   timestamptz,
  backoff_until timestamptz,
  queue_position integer,
  steps        jsonb not null default '{}'::jsonb,
  updated_at   timestamptz not null default now()
);
create index if not exists backup_in_flight_project on backup_in_flight (project_id, environment, phase);
-- A scheduled backup's schedule interval (seconds until the schedule's next run): the newest one
-- per environment is how old that environment's last good backup may get (the RPO alert).
alter table backup_history add column if not exists interval_seconds integer;
-- Per environment, what the metrics report about finished backups, recomputed from backup_history
-- whenever a backup of the environment is archived (Archive.upsert): a scrape then reads one row
-- per environment instead of grouping the whole history.
create table if not exists backup_environment_state (
  project_id            text not null,
  environment           text not null,
  last_success_at       timestamptz,
  last_duration_seconds double precision,
  last_database_bytes   bigint,
  last_dl_bytes         bigint,
  last_failure_at       timestamptz,
  interval_seconds      integer,
  finished              jsonb not null default '{}'::jsonb,
  failures              jsonb not null default '{}'::jsonb,
  updated_at            timestamptz not null default now(),
  primary key (project_id, environment)
);
