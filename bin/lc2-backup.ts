#!/usr/bin/env node
// lc2-backup: the backup history and backup checks from a terminal.
//   history [--project P] [--environment E] [--phase Ph] [--limit N]   list backups and restores
//   show UID                                                          one record
//   summary [--project P] [--environment E]                           per project/environment
//   rebuild-archive --bucket B [--prefix P]                           rebuild the history from manifests
//   verify --bucket B --manifest KEY                                  check artifacts against a manifest
//   storage-policy --tenant-file F [--project P]                      the S3 policy of a project's storage key
// Options: -o json (machine output; storage-policy always prints JSON). The archive is
// LC2_ARCHIVE_URL (PostgreSQL) or the PGlite directory LC2_ARCHIVE_DIR (default .lc2-archive);
// storage is LC2_STORAGE_URL (http(s):// or file://).
// Exit codes: 0 done, 1 not found, verification failed or no safe policy, 2 usage error, 3 unavailable.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { connect } from '../hooks/archive/db.ts';
import { Archive } from '../hooks/archive/store.ts';
import { getHistory, listHistory, summarize } from '../hooks/archive/queries.ts';
import { rebuildFromManifests } from '../hooks/archive/rebuild.ts';
import { verifyBackup } from '../hooks/archive/verify.ts';
import { storeFor } from '../app/main.ts';
import { loadConfig } from '../app/config.ts';
import { validateSpec } from '../core/validation/schema.ts';
import { PolicyError, storagePolicyFor } from '../providers/local/storagePolicy.ts';
import type { BackupTenantSpec } from '../core/crd.ts';

class Usage extends Error {}
/** Exit 1: what was asked for is not there or cannot be done safely. */
class Failed extends Error {}

/**
 * The policy for the storage key of one project (providers/local/storagePolicy.ts), from a file of
 * BackupTenants: YAML or JSON, one or several documents or a List (`kubectl get backuptenants -o
 * yaml`), "-" for stdin. --project picks one; without it the file must hold exactly one.
 */
function storagePolicyCommand(file: string | undefined, project: string | undefined): string {
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
    return JSON.stringify(storagePolicyFor(name, spec.value), null, 2);
  } catch (e) { if (e instanceof PolicyError) throw new Failed(`BackupTenant ${name}: ${e.message}`); throw e; }
}

function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}

export async function run(argv: string[], out: (s: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      output: { type: 'string', short: 'o' }, project: { type: 'string' }, environment: { type: 'string' }, phase: { type: 'string' },
      limit: { type: 'string' }, bucket: { type: 'string' }, prefix: { type: 'string' }, manifest: { type: 'string' },
      'tenant-file': { type: 'string' },
    },
  });
  const [command, arg] = positionals;
  const json = values.output === 'json';
  if (values.output !== undefined && !json) throw new Usage('-o takes json');
  const print = (data: unknown, human: () => string) => out(json ? JSON.stringify(data, null, 2) : human());

  if (command === 'storage-policy') {
    out(storagePolicyCommand(values['tenant-file'], values.project));
    return 0;
  }
  if (command === 'verify') {
    if (!values.bucket || !values.manifest) throw new Usage('verify needs --bucket and --manifest');
    const result = await verifyBackup(await storeFor(loadConfig(env)), values.bucket, values.manifest);
    print(result, () => table(result.checks.map((c) => ({ ...c, ok: c.ok ? 'ok' : 'FAILED' })), ['check', 'ok', 'detail']));
    return result.ok ? 0 : 1;
  }
  if (!['history', 'show', 'summary', 'rebuild-archive'].includes(command ?? '')) throw new Usage(`unknown command "${command ?? ''}"`);
  const sql = await connect(env.LC2_ARCHIVE_URL, env.LC2_ARCHIVE_DIR ?? '.lc2-archive');
  const archive = new Archive(sql);
  try {
    if (command === 'rebuild-archive') {
      if (!values.bucket) throw new Usage('rebuild-archive needs --bucket');
      const report = await rebuildFromManifests(await storeFor(loadConfig(env)), values.bucket, values.prefix ?? '', archive);
      print(report, () => [`found ${report.found} manifests, archived ${report.archived}, skipped ${report.skipped} other files, ${report.unparseable.length} unparseable`,
        ...report.unparseable.map((u) => `  ${u.key}: ${u.problem}`)].join('\n'));
      return report.unparseable.length ? 1 : 0;
    }
    if (command === 'show') {
      if (!arg) throw new Usage('show needs a UID');
      const row = await archive.read((s) => getHistory(s, arg, '*'));
      if (!row) { out(json ? JSON.stringify({ error: { code: 'NotFound', message: `no record ${arg}` } }) : `no record ${arg}`); return 1; }
      print(row, () => Object.entries(row).map(([k, v]) => `${k.padEnd(22)} ${v === null ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('\n'));
      return 0;
    }
    const scope = { projects: '*' as const, ...(values.project ? { project: values.project } : {}), ...(values.environment ? { environment: values.environment } : {}) };
    if (command === 'summary') {
      const items = await archive.read((s) => summarize(s, scope));
      print(items, () => table(items.map((i) => ({ ...i, successRate: i.successRate === null ? null : `${Math.round(i.successRate * 100)}%` })),
        ['projectId', 'environment', 'backups', 'succeeded', 'failed', 'successRate', 'lastSuccessAt', 'totalBytes', 'averageDurationSeconds']));
      return 0;
    }
    const limit = Number(values.limit ?? 50);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new Usage('--limit must be 1..500');
    const page = await archive.read((s) => listHistory(s, { ...scope, limit, ...(values.phase ? { phase: values.phase } : {}) }));
    print(page.items, () => table(page.items as unknown as Array<Record<string, unknown>>, ['completedAt', 'projectId', 'environment', 'kind', 'name', 'phase', 'totalBytes', 'durationSeconds', 'uid']));
    return 0;
  } finally { await sql.close(); }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  run(process.argv.slice(2), (s) => console.log(s)).then((code) => process.exit(code), (e: unknown) => {
    const usage = e instanceof Usage || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    console.error(`lc2-backup: ${(e as Error).message}${usage ? '\nusage: lc2-backup history|show UID|summary|rebuild-archive --bucket B|verify --bucket B --manifest KEY|storage-policy --tenant-file F [--project P] [-o json]' : ''}`);
    process.exit(usage ? 2 : e instanceof Failed ? 1 : 3);
  });
}
