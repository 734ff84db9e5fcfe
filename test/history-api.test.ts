// The history REST API on real PostgreSQL: filters, cursor pagination that stays stable while rows
// are inserted, tenant isolation (also by ID), clear 400s, and injection attempts that change nothing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createPgCluster, type PgCluster } from './support/pgCluster.ts';
import { connect, type Sql } from '../hooks/archive/db.ts';
import { Archive } from '../hooks/archive/store.ts';
import { createApiApp } from '../hooks/server/app.ts';
import { staticTokens } from '../hooks/api/router.ts';
import type { ArchiveRecord } from '../hooks/archive/records.ts';

let pg: PgCluster;
let sql: Sql;
let archive: Archive;
let server: Server;
let base = '';
const TOKENS = { 'retail-token': ['retail'], 'admin-token': '*' as const, 'two-token': ['retail', 'outlet'] };

function record(i: number, over: Partial<ArchiveRecord> = {}): ArchiveRecord {
  const completed = new Date(Date.parse('2026-11-01T00:00:00Z') + i * 3_600_000).toISOString();
  return {
    uid: `uid-${String(i).padStart(4, '0')}`, kind: 'BackupRequest', namespace: 'proj-retail-prd', name: `b-${i}`, backupId: `b-${i}-x`,
    projectId: i % 3 === 0 ? 'outlet' : 'retail', environment: i % 2 === 0 ? 'prd' : 'uat', provider: 'local', phase: i % 10 === 0 ? 'Failed' : 'Succeeded',
    reason: null, message: null, initiator: 'schedule', startedAt: new Date(Date.parse(completed) - 600_000).toISOString(), completedAt: completed,
    durationSeconds: 600, databaseBytes: 1000, dlObjects: 2, dlBytes: 24, manifestBucket: 'lc2-backups', manifestKey: `k/${i}/manifest.json`,
    deletedAt: null, source: 'cluster', ...over,
  };
}

before(async () => {
  pg = await createPgCluster();
  sql = await connect(pg.url);
  archive = new Archive(sql);
  for (let i = 0; i < 120; i += 1) await archive.upsert(record(i));
  server = createServer(createApiApp({ archive, authenticate: staticTokens(JSON.stringify(TOKENS)) }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await sql.close();
  pg.remove();
});

async function get(path: string, token = 'admin-token'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}
type Item = { uid: string; projectId: string; environment: string; phase: string; completedAt: string };

describe('history REST API', () => {
  it('lists newest first with filters', async () => {
    const all = await get('/backups?limit=500');
    const items = all.body.items as Item[];
    assert.equal(items.length, 120);
    assert.ok(items.every((x, i) => i === 0 || x.completedAt <= items[i - 1]!.completedAt));
    const failedRetailPrd = (await get('/backups?project=retail&environment=prd&phase=Failed&limit=500')).body.items as Item[];
    assert.ok(failedRetailPrd.length > 0);
    assert.ok(failedRetailPrd.every((x) => x.projectId === 'retail' && x.environment === 'prd' && x.phase === 'Failed'));
    const window = (await get('/backups?from=2026-11-02T00:00:00Z&to=2026-11-03T00:00:00Z&limit=500')).body.items as Item[];
    assert.equal(window.length, 24);
  });

  it('cursor pagination is stable while rows are inserted', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let inserted = 0;
    do {
      const page = await get(`/backups?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(page.status, 200);
      seen.push(...(page.body.items as Item[]).map((x) => x.uid));
      cursor = page.body.nextCursor as string | undefined;
      // Newer backups arrive while paging: they must not shift what the next pages return.
      await archive.upsert(record(1000 + inserted, { uid: `new-${inserted}` }));
      inserted += 1;
    } while (cursor);
    assert.equal(seen.length, 120);
    assert.equal(new Set(seen).size, 120, 'no row twice');
    assert.ok(seen.every((u) => u.startsWith('uid-')), 'rows inserted during paging are newer than the cursor');
  });

  it('a token sees only its projects, also through IDs and summaries', async () => {
    const retail = (await get('/backups?limit=500', 'retail-token')).body.items as Item[];
    assert.ok(retail.length > 0 && retail.every((x) => x.projectId === 'retail'));
    assert.deepEqual((await get('/backups?project=outlet&limit=500', 'retail-token')).body.items, []);
    const outletUid = 'uid-0003';
    assert.equal((await get(`/backups/${outletUid}`, 'admin-token')).status, 200);
    const hidden = await get(`/backups/${outletUid}`, 'retail-token');
    assert.equal(hidden.status, 404);
    assert.deepEqual(Object.keys(hidden.body), ['error']);
    const summary = (await get('/summary', 'retail-token')).body.items as Array<{ projectId: string; successRate: number; totalBytes: number }>;
    assert.deepEqual([...new Set(summary.map((s) => s.projectId))], ['retail']);
    assert.equal((await get('/backups', '')).status, 401);
    assert.equal((await get('/backups', 'forged')).status, 401);
  });

  it('summary per project/environment', async () => {
    const items = (await get('/summary?project=retail&environment=uat')).body.items as Array<Record<string, unknown>>;
    assert.equal(items.length, 1);
    const s = items[0]!;
    assert.equal(s.projectId, 'retail');
    assert.equal(s.averageDurationSeconds, 600);
    assert.equal(s.totalBytes, Number(s.succeeded) * 1024);
    assert.equal(s.successRate, 1, 'no uat backup failed');
    const prd = ((await get('/summary?project=retail&environment=prd')).body.items as Array<Record<string, unknown>>)[0]!;
    assert.equal(prd.successRate, (prd.succeeded as number) / (prd.backups as number));
    assert.ok((prd.failed as number) > 0, 'some prd backups failed');
    assert.equal(prd.succeeded as number + (prd.failed as number), prd.backups);
  });

  const bad: Array<[string, RegExp]> = [
    ['/backups?limit=0', /query\.limit: must be >= 1/],
    ['/backups?limit=abc', /query\.limit: must be integer/],
    ['/backups?phase=Exploded', /query\.phase: "Exploded" is not one of/],
    ['/backups?from=yesterday', /query\.from: must match format "date-time"/],
    ['/backups?colour=blue', /query\.colour: unknown field/],
    ['/backups?cursor=abc', /query\.cursor: not a cursor this API returned/],
    ['/backups?project=a&project=b', /each query parameter may be given once/],
    ['/backups/..%2f..%2fetc', /path\.uid: must be a resource UID/],
  ];
  for (const [path, message] of bad) {
    it(`GET ${path} → 400 with a clear message`, async () => {
      const res = await get(path);
      assert.equal(res.status, 400);
      assert.equal((res.body.error as { code: string }).code, 'BadRequest');
      assert.match((res.body.error as { message: string }).message, message);
    });
  }

  it('SQL injection attempts in every parameter change nothing', async () => {
    const before = await archive.count();
    const attempts = ["retail' or '1'='1", "x'; drop table backup_history; --", 'retail) or (1=1'];
    for (const a of attempts) {
      for (const p of ['project', 'environment', 'provider', 'phase', 'kind', 'from', 'to', 'cursor', 'limit']) {
        const res = await get(`/backups?${p}=${encodeURIComponent(a)}`, 'retail-token');
        assert.ok(res.status === 400 || (res.status === 200 && (res.body.items as unknown[]).length === 0), `${p}=${a} → ${res.status}`);
      }
      const byId = await get(`/backups/${encodeURIComponent(a)}`, 'retail-token');
      assert.ok(byId.status === 400 || byId.status === 404);
    }
    assert.equal(await archive.count(), before);
    assert.equal((await sql.query('select 1 from backup_history limit 1')).length, 1, 'the table is still there');
  });

  it('serves its OpenAPI document', async () => {
    const doc = (await get('/openapi.json')).body as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, '3.0.3');
    assert.deepEqual(Object.keys(doc.paths).sort(), ['/api/v1/backups', '/api/v1/backups/{uid}', '/api/v1/restores', '/api/v1/summary']);
  });
});
