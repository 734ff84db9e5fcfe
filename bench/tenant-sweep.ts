// The BackupTenant retention sweep at the size of a real platform: a history of 200 projects × 5
// environments × 90 days of nightly backups plus ad-hoc ones (~117k rows) on real PostgreSQL; one
// project's recovery points written to a file store as backups write them (data, dl/, manifest),
// 70% of them no longer governed by a BackupRequest. Printed: the history query, a sweep with
// nothing due, and the first sweeps of `keepDaily: 30` (deletions per 5 s budget, syncs to drain).
// `node bench/tenant-sweep.ts` (about a minute; not part of the tests).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPgCluster } from '../test/support/pgCluster.ts';
import { connect } from '../hooks/archive/db.ts';
import { Archive } from '../hooks/archive/store.ts';
import { backupRecord } from '../hooks/archive/records.ts';
import { buildManifest, MANIFEST_SCHEMA_VERSION, type Manifest } from '../hooks/backup/manifest.ts';
import { syncTenant } from '../hooks/tenant/sync.ts';
import { backupShell, DEFAULT_POLICY } from '../app/registry.ts';
import { FileObjectStore } from '../providers/shared/storage/fileStore.ts';
import { backupRequest } from '../test/support/resources.ts';
import type { BackupRequest, BackupTenant, BackupTenantStatus } from '../core/crd.ts';

const PROJECTS = 200;
const ENVIRONMENTS = ['prd', 'uat', 'dev', 'qa', 'stg'];
const DAYS = 90;
const DAY = 86_400_000;
const now = Date.now();

const pg = await createPgCluster();
const sql = await connect(pg.url);
const archive = new Archive(sql);
const root = mkdtempSync(join(tmpdir(), 'lc2-sweep-bench-'));
const store = new FileObjectStore(root);
const live = new Set<string>();
let rows = 0;
let started = Date.now();
for (let p = 0; p < PROJECTS; p += 1) {
  const batch: Promise<void>[] = [];
  for (const env of ENVIRONMENTS) {
    for (let d = 0; d < DAYS; d += 1) {
      for (const adhoc of d % 3 === 0 ? [false, true] : [false]) {
        const name = `${adhoc ? 'manual' : 'nightly'}-${env}-${d}`;
        const br = backupRequest(name, { projectId: `p${p}`, environment: env });
        br.metadata.namespace = `proj-p${p}-${env}`;
        const backupId = `${name}-${br.metadata.uid!.replace(/-/g, '').slice(0, 8)}`;
        const location = { bucket: 'lc2-backups', prefix: `p${p}/${env}/${backupId}/` };
        const at = new Date(now - d * DAY - (adhoc ? 3_600_000 : 0)).toISOString();
        const status: BackupRequest['status'] = {
          phase: 'Succeeded', backupId, location, startTime: at, completionTime: at,
          database: { engine: 'postgresql', format: 'pg_dump-custom+zstd', artifact: `${location.prefix}database.pgdump.zst`, sizeBytes: 4, sha256: 'a'.repeat(64), tool: 'pg_dump' },
          documentLibrary: { objectCount: 1, totalBytes: 1, excludedPatterns: [], tool: 'rclone' },
          operations: { transfer: { id: 't', state: 'Succeeded', completionTime: at } },
          manifest: { bucket: 'lc2-backups', key: `${location.prefix}manifest.json`, schemaVersion: MANIFEST_SCHEMA_VERSION },
        };
        const done = { ...br, status };
        const governed = (d * 7 + ENVIRONMENTS.indexOf(env)) % 10 < 3; // 30% still have their BackupRequest
        batch.push((async () => {
          await archive.upsert(backupRecord(done, governed ? null : at));
          if (governed) live.add(br.metadata.uid!);
          if (p === 0) {
            await store.put('lc2-backups', `${location.prefix}database.pgdump.zst`, 'dump');
            await store.put('lc2-backups', `${location.prefix}dl/document_library/1/2/a/1.0`, 'x');
            await store.put('lc2-backups', status.manifest!.key, `${JSON.stringify(buildManifest(done, done.spec!, status) as Manifest, null, 2)}\n`);
          }
        })());
        rows += 1;
      }
    }
  }
  await Promise.all(batch);
}
console.log(`history: ${rows} rows in ${((Date.now() - started) / 1000).toFixed(0)} s`);

const shell = { ...backupShell({ local: { image: 'x', storage: { kind: 'file' as const, root }, backoffLimit: 1, activeDeadlineSeconds: 60, transfers: 1 } }, store, () => new Date().toISOString(), DEFAULT_POLICY, archive),
  liveBackupUids: async () => live };
const tenant = (retention?: NonNullable<BackupTenant['spec']>['retention'], status?: BackupTenantStatus): BackupTenant => ({
  apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupTenant', metadata: { name: 'p0', uid: 't', generation: 1 },
  spec: { namespaces: ENVIRONMENTS.map((e) => `proj-p0-${e}`), backupBuckets: ['lc2-backups'], ...(retention ? { retention } : {}) }, ...(status ? { status } : {}),
});
const sync = async (t: BackupTenant) => {
  const t0 = performance.now();
  const out = await syncTenant({ parent: t, children: {}, related: {} } as never, shell);
  return { ms: performance.now() - t0, status: out.status as BackupTenantStatus };
};

started = performance.now();
await archive.recoveryPoints('p0', 5000);
console.log(`history query for one project (of ${rows} rows): ${(performance.now() - started).toFixed(1)} ms`);
const idle = await sync(tenant());
console.log(`sweep with no policy: ${idle.ms.toFixed(0)} ms, ${idle.status.environments!.reduce((n, e) => n + e.recoveryPoints, 0)} points, ${idle.status.environments!.reduce((n, e) => n + e.ungoverned, 0)} ungoverned`);
let status: BackupTenantStatus | undefined;
for (let i = 1; i <= 20; i += 1) {
  const r = await sync(tenant({ default: { keepDaily: 30 } }));
  const expiring = r.status.environments!.reduce((n, e) => n + e.expiring, 0);
  console.log(`sweep ${i} (keepDaily 30): ${r.ms.toFixed(0)} ms, expired so far ${r.status.expiredTotal ?? 0}, still expiring ${expiring}`);
  status = { ...r.status, expiredTotal: (status?.expiredTotal ?? 0) + (r.status.expiredTotal ?? 0) };
  if (expiring === 0) break;
}
const settled = await sync(tenant({ default: { keepDaily: 30 } }));
console.log(`settled: ${settled.status.environments!.map((e) => `${e.name} ${e.recoveryPoints}`).join(', ')} points; a further sweep ${settled.ms.toFixed(0)} ms`);
await sql.close();
pg.remove();
