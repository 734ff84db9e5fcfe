// Read queries of the history: filtered lists with keyset (cursor) pagination that stays stable
// while rows are inserted, one row by UID, and per project/environment summaries. Every value is a
// bind parameter; the caller's allowed projects are always part of the WHERE clause.
import type { Sql } from './db.ts';
import { lastDrills, type LastDrillRow } from './drillQueries.ts';

export interface ListFilter {
  projects: readonly string[] | '*';
  project?: string;
  environment?: string;
  provider?: string;
  phase?: string;
  kind?: string;
  from?: string;
  to?: string;
  limit: number;
  cursor?: { completedAt: string; uid: string };
}

export interface HistoryRow {
  uid: string; kind: string; namespace: string; name: string; backupId: string | null; projectId: string; environment: string;
  provider: string; phase: string; reason: string | null; message: string | null; initiator: string | null;
  startedAt: string | null; completedAt: string | null; durationSeconds: number | null; totalBytes: number | null;
  databaseBytes: number | null; documentLibraryObjects: number | null; documentLibraryBytes: number | null;
  manifest: { bucket: string; key: string } | null;
  /** Files the dumped rows refer to that the copy lacks, and copied files no row refers to (docs/recovery-points.md); null when not checked. */
  documentLibraryMissing: number | null;
  documentLibraryOrphans: number | null;
  /** When the BackupRequest was deleted; its data may have been kept (dataDeletedAt says). */
  deletedAt: string | null;
  /** When the backup's data was deleted (retention, deletionPolicy Delete). */
  dataDeletedAt: string | null;
}

const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function toRow(r: Record<string, unknown>): HistoryRow {
  return {
    uid: String(r.uid), kind: String(r.kind), namespace: String(r.namespace), name: String(r.name), backupId: (r.backup_id as string | null) ?? null,
    projectId: String(r.project_id), environment: String(r.environment), provider: String(r.provider), phase: String(r.phase),
    reason: (r.reason as string | null) ?? null, message: (r.message as string | null) ?? null, initiator: (r.initiator as string | null) ?? null,
    startedAt: iso(r.started_at), completedAt: iso(r.completed_at), durationSeconds: num(r.duration_seconds), totalBytes: num(r.total_bytes),
    databaseBytes: num(r.database_bytes), documentLibraryObjects: num(r.dl_objects), documentLibraryBytes: num(r.dl_bytes),
    documentLibraryMissing: num(r.dl_missing), documentLibraryOrphans: num(r.dl_orphans),
    manifest: r.manifest_key ? { bucket: String(r.manifest_bucket), key: String(r.manifest_key) } : null, deletedAt: iso(r.deleted_at),
    dataDeletedAt: iso(r.data_deleted_at),
  };
}

function where(f: Omit<ListFilter, 'limit' | 'cursor'>, params: unknown[]): string {
  const clauses: string[] = [];
  const add = (sql: string, value: unknown) => { params.push(value); clauses.push(sql.replace('?', `$${params.length}`)); };
  if (f.projects !== '*') add('project_id = any(?::text[])', [...f.projects]);
  if (f.project) add('project_id = ?', f.project);
  if (f.environment) add('environment = ?', f.environment);
  if (f.provider) add('provider = ?', f.provider);
  if (f.phase) add('phase = ?', f.phase);
  if (f.kind) add('kind = ?', f.kind);
  // The same expression as the sort, so the order indexes (migration 002) serve time windows too.
  if (f.from) add("coalesce(completed_at, 'epoch'::timestamptz) >= ?::timestamptz", f.from);
  if (f.to) add("coalesce(completed_at, 'epoch'::timestamptz) < ?::timestamptz", f.to);
  return clauses.length ? `where ${clauses.join(' and ')}` : '';
}

export async function listHistory(sql: Sql, f: ListFilter): Promise<{ items: HistoryRow[]; next?: { completedAt: string; uid: string } }> {
  const params: unknown[] = [];
  let filter = where(f, params);
  // Newest first; rows without completion time (never finished) sort last.
  if (f.cursor) {
    params.push(f.cursor.completedAt, f.cursor.uid);
    const c = `(coalesce(completed_at, 'epoch'::timestamptz), uid) < ($${params.length - 1}::timestamptz, $${params.length})`;
    filter = filter ? `${filter} and ${c}` : `where ${c}`;
  }
  params.push(f.limit + 1);
  const rows = await sql.query(`select * from backup_history ${filter} order by coalesce(completed_at, 'epoch'::timestamptz) desc, uid desc limit $${params.length}`, params);
  const items = rows.slice(0, f.limit).map(toRow);
  const last = items[items.length - 1];
  return rows.length > f.limit && last ? { items, next: { completedAt: last.completedAt ?? new Date(0).toISOString(), uid: last.uid } } : { items };
}

export async function getHistory(sql: Sql, uid: string, projects: readonly string[] | '*'): Promise<HistoryRow | undefined> {
  const params: unknown[] = [uid];
  const scope = projects === '*' ? '' : (params.push([...projects]), 'and project_id = any($2::text[])');
  const rows = await sql.query(`select * from backup_history where uid = $1 ${scope}`, params);
  return rows[0] ? toRow(rows[0]) : undefined;
}

export interface Summary {
  projectId: string; environment: string; backups: number; succeeded: number; failed: number; successRate: number | null;
  lastSuccessAt: string | null; totalBytes: number; averageDurationSeconds: number | null;
  /** The newest verified recovery point: Succeeded, its data still there, no referenced file missing (docs/recovery-points.md). */
  lastVerifiedAt: string | null;
  /** Its age now in seconds: what an incident would lose (RPO). */
  rpoSeconds: number | null;
  /** The environment's newest finished DR drill (docs/recovery-points.md, Scheduled drills). */
  lastDrill: Omit<LastDrillRow, 'projectId' | 'environment'> | null;
}

export async function summarize(sql: Sql, f: Pick<ListFilter, 'projects' | 'project' | 'environment'>): Promise<Summary[]> {
  const params: unknown[] = [];
  const filter = where({ ...f, kind: 'BackupRequest' }, params);
  const rows = await sql.query(`select project_id, environment, count(*) as backups,
      count(*) filter (where phase = 'Succeeded') as succeeded, count(*) filter (where phase = 'Failed') as failed,
      max(completed_at) filter (where phase = 'Succeeded') as last_success,
      coalesce(sum(total_bytes) filter (where phase = 'Succeeded' and data_deleted_at is null), 0) as total_bytes,
      avg(duration_seconds) filter (where phase = 'Succeeded') as avg_duration,
      max(completed_at) filter (where phase = 'Succeeded' and data_deleted_at is null and coalesce(dl_missing, 0) = 0) as last_verified,
      floor(extract(epoch from now() - max(completed_at) filter (where phase = 'Succeeded' and data_deleted_at is null and coalesce(dl_missing, 0) = 0))) as rpo
    from backup_history ${filter} group by project_id, environment order by project_id, environment`, params);
  const drills = new Map((await lastDrills(sql, f)).map(({ projectId, environment, ...d }) => [`${projectId}/${environment}`, d]));
  return rows.map((r) => {
    const done = Number(r.succeeded) + Number(r.failed);
    return {
      projectId: String(r.project_id), environment: String(r.environment), backups: Number(r.backups), succeeded: Number(r.succeeded),
      failed: Number(r.failed), successRate: done ? Number(r.succeeded) / done : null, lastSuccessAt: iso(r.last_success),
      totalBytes: Number(r.total_bytes), averageDurationSeconds: r.avg_duration === null ? null : Number(r.avg_duration),
      lastVerifiedAt: iso(r.last_verified), rpoSeconds: r.rpo === null ? null : Math.max(0, Number(r.rpo)),
      lastDrill: drills.get(`${String(r.project_id)}/${String(r.environment)}`) ?? null,
    };
  });
}

export interface InFlightRow {
  uid: string; kind: string; namespace: string; name: string; projectId: string; environment: string; provider: string;
  phase: string; phaseSince: string; createdAt: string | null; startedAt: string | null; backoffUntil: string | null;
  queuePosition: number | null; steps: Record<string, string>;
}

/** Unfinished backups and restores (backup_in_flight), newest first, within the caller's projects. */
export async function listInFlight(sql: Sql, f: Pick<ListFilter, 'projects' | 'project' | 'environment' | 'kind'>): Promise<InFlightRow[]> {
  const params: unknown[] = [];
  const rows = await sql.query(`select * from backup_in_flight ${where(f, params)} order by coalesce(created_at, phase_since) desc, uid desc limit 1000`, params);
  return rows.map((r) => ({
    uid: String(r.uid), kind: String(r.kind), namespace: String(r.namespace), name: String(r.name), projectId: String(r.project_id),
    environment: String(r.environment), provider: String(r.provider), phase: String(r.phase), phaseSince: iso(r.phase_since)!,
    createdAt: iso(r.created_at), startedAt: iso(r.started_at), backoffUntil: iso(r.backoff_until), queuePosition: num(r.queue_position),
    steps: (typeof r.steps === 'string' ? JSON.parse(r.steps) : r.steps ?? {}) as Record<string, string>,
  }));
}
