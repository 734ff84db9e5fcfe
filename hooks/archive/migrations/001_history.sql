-- One row per backup and per restore, keyed by the Kubernetes resource UID (or, when rebuilt from a
-- manifest, by the UID the manifest records). A read model: it can always be rebuilt from manifests.
create table if not exists backup_history (
  uid              text primary key,
  kind             text not null check (kind in ('BackupRequest', 'RestoreRequest')),
  namespace        text not null,
  name             text not null,
  backup_id        text,
  project_id       text not null,
  environment      text not null,
  provider         text not null,
  phase            text not null,
  reason           text,
  message          text,
  initiator        text,
  started_at       timestamptz,
  completed_at     timestamptz,
  duration_seconds double precision,
  database_bytes   bigint,
  dl_objects       bigint,
  dl_bytes         bigint,
  total_bytes      bigint,
  manifest_bucket  text,
  manifest_key     text,
  deleted_at       timestamptz,
  archived_at      timestamptz not null default now(),
  source           text not null check (source in ('cluster', 'manifest'))
);
create index if not exists backup_history_project_time on backup_history (project_id, environment, completed_at desc, uid);
create index if not exists backup_history_time on backup_history (completed_at desc, uid);
create index if not exists backup_history_phase on backup_history (phase, completed_at desc);
