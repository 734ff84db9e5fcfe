// The backup history on real PostgreSQL (a cluster of the test's own, stopped and started) and on
// PGlite: migrations under an advisory lock from two processes, exactly one row per finished
// backup however often it is synced, and archival that never blocks a backup.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createServer } from 'node:http';
import { createPgCluster, type PgCluster } from './support/pgCluster.ts';
import { connect, type Sql } from '../hooks/archive/db.ts';
import { Archive } from '../hooks/archive/store.ts';
import { migrationFiles } from '../hooks/archive/migrate.ts';
import { createApp } from '../hooks/server/app.ts';
import { archiveWriteFailures } from '../hooks/server/metrics.ts';
import { backupShell, restoreShell } from '../app/registry.ts';
import { FileObjectStore } from '../providers/shared/storage/fileStore.ts';
import { TEST_POLICY, post } from './support/inProcessHook.ts';
import { backupRequest } from './support/resources.ts';
import type { BackupRequest, BackupRequestStatus } from '../core/crd.ts';

let pg: PgCluster;
before(async () => { pg = await createPgCluster(); });
after(() => { pg?.remove(); });

function succeeded(name: string): BackupRequest {
  const b = backupRequest(name);
  return {
    ...b, status: {
      phase: 'Succeeded', backupId: `${name}-1`, startTime: '2026-11-23T02:00:00Z', completionTime: '2026-11-23T02:10:00Z',
      location: { bucket: 'lc2-backups', prefix: `retail/prd/${name}-1/` }, totalSize: '1.0 KiB',
      database: { engine: 'postgresql', format: 'f', artifact: `retail/prd/${name}-1/database.pgdump.zst`, sizeBytes: 1000, sha256: 'c'.repeat(64), tool: 't' },
      documentLibrary: { objectCount: 3, totalBytes: 24, excludedPatterns: [], tool: 't' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'BackupSucceeded', message: 'done', lastTransitionTime: '2026-11-23T02:10:00Z' }],
    },
  };
}

async function hookWith(archive: Archive) {
  const store = new FileObjectStore(mkdtempSync(join(tmpdir(), 'lc2-arch-')));
  const local = { image: 'x', storage: { kind: 'file' as const, root: '/x' }, backoffLimit: 1, activeDeadlineSeconds: 60, transfers: 1 };
  const now = () => new Date().toISOString();
  const server = createServer(createApp({ backup: backupShell({ local }, store, now, TEST_POLICY, archive), restore: restoreShell({ local }, store, now, TEST_POLICY, archive) }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { url, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

/** A hook server whose archive is PostgreSQL at `url` (or PGlite in `dir`), for the length of `fn`. */
async function withArchive(fn: (ctx: { sql: Sql; archive: Archive; url: string }) => Promise<void>, where: { url: string } | { dir: string } = { url: pg.url }): Promise<void> {
  const sql = 'url' in where ? await connect(where.url) : await connect(undefined, where.dir);
  const archive = new Archive(sql);
  const hook = await hookWith(archive);
  try { await fn({ sql, archive, url: hook.url }); } finally { await hook.close(); await sql.close(); }
}

describe('archive', () => {
  it('migrations run concurrently from two processes without harm', async () => {
    const script = `import { connect } from './hooks/archive/db.ts'; import { migrate } from './hooks/archive/migrate.ts';
      const sql = await connect(process.argv[1]); console.log(JSON.stringify(await migrate(sql))); await sql.close();`;
    const run = () => promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, pg.url], { cwd: new URL('..', import.meta.url).pathname });
    const outputs = (await Promise.all([run(), run()])).map((o) => JSON.parse(o.stdout) as string[]);
    assert.deepEqual(outputs.flat().sort(), migrationFiles().map((m) => m.name).sort(), 'each migration applied by exactly one process');
    const sql = await connect(pg.url);
    const rows = await sql.query<{ version: number }>('select version from schema_migrations');
    assert.equal(rows.length, migrationFiles().length);
    await sql.close();
  });

  it('a finished backup is archived once, however often and from however many syncs', async () => {
    await withArchive(async ({ sql, archive, url: hookUrl }) => {
      const parent = succeeded('once');
      const answers = await Promise.all(Array.from({ length: 5 }, () => post(`${hookUrl}/backuprequest/sync`, { parent, children: {}, related: {} })));
      for (const a of answers) assert.equal((a.body.status as BackupRequestStatus).conditions!.find((c) => c.type === 'Archived')?.status, 'True');
      const rows = await sql.query<{ n: string }>('select count(*)::text as n from backup_history where uid = $1', [parent.metadata.uid]);
      assert.equal(rows[0]!.n, '1');
      const row = await archive.get(parent.metadata.uid!);
      assert.equal(row?.phase, 'Succeeded');
      assert.equal(Number(row?.total_bytes), 1024);
      assert.equal(Number(row?.duration_seconds), 600);
      // Once Archived=True is in status, syncs write nothing more.
      const archivedStatus = answers[0]!.body.status as BackupRequestStatus;
      await sql.query('delete from backup_history where uid = $1', [parent.metadata.uid]);
      await post(`${hookUrl}/backuprequest/sync`, { parent: { ...parent, status: archivedStatus }, children: {}, related: {} });
      assert.equal(await archive.get(parent.metadata.uid!), undefined);
    });
  });

  it('PostgreSQL down: the backup stays Succeeded with Archived=False, and is archived once it is back', async () => {
    await withArchive(async ({ archive, url: hookUrl }) => {
      const failedWrites = async () => (await archiveWriteFailures.get()).values.find((v) => v.labels.table === 'backup_history')?.value ?? 0;
      const before = await failedWrites();
      pg.stop();
      const parent = succeeded('outage');
      const down = await post(`${hookUrl}/backuprequest/sync`, { parent, children: {}, related: {} });
      const status = down.body.status as BackupRequestStatus;
      assert.equal(down.status, 200);
      assert.equal(status.phase, 'Succeeded');
      const archived = status.conditions!.find((c) => c.type === 'Archived')!;
      assert.equal(archived.status, 'False');
      assert.equal(archived.reason, 'ArchiveUnavailable');
      assert.equal(down.body.resyncAfterSeconds, 60);
      assert.equal(await failedWrites(), before + 1, 'the failed history write is counted (LC2ArchiveUnavailable alerts on its rate)');
      pg.start();
      const up = await post(`${hookUrl}/backuprequest/sync`, { parent: { ...parent, status }, children: {}, related: {} });
      assert.equal((up.body.status as BackupRequestStatus).conditions!.find((c) => c.type === 'Archived')!.status, 'True');
      assert.equal((await archive.get(parent.metadata.uid!))?.phase, 'Succeeded');
    });
  });

  it('a NUL a tenant wrote (initiator, message) does not block its row for ever: stored as U+FFFD, archived at once', async () => {
    await withArchive(async ({ archive, url: hookUrl }) => {
      const b = succeeded('nul');
      const parent: BackupRequest = { ...b, spec: { ...b.spec!, initiator: 'mallory\u0000' }, status: { ...b.status!,
        conditions: [{ type: 'Ready', status: 'True', reason: 'BackupSucceeded', message: 'done\u0000', lastTransitionTime: '2026-11-23T02:10:00Z' }] } };
      const res = await post(`${hookUrl}/backuprequest/sync`, { parent, children: {}, related: {} });
      assert.equal((res.body.status as BackupRequestStatus).conditions!.find((c) => c.type === 'Archived')?.status, 'True');
      const row = await archive.get(parent.metadata.uid!);
      assert.equal(row?.initiator, 'mallory\uFFFD');
    });
  });

  it('a backfill of the environment rows cut short (a restart) runs again on the next start, until it is complete', async () => {
    await withArchive(async ({ sql, archive, url: hookUrl }) => {
      await post(`${hookUrl}/backuprequest/sync`, { parent: succeeded('backfilled'), children: {}, related: {} });
      const rows = () => sql.query<{ n: number }>(`select count(*)::int as n from backup_environment_state where project_id = 'retail'`);
      const before = (await rows())[0]!.n;
      assert.ok(before > 0);
      // As migration 005 leaves it, with a backfill that died half-way.
      await sql.query(`delete from backup_environment_state where project_id = 'retail'`);
      await sql.query(`insert into archive_pending (task) values ('environment-state') on conflict do nothing`);
      await new Archive(sql).get('any');
      assert.equal((await rows())[0]!.n, before, 'the rows are back');
      assert.deepEqual(await sql.query(`select task from archive_pending`), [], 'and the task is done');
      void archive;
    });
  });

  it('deleting a backup records the deletion in its row', async () => {
    await withArchive(async ({ archive, url: hookUrl }) => {
      const parent = succeeded('gone');
      await post(`${hookUrl}/backuprequest/sync`, { parent, children: {}, related: {} });
      const fin = await post(`${hookUrl}/backuprequest/finalize`, { parent, children: {}, related: {}, finalizing: true });
      assert.equal(fin.body.finalized, true);
      assert.ok((await archive.get(parent.metadata.uid!))?.deleted_at);
    });
  });

  it('a finished restore is archived too, one row', async () => {
    await withArchive(async ({ sql, archive, url: hookUrl }) => {
      const { restoreRequest } = await import('./support/resources.ts');
      const rr = restoreRequest('restored', {});
      const parent = { ...rr, status: { phase: 'Failed' as const, startTime: '2026-11-23T03:00:00Z', completionTime: '2026-11-23T03:01:00Z',
        conditions: [{ type: 'Ready', status: 'False' as const, reason: 'TargetNotEmpty', message: 'database restored already has 2 tables', lastTransitionTime: '2026-11-23T03:01:00Z' }] } };
      for (let i = 0; i < 3; i += 1) await post(`${hookUrl}/restorerequest/sync`, { parent, children: {}, related: {} });
      const row = await archive.get(rr.metadata.uid!);
      assert.equal(row?.kind, 'RestoreRequest');
      assert.equal(row?.reason, 'TargetNotEmpty');
      const n = await sql.query<{ n: string }>('select count(*)::text as n from backup_history where uid = $1', [rr.metadata.uid]);
      assert.equal(n[0]!.n, '1');
    });
  });

  it('PGlite (the embedded default) holds the same history', async () => {
    await withArchive(async ({ archive, url: hookUrl }) => {
      const parent = succeeded('embedded');
      await post(`${hookUrl}/backuprequest/sync`, { parent, children: {}, related: {} });
      await post(`${hookUrl}/backuprequest/sync`, { parent, children: {}, related: {} });
      assert.equal(await archive.count(), 1);
      assert.equal((await archive.get(parent.metadata.uid!))?.backup_id, 'embedded-1');
    }, { dir: mkdtempSync(join(tmpdir(), 'lc2-pglite-')) });
  });
});

describe('rebuild from manifests', () => {
  it('1,000 manifests (plus corrupt and foreign files) rebuild the archive they came from', async () => {
    const { buildManifest } = await import('../hooks/backup/manifest.ts');
    const { backupRecord } = await import('../hooks/archive/records.ts');
    const { rebuildFromManifests } = await import('../hooks/archive/rebuild.ts');
    const root = mkdtempSync(join(tmpdir(), 'lc2-rebuild-'));
    const store = new FileObjectStore(root);
    const sql = await connect(pg.url);
    const archive = new Archive(sql);
    try {
      await sql.query('truncate backup_history').catch(() => undefined);
      for (let i = 0; i < 1000; i += 1) {
        const br = succeeded(`b${String(i).padStart(4, '0')}`);
        const status = { ...br.status!, operations: { transfer: { id: 't', state: 'Succeeded' as const, completionTime: br.status!.completionTime! } },
          manifest: { bucket: 'lc2-backups', key: `${br.status!.location!.prefix}manifest.json`, schemaVersion: 'backup.liferay.cloud/manifest/v1' } };
        const manifest = buildManifest(br, br.spec!, status);
        assert.ok(typeof manifest !== 'string');
        await store.put('lc2-backups', status.manifest.key, JSON.stringify(manifest));
        await archive.upsert(backupRecord({ ...br, status }));
      }
      await store.put('lc2-backups', 'retail/prd/broken-1/manifest.json', '{"schemaVersion": ');
      await store.put('lc2-backups', 'retail/prd/alien-1/manifest.json', '{"hello": "world"}');
      await store.put('lc2-backups', 'retail/prd/b0001-1/database.pgdump.zst', 'x');
      await store.put('lc2-backups', 'retail/prd/README.txt', 'foreign');
      const columns = 'uid, kind, namespace, name, backup_id, project_id, environment, provider, phase, reason, initiator, started_at, completed_at, duration_seconds, database_bytes, dl_objects, dl_bytes, total_bytes, manifest_bucket, manifest_key';
      const before = await sql.query(`select ${columns} from backup_history order by uid`);
      await sql.query('truncate backup_history');
      const report = await rebuildFromManifests(store, 'lc2-backups', 'retail/', archive);
      assert.equal(report.found, 1002);
      assert.equal(report.archived, 1000);
      assert.equal(report.skipped, 2);
      assert.deepEqual(report.unparseable.map((u) => u.key).sort(), ['retail/prd/alien-1/manifest.json', 'retail/prd/broken-1/manifest.json']);
      const after = await sql.query(`select ${columns} from backup_history order by uid`);
      assert.equal(after.length, 1000);
      assert.deepEqual(after, before);
      const again = await rebuildFromManifests(store, 'lc2-backups', 'retail/', archive);
      assert.equal(again.archived, 1000);
      assert.equal(await archive.count(), 1000, 'idempotent');
    } finally { await sql.close(); }
  });
});
