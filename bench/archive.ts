// The history at scale: list-query latency with 1,000,000 archived rows on the machine's
// PostgreSQL (goal p99 < 20 ms), and the rebuild rate from manifests in a directory store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshArchive, psql } from './pg.ts';
import { listHistory, summarize } from '../hooks/archive/queries.ts';
import { rebuildFromManifests } from '../hooks/archive/rebuild.ts';
import { buildManifest } from '../hooks/backup/manifest.ts';
import { FileObjectStore } from '../providers/shared/storage/fileStore.ts';
import { backupRequest } from '../test/support/resources.ts';

const ROWS = Number(process.env.LC2_BENCH_ARCHIVE_ROWS ?? 1_000_000);
const DB = 'lc2_bench_archive';

export async function benchArchive(): Promise<Record<string, unknown>> {
  const { sql, archive, drop } = await freshArchive(DB);
  let t0 = Date.now();
  // Loaded with psql: the hook's pool has a 5 s statement timeout, on purpose.
  psql(DB, `insert into backup_history (uid, kind, namespace, name, backup_id, project_id, environment, provider, phase, started_at, completed_at,
      duration_seconds, database_bytes, dl_objects, dl_bytes, total_bytes, manifest_bucket, manifest_key, source)
    select 'u' || i, 'BackupRequest', 'ns-p' || (i % 200), 'b-' || i, 'b-' || i, 'p' || (i % 200), (array['prd','uat','dev'])[1 + i % 3], 'local',
      case when i % 17 = 0 then 'Failed' else 'Succeeded' end,
      timestamptz '2024-01-01' + (i || ' minutes')::interval, timestamptz '2024-01-01' + (i || ' minutes')::interval + interval '9 minutes',
      540, 1000000 + i, 100, 5000000, 6000000 + i, 'lc2-backups', 'k/' || i || '/manifest.json', 'cluster'
    from generate_series(1, ${ROWS}) i`);
  psql(DB, 'analyze backup_history');
  const loadSeconds = (Date.now() - t0) / 1000;

  const projects = Array.from({ length: 200 }, (_, i) => `p${i}`);
  const timings: number[] = [];
  const kinds: Record<string, number[]> = { project: [], 'project+environment+phase': [], 'time window': [], 'page 2 via cursor': [], all: [] };
  for (let i = 0; i < 600; i += 1) {
    const project = projects[(i * 37) % 200]!;
    const variant = Object.keys(kinds)[i % 5]!;
    const start = process.hrtime.bigint();
    if (variant === 'project') await listHistory(sql, { projects: '*', project, limit: 50 });
    else if (variant === 'project+environment+phase') await listHistory(sql, { projects: [project], project, environment: 'prd', phase: 'Failed', limit: 50 });
    else if (variant === 'time window') await listHistory(sql, { projects: projects.slice(0, 20), from: '2024-06-01T00:00:00Z', to: '2024-06-08T00:00:00Z', limit: 100 });
    else if (variant === 'page 2 via cursor') {
      const first = await listHistory(sql, { projects: [project], limit: 50 });
      await listHistory(sql, { projects: [project], limit: 50, ...(first.next ? { cursor: first.next } : {}) });
    } else await listHistory(sql, { projects: '*', limit: 50 });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    timings.push(ms);
    kinds[variant]!.push(ms);
  }
  const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return +s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(2); };
  t0 = Date.now();
  await summarize(sql, { projects: ['p1'], project: 'p1' });
  const summaryMs = Date.now() - t0;

  // Rebuild rate: manifests in a directory store into an empty table.
  const root = mkdtempSync(join(tmpdir(), 'lc2-bench-manifests-'));
  const store = new FileObjectStore(root);
  const n = Number(process.env.LC2_BENCH_MANIFESTS ?? 5000);
  for (let i = 0; i < n; i += 1) {
    const br = backupRequest(`m${i}`);
    const prefix = `retail/prd/m${i}-1/`;
    const manifest = buildManifest(br, br.spec!, {
      backupId: `m${i}-1`, location: { bucket: 'lc2-backups', prefix }, startTime: '2026-11-23T02:00:00Z',
      operations: { transfer: { id: 't', state: 'Succeeded', completionTime: '2026-11-23T02:05:00Z' } },
      database: { engine: 'postgresql', format: 'f', artifact: `${prefix}db`, sizeBytes: 1, sha256: 'a'.repeat(64), tool: 't' },
      documentLibrary: { objectCount: 1, totalBytes: 1, excludedPatterns: [], tool: 't' },
    });
    await store.put('lc2-backups', `${prefix}manifest.json`, JSON.stringify(manifest));
  }
  await sql.query('truncate backup_history');
  t0 = Date.now();
  const report = await rebuildFromManifests(store, 'lc2-backups', '', archive);
  const rebuildSeconds = (Date.now() - t0) / 1000;
  rmSync(root, { recursive: true, force: true });
  await sql.close();
  drop();
  return {
    rows: ROWS, loadSeconds,
    listQueries: { count: timings.length, p50ms: pct(timings, 0.5), p99ms: pct(timings, 0.99), byKind: Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, { p50ms: pct(v, 0.5), p99ms: pct(v, 0.99) }])), goal: 'p99 < 20 ms' },
    summaryOneProjectMs: summaryMs,
    rebuild: { manifests: report.archived, seconds: rebuildSeconds, manifestsPerSecond: Math.round(report.archived / rebuildSeconds) },
  };
}

if (process.argv[1]?.endsWith('archive.ts')) console.log(JSON.stringify(await benchArchive(), null, 2));
