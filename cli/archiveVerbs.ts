// The archive and storage verbs (history, show, summary, rebuild-archive, verify, storage-policy):
// the archive is LC2_ARCHIVE_URL (PostgreSQL) or the PGlite directory LC2_ARCHIVE_DIR (default
// .lc2-archive); storage is LC2_STORAGE_URL (http(s):// or file://).
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { withArchive } from './archive.ts';
import { getHistory, listHistory, summarize } from '../hooks/archive/queries.ts';
import { rebuildFromManifests } from '../hooks/archive/rebuild.ts';
import { verifyBackup } from '../hooks/archive/verify.ts';
import { storage } from './storage.ts';
import { validateSpec } from '../core/validation/schema.ts';
import { PolicyError, storagePolicyFor } from '../providers/local/storagePolicy.ts';
import type { BackupRequest, BackupTenantSpec } from '../core/crd.ts';
import { outputFormat, str } from './args.ts';
import { serialize, type Ctx } from './context.ts';
import { Failed, Usage } from './errors.ts';
import { fields, formatAge, formatBytes, formatDuration, printable, table } from './format.ts';

const environmentOf = (ctx: Ctx) => str(ctx.values, 'env') ?? str(ctx.values, 'environment');
const scopeOf = (ctx: Ctx) => {
  const project = str(ctx.values, 'project');
  const environment = environmentOf(ctx);
  return { projects: '*' as const, ...(project ? { project } : {}), ...(environment ? { environment } : {}) };
};

export async function history(ctx: Ctx): Promise<number> {
  const format = outputFormat(ctx.values, ['json', 'yaml', 'wide'] as const);
  const limit = Number(str(ctx.values, 'limit') ?? 50);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new Usage('--limit must be 1..500');
  const phase = str(ctx.values, 'phase');
  const kind = str(ctx.values, 'kind');
  const page = await withArchive(ctx, (a) => a.read((s) => listHistory(s, { ...scopeOf(ctx), limit, ...(phase ? { phase } : {}), ...(kind ? { kind } : {}) })));
  if (format === 'json' || format === 'yaml') { ctx.out(serialize(format, page.items)); return 0; }
  if (!page.items.length) { ctx.err('No records in the archive.'); return 0; }
  const wide = format === 'wide';
  const now = ctx.now();
  ctx.out(table(['NAME', 'KIND', 'PHASE', 'PROJECT', 'ENV', 'SIZE', 'DURATION', 'COMPLETED', ...(wide ? ['NAMESPACE', 'PROVIDER', 'UID', 'MESSAGE'] : [])],
    page.items.map((r) => [r.name, r.kind === 'BackupRequest' ? 'backup' : r.kind === 'RestoreRequest' ? 'restore' : r.kind, r.phase, r.projectId, r.environment,
      r.phase === 'Succeeded' || r.totalBytes ? formatBytes(r.totalBytes) : null, formatDuration(r.durationSeconds), r.completedAt ? `${formatAge(r.completedAt, now)} ago` : '-',
      ...(wide ? [r.namespace, r.provider, r.uid, r.message] : [])])));
  return 0;
}

export async function show(ctx: Ctx): Promise<number> {
  const format = outputFormat(ctx.values, ['json', 'yaml'] as const);
  const uid = ctx.args[0];
  if (!uid || ctx.args.length > 1) throw new Usage('show takes one UID (the UID column of history -o wide)');
  const row = await withArchive(ctx, (a) => a.read((s) => getHistory(s, uid, '*')));
  if (!row) {
    if (format) ctx.out(serialize(format, { error: { code: 'NotFound', message: `no record ${uid}` } }));
    throw new Failed(`no record ${uid} in the archive: find it with ${ctx.prog} history -o wide`);
  }
  ctx.out(format ? serialize(format, row) : fields(Object.entries(row).map(([k, v]) => [k, v === null ? null : typeof v === 'object' ? JSON.stringify(v) : String(v)])));
  return 0;
}

export async function summary(ctx: Ctx): Promise<number> {
  const format = outputFormat(ctx.values, ['json', 'yaml'] as const);
  const items = await withArchive(ctx, (a) => a.read((s) => summarize(s, scopeOf(ctx))));
  if (format) { ctx.out(serialize(format, items)); return 0; }
  const now = ctx.now();
  ctx.out(table(['PROJECT', 'ENV', 'BACKUPS', 'SUCCEEDED', 'FAILED', 'SUCCESS', 'LAST-SUCCESS', 'SIZE', 'AVG-DURATION'],
    items.map((i) => [i.projectId, i.environment, i.backups, i.succeeded, i.failed, i.successRate === null ? null : `${Math.round(i.successRate * 100)}%`,
      i.lastSuccessAt ? `${formatAge(i.lastSuccessAt, now)} ago` : null, formatBytes(i.totalBytes), formatDuration(i.averageDurationSeconds)])));
  return 0;
}

export async function rebuildArchive(ctx: Ctx): Promise<number> {
  const format = outputFormat(ctx.values, ['json', 'yaml'] as const);
  const bucket = str(ctx.values, 'bucket');
  if (!bucket) throw new Usage('rebuild-archive needs --bucket');
  const store = await storage(ctx);
  const report = await withArchive(ctx, (a) => rebuildFromManifests(store, bucket, str(ctx.values, 'prefix') ?? '', a));
  ctx.out(format ? serialize(format, report) : [`found ${report.found} manifests, archived ${report.archived}, skipped ${report.skipped} other files, ${report.unparseable.length} unparseable`,
    ...report.unparseable.map((u) => `  ${printable(u.key)}: ${printable(u.problem)}`)].join('\n'));
  return report.unparseable.length ? 1 : 0;
}

/** The manifest to verify: --bucket/--manifest, or the one a BackupRequest's status names (--backup). */
async function manifestOf(ctx: Ctx): Promise<{ bucket: string; key: string }> {
  const backup = str(ctx.values, 'backup');
  const bucket = str(ctx.values, 'bucket');
  const key = str(ctx.values, 'manifest');
  if (backup) {
    if (bucket || key) throw new Usage('verify takes --backup NAME or --bucket and --manifest, not both');
    const kube = ctx.kube();
    const br = await kube.get<BackupRequest>('backuprequests', kube.namespace, backup);
    if (!br) throw new Failed(`backup ${backup} not found in namespace ${kube.namespace}: list them with ${ctx.prog} backup list -n ${kube.namespace}`);
    const m = br.status?.manifest;
    if (!m) throw new Failed(`backup ${backup} has no manifest yet (phase ${br.status?.phase ?? 'Pending'}): only a Succeeded backup can be verified`);
    return { bucket: m.bucket, key: m.key };
  }
  if (!bucket || !key) throw new Usage('verify needs --backup NAME, or --bucket and --manifest');
  return { bucket, key };
}

export async function verify(ctx: Ctx): Promise<number> {
  const format = outputFormat(ctx.values, ['json', 'yaml'] as const);
  const { bucket, key } = await manifestOf(ctx);
  const result = await verifyBackup(await storage(ctx), bucket, key);
  ctx.out(format ? serialize(format, result) : table(['CHECK', 'RESULT', 'DETAIL'], result.checks.map((c) => [c.check, c.ok ? 'ok' : 'FAILED', c.detail])));
  return result.ok ? 0 : 1;
}

/**
 * The policy for the storage key of one project (providers/local/storagePolicy.ts), from a file of
 * BackupTenants: YAML or JSON, one or several documents or a List (`kubectl get backuptenants -o
 * yaml`), "-" for stdin. --project picks one; without it the file must hold exactly one.
 */
export async function storagePolicy(ctx: Ctx): Promise<number> {
  const file = str(ctx.values, 'tenant-file');
  const project = str(ctx.values, 'project');
  if (!file) throw new Usage('storage-policy needs --tenant-file (a BackupTenant file, or - for stdin)');
  let text: string;
  try { text = readFileSync(file === '-' ? 0 : file, 'utf8'); } catch (e) { throw new Usage(`cannot read ${file}: ${(e as Error).message}`); }
  const docs = YAML.parseAllDocuments(text);
  const bad = docs.flatMap((d) => d.errors);
  if (bad.length) throw new Usage(`${file} is not YAML or JSON: ${bad[0]!.message}`);
  type Doc = { kind?: unknown; metadata?: { name?: unknown }; spec?: unknown; items?: unknown };
  const objects = docs.map((d) => d.toJS() as Doc | null).filter((o): o is Doc => !!o && typeof o === 'object')
    .flatMap((o) => (Array.isArray(o.items) ? o.items as Doc[] : [o]));
  const tenants = objects.filter((o) => o?.kind === 'BackupTenant');
  const chosen = project ? tenants.filter((t) => t.metadata?.name === project) : tenants;
  if (chosen.length !== 1) {
    if (project) throw new Failed(`${file} holds no BackupTenant named ${project}`);
    throw (tenants.length ? new Usage(`${file} holds ${tenants.length} BackupTenants: pick one with --project`) : new Failed(`${file} holds no BackupTenant`));
  }
  const tenant = chosen[0]!;
  const name = String(tenant.metadata?.name ?? '');
  const spec = validateSpec<BackupTenantSpec>('BackupTenant', tenant.spec);
  if (!spec.ok) throw new Failed(`BackupTenant ${name} is not valid: ${spec.errors.join('; ')}`);
  try {
    ctx.out(JSON.stringify(storagePolicyFor(name, spec.value), null, 2));
  } catch (e) { if (e instanceof PolicyError) throw new Failed(`BackupTenant ${name}: ${e.message}`); throw e; }
  return 0;
}
