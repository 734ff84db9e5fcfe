// What the list and describe verbs print for BackupRequests and RestoreRequests (pure: objects and
// the clock in, text out).
import YAML from 'yaml';
import type { BackupRequest, Condition, OperationStatus, RestoreRequest } from '../core/crd.ts';
import { fields, formatAge, formatBytes, formatDuration, formatTime, secondsBetween, table, type Cell } from './format.ts';

/** Database plus document-library bytes, or undefined before either is known. */
export function backupBytes(b: BackupRequest): number | undefined {
  const db = b.status?.database?.sizeBytes;
  const dl = b.status?.documentLibrary?.totalBytes;
  return db === undefined && dl === undefined ? undefined : (db ?? 0) + (dl ?? 0);
}

/** Start to completion, or start to now while it runs. */
function elapsed(status: { startTime?: string; completionTime?: string } | undefined, now: Date): number | undefined {
  return secondsBetween(status?.startTime, status?.completionTime ?? now);
}

const ready = (conditions: Condition[] | undefined) => conditions?.find((c) => c.type === 'Ready');

export function backupTable(items: readonly BackupRequest[], now: Date, wide: boolean, withNamespace: boolean): string {
  const headers = [...(withNamespace ? ['NAMESPACE'] : []), 'NAME', 'PHASE', 'PROJECT', 'ENV', 'SIZE', 'DURATION', 'AGE',
    ...(wide ? ['PROVIDER', 'TYPE', 'BACKUP-ID', 'MESSAGE'] : [])];
  const rows = items.map((b): Cell[] => [
    ...(withNamespace ? [b.metadata.namespace] : []), b.metadata.name, b.status?.phase ?? 'Pending', b.spec?.projectId, b.spec?.environment,
    formatBytes(backupBytes(b)), formatDuration(elapsed(b.status, now)), formatAge(b.metadata.creationTimestamp, now),
    ...(wide ? [b.spec?.provider, b.spec?.database.type, b.status?.backupId, b.status?.queue ? `queued #${b.status.queue.position}: ${b.status.queue.reason}` : ready(b.status?.conditions)?.message] : []),
  ]);
  return table(headers, rows);
}

const restoreSource = (r: RestoreRequest) => r.spec?.source.backupRef?.name ?? (r.spec?.source.manifest ? `${r.spec.source.manifest.bucket}/${r.spec.source.manifest.key}` : undefined);

export function restoreTable(items: readonly RestoreRequest[], now: Date, wide: boolean, withNamespace: boolean): string {
  const headers = [...(withNamespace ? ['NAMESPACE'] : []), 'NAME', 'PHASE', 'PROJECT', 'ENV', 'BACKUP', 'DATABASE', 'DURATION', 'AGE',
    ...(wide ? ['PROVIDER', 'INSTANCE', 'PREFIX', 'MESSAGE'] : [])];
  const rows = items.map((r): Cell[] => [
    ...(withNamespace ? [r.metadata.namespace] : []), r.metadata.name, r.status?.phase ?? 'Pending', r.spec?.projectId, r.spec?.environment,
    restoreSource(r), r.spec?.database.databaseName, formatDuration(elapsed(r.status, now)), formatAge(r.metadata.creationTimestamp, now),
    ...(wide ? [r.spec?.provider, r.spec?.database.instanceId, r.spec ? `${r.spec.documentLibrary.destinationBucket}/${r.spec.documentLibrary.destinationPrefix}` : undefined, ready(r.status?.conditions)?.message] : []),
  ]);
  return table(headers, rows);
}

const indent = (text: string) => text.split('\n').map((l) => `  ${l}`).join('\n');

function operations(ops: Record<string, OperationStatus> | undefined, now: Date): string {
  const entries = Object.entries(ops ?? {});
  if (!entries.length) return '  <none>';
  return indent(table(['STEP', 'STATE', 'STARTED', 'DURATION', 'MESSAGE'], entries.map(([step, o]) => [
    step, o.attempts ? `${o.state} (retry ${o.attempts})` : o.state, o.startTime ? formatAge(o.startTime, now) + ' ago' : undefined,
    formatDuration(secondsBetween(o.startTime, o.completionTime ?? (o.state === 'Running' ? now : undefined))), o.message,
  ])));
}

function conditions(list: Condition[] | undefined, now: Date): string {
  if (!list?.length) return '  <none>';
  return indent(table(['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'], list.map((c) => [c.type, c.status, c.reason, formatAge(c.lastTransitionTime, now), c.message])));
}

function section(title: string, body: string): string { return `\n${title}:\n${body}`; }

/** With --details: the manifest as read from storage, or why it was not. */
export type ManifestRead = { manifest: unknown } | { unread: string };

export function describeBackup(b: BackupRequest, now: Date, details: boolean, read?: ManifestRead): string {
  const s = b.status ?? {};
  const spec = s.admitted?.spec ?? b.spec;
  const db = s.database;
  const dl = s.documentLibrary;
  const head = fields([
    ['Name', b.metadata.name], ['Namespace', b.metadata.namespace], ['Project', spec?.projectId], ['Environment', spec?.environment],
    ['Provider', spec?.provider], ['Initiator', spec?.initiator], ['Phase', s.phase ?? 'Pending'],
    ...(s.queue ? [['Queued', `#${s.queue.position}: ${s.queue.reason}`] as const] : []),
    ['Backup ID', s.backupId], ['Location', s.location ? `${s.location.bucket}/${s.location.prefix}` : undefined],
    ['Created', formatTime(b.metadata.creationTimestamp, now)], ['Started', formatTime(s.startTime, now)],
    ['Completed', formatTime(s.completionTime, now)], ['Duration', formatDuration(elapsed(s, now))],
    ['Retention', spec?.retentionDays ? `${spec.retentionDays}d` : 'until deleted'], ['Total size', formatBytes(backupBytes(b))],
  ]);
  const database = db
    ? fields([['Engine', db.engine], ['Format', db.format], ['Size', formatBytes(db.sizeBytes)], ['Artifact', db.artifact ?? db.snapshotId], ['SHA-256', db.sha256], ['Tool', db.tool]], '  ')
    : fields([['Type', spec?.database.type], ['Instance', spec?.database.instanceId], ['Database', spec?.database.databaseName]], '  ');
  const library = dl
    ? fields([
      ['Objects', dl.objectCount], ['Size', formatBytes(dl.totalBytes)],
      ...(dl.copiedObjects !== undefined ? [['Copied', dl.copiedObjects] as const] : []),
      ...(dl.referencedObjects !== undefined ? [['Referenced', `${dl.referencedObjects} (${formatBytes(dl.referencedBytes)}) in ${dl.base?.backupId ?? 'the base backup'}`] as const] : []),
      ['Excluded', dl.excludedPatterns.length ? dl.excludedPatterns.join(', ') : '<none>'], ['Tool', dl.tool],
    ], '  ')
    : fields([['Source', spec ? `${spec.documentLibrary.sourceBucket}/${spec.documentLibrary.sourcePrefix ?? ''}` : undefined]], '  ');
  const content = !read ? [] : 'unread' in read ? [['Content', `<${read.unread}>`] as const] : [];
  const manifest = s.manifest ? fields([['Object', `${s.manifest.bucket}/${s.manifest.key}`], ['Schema', s.manifest.schemaVersion], ...content], '  ') : '  <not written yet>';
  return [head, section('Database', database), section('Document library', library), section('Operations', operations(s.operations, now)),
    section('Conditions', conditions(s.conditions, now)), section('Manifest', manifest),
    ...(read && 'manifest' in read ? [indent(indent(YAML.stringify(read.manifest).trimEnd()))] : []),
    ...(details ? [section('Spec (as admitted)', indent(YAML.stringify(spec ?? {}).trimEnd()))] : []), ''].join('\n');
}

export function describeRestore(r: RestoreRequest, now: Date, details: boolean): string {
  const s = r.status ?? {};
  const spec = s.admitted?.spec ?? r.spec;
  const head = fields([
    ['Name', r.metadata.name], ['Namespace', r.metadata.namespace], ['Project', spec?.projectId], ['Environment', spec?.environment],
    ['Provider', spec?.provider], ['Initiator', spec?.initiator], ['Phase', s.phase ?? 'Pending'], ['From backup', restoreSource(r)],
    ['Backup ID', s.backupId], ['Created', formatTime(r.metadata.creationTimestamp, now)], ['Started', formatTime(s.startTime, now)],
    ['Completed', formatTime(s.completionTime, now)], ['Duration', formatDuration(elapsed(s, now))],
  ]);
  const database = fields([['Instance', spec?.database.instanceId], ['Database (new)', spec?.database.databaseName],
    ['Verified SHA-256', s.database?.verifiedSha256], ['Tool', s.database?.tool]], '  ');
  const library = fields([['Into', spec ? `${spec.documentLibrary.destinationBucket}/${spec.documentLibrary.destinationPrefix}` : undefined],
    ['Overwrite', spec?.approveOverwrite ? 'approved' : 'refused if not empty'],
    ['Objects', s.documentLibrary?.objectCount], ['Size', formatBytes(s.documentLibrary?.totalBytes)]], '  ');
  return [head, section('Database', database), section('Document library', library), section('Operations', operations(s.operations, now)),
    section('Conditions', conditions(s.conditions, now)),
    ...(details ? [section('Spec (as admitted)', indent(YAML.stringify(spec ?? {}).trimEnd()))] : []), ''].join('\n');
}
