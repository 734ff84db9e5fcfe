// Writing and reading backup_history. Upserts are idempotent by resource UID: replaying a terminal
// sync any number of times, from any replica, leaves one row with the same content.
import { jsonParam, type Sql } from './db.ts';
import type { ArchiveRecord } from './records.ts';
import { migrate } from './migrate.ts';
import type { InFlightRecord } from './inFlight.ts';
import { refreshAllEnvironmentStates, refreshEnvironmentState } from './environmentState.ts';

const COLUMNS = [
  ['uid', 'uid'], ['kind', 'kind'], ['namespace', 'namespace'], ['name', 'name'], ['backup_id', 'backupId'], ['project_id', 'projectId'],
  ['environment', 'environment'], ['provider', 'provider'], ['phase', 'phase'], ['reason', 'reason'], ['message', 'message'],
  ['initiator', 'initiator'], ['started_at', 'startedAt'], ['completed_at', 'completedAt'], ['duration_seconds', 'durationSeconds'],
  ['database_bytes', 'databaseBytes'], ['dl_objects', 'dlObjects'], ['dl_bytes', 'dlBytes'], ['manifest_bucket', 'manifestBucket'],
  ['manifest_key', 'manifestKey'], ['deleted_at', 'deletedAt'], ['source', 'source'], ['dl_base', 'dlBase'],
  ['interval_seconds', 'intervalSeconds'], ['dl_missing', 'dlMissing'], ['dl_orphans', 'dlOrphans'],
  ['drill', 'drill'], ['drill_rto_seconds', 'drillRtoSeconds'], ['drill_verdict', 'drillVerdict'], ['drill_cleanup', 'drillCleanup'],
] as const satisfies ReadonlyArray<readonly [string, keyof ArchiveRecord]>;

const UPSERT = `insert into backup_history (${COLUMNS.map(([c]) => c).join(', ')}, total_bytes)
  values (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}, coalesce($16::bigint, 0) + coalesce($18::bigint, 0))
  on conflict (uid) do update set ${COLUMNS.filter(([c]) => c !== 'uid' && c !== 'deleted_at' && c !== 'source' && c !== 'dl_base' && c !== 'interval_seconds').map(([c]) => `${c} = excluded.${c}`).join(', ')},
    total_bytes = excluded.total_bytes,
    -- a deletion, once recorded, stays recorded; a cluster row is never downgraded to a manifest row
    deleted_at = coalesce(excluded.deleted_at, backup_history.deleted_at),
    dl_base = coalesce(excluded.dl_base, backup_history.dl_base),
    interval_seconds = coalesce(excluded.interval_seconds, backup_history.interval_seconds),
    source = case when backup_history.source = 'cluster' then 'cluster' else excluded.source end,
    archived_at = now()
  -- a row never changes project, and a manifest never rewrites what the cluster recorded: a planted
  -- manifest carrying another backup's UID changes nothing
  where backup_history.project_id = excluded.project_id and (backup_history.source <> 'cluster' or excluded.source = 'cluster')`;

// A stale replay never moves a row back to an earlier phase, a row never changes project, and a
// resource whose terminal row is in backup_history is not in flight any more.
const IN_FLIGHT_UPSERT = `insert into backup_in_flight (uid, kind, namespace, name, project_id, environment, provider, phase, phase_rank,
    phase_since, created_at, started_at, backoff_until, queue_position, steps, updated_at)
  select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10::timestamptz, $11::timestamptz, $12::timestamptz, $13::timestamptz, $14::integer, $15::jsonb, now()
  where not exists (select 1 from backup_history h where h.uid = $1 and h.phase in ('Succeeded', 'Failed'))
  on conflict (uid) do update set phase = excluded.phase, phase_rank = excluded.phase_rank,
    phase_since = case when backup_in_flight.phase = excluded.phase then backup_in_flight.phase_since else excluded.phase_since end,
    started_at = excluded.started_at, backoff_until = excluded.backoff_until, queue_position = excluded.queue_position, steps = excluded.steps, updated_at = now()
  where backup_in_flight.project_id = excluded.project_id and backup_in_flight.phase_rank <= excluded.phase_rank`;

/** One recovery point as the history holds it. */
export interface RecoveryPointRow {
  uid: string; namespace: string; name: string; backupId: string; environment: string; provider: string; completedAt: string;
  manifest?: { bucket: string; key: string };
  /** The history recorded the BackupRequest's deletion. */
  resourceDeleted: boolean;
  /** Known only from a manifest (rebuild-archive): whether a resource exists is unknown. */
  fromManifest: boolean;
  /** '' = a full backup, else its base's backup ID; undefined = not recorded yet. */
  dlBase?: string;
}

export class Archive {
  private readonly sql: Sql;
  private migrated: Promise<unknown> | undefined;
  constructor(sql: Sql) { this.sql = sql; }

  /** Migrations run on first use, so a database that is down at start-up delays nothing. */
  private ready(): Promise<unknown> {
    this.migrated ??= migrate(this.sql).then(() => this.backfill()).catch((e: unknown) => { this.migrated = undefined; throw e; });
    return this.migrated;
  }

  /**
   * The environment rows recomputed from the history once after migration 005, marked done only
   * when complete (a backfill cut short runs again; running twice recomputes the same rows).
   */
  private async backfill(): Promise<void> {
    const [row] = await this.sql.query<{ pending: boolean }>(`select exists (select 1 from archive_pending where task = 'environment-state') as pending`);
    if (!row?.pending) return;
    await refreshAllEnvironmentStates(this.sql);
    await this.sql.query(`delete from archive_pending where task = 'environment-state'`);
  }

  async upsert(r: ArchiveRecord): Promise<void> {
    await this.ready();
    await this.sql.query(UPSERT, COLUMNS.map(([, k]) => r[k] ?? null));
    if (r.kind === 'BackupRequest') await refreshEnvironmentState(this.sql, r.projectId, r.environment);
    // Archived rows are terminal: the resource is no longer in flight. Only the project's own row:
    // a record refused for claiming another project's UID removes nothing of that project.
    await this.sql.query('delete from backup_in_flight where uid = $1 and project_id = $2', [r.uid, r.projectId]);
  }

  /** The current state of an unfinished backup or restore (backup_in_flight). */
  async recordInFlight(r: InFlightRecord): Promise<void> {
    await this.ready();
    await this.sql.query(IN_FLIGHT_UPSERT, [r.uid, r.kind, r.namespace, r.name, r.projectId, r.environment, r.provider, r.phase, r.phaseRank,
      r.phaseSince, r.createdAt, r.startedAt, r.backoffUntil, r.queuePosition, jsonParam(r.steps)]);
  }

  /** A project's in-flight backups and restores not rewritten for `quietMinutes` (candidates to be gone without a finalize). */
  async quietInFlight(projectId: string, quietMinutes: number): Promise<Array<{ uid: string; kind: InFlightRecord['kind']; namespace: string }>> {
    await this.ready();
    return (await this.sql.query<{ uid: string; kind: InFlightRecord['kind']; namespace: string }>(`select uid, kind, namespace from backup_in_flight
      where project_id = $1 and updated_at < now() - make_interval(mins => $2)`, [projectId, quietMinutes]));
  }

  /** Forgets in-flight rows whose resource the API server no longer has (force-deleted, finalizer removed). */
  async forgetInFlight(uids: readonly string[]): Promise<void> {
    if (uids.length === 0) return;
    await this.ready();
    await this.sql.query('delete from backup_in_flight where uid = any($1::text[])', [[...uids]]);
  }

  /** The resource is gone (its data may be kept: see markDataDeleted). */
  async markDeleted(uid: string, at: string): Promise<void> {
    await this.ready();
    await this.sql.query('update backup_history set deleted_at = coalesce(deleted_at, $2) where uid = $1', [uid, at]);
    await this.sql.query('delete from backup_in_flight where uid = $1', [uid]);
  }

  /** The backup's data is gone (retention, deletionPolicy Delete): it is no longer a recovery point. */
  async markDataDeleted(uid: string, at: string): Promise<void> {
    await this.ready();
    const rows = await this.sql.query<{ project_id: string; environment: string; kind: string }>(`update backup_history
      set data_deleted_at = coalesce(data_deleted_at, $2) where uid = $1 returning project_id, environment, kind`, [uid, at]);
    // Its environment's last good backup may have been this one (the RPO metric).
    for (const r of rows) if (r.kind === 'BackupRequest') await refreshEnvironmentState(this.sql, r.project_id, r.environment);
  }

  /** Fills in an incremental base read from the manifest of a row archived before it was recorded. */
  async setBase(uid: string, base: string): Promise<void> {
    await this.ready();
    await this.sql.query('update backup_history set dl_base = $2 where uid = $1 and dl_base is null', [uid, base]);
  }

  /** A project's recovery points: verified backups whose data has not been deleted, per environment, newest first. */
  async recoveryPoints(projectId: string, limitPerEnvironment: number): Promise<RecoveryPointRow[]> {
    await this.ready();
    const rows = await this.sql.query<Record<string, unknown>>(`select * from (
        select uid, namespace, name, backup_id, environment, provider, completed_at, manifest_bucket, manifest_key, deleted_at, source, dl_base,
          row_number() over (partition by environment order by completed_at desc, uid desc) as n
        from backup_history
        where project_id = $1 and kind = 'BackupRequest' and phase = 'Succeeded' and data_deleted_at is null and completed_at is not null) r
      where n <= $2 order by environment, completed_at desc, uid desc`, [projectId, limitPerEnvironment]);
    return rows.map((r) => ({
      uid: String(r.uid), namespace: String(r.namespace), name: String(r.name), backupId: String(r.backup_id ?? ''), environment: String(r.environment),
      provider: String(r.provider), completedAt: new Date(r.completed_at as string).toISOString(),
      manifest: r.manifest_key ? { bucket: String(r.manifest_bucket), key: String(r.manifest_key) } : undefined,
      resourceDeleted: r.deleted_at !== null && r.deleted_at !== undefined, fromManifest: r.source === 'manifest',
      dlBase: r.dl_base === null || r.dl_base === undefined ? undefined : String(r.dl_base),
    }));
  }

  async get(uid: string): Promise<Record<string, unknown> | undefined> {
    await this.ready();
    return (await this.sql.query('select * from backup_history where uid = $1', [uid]))[0];
  }

  /** Runs read queries once the schema is in place. */
  async read<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    await this.ready();
    return fn(this.sql);
  }

  async count(): Promise<number> {
    await this.ready();
    return Number((await this.sql.query<{ n: string | number }>('select count(*) as n from backup_history'))[0]!.n);
  }
}
