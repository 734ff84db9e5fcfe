// RPO and the last DR drill per environment, from the real PostgreSQL history: the REST summary
// (tenant-scoped), the metrics lc2_drill_* (bounded labels) and the CLI status rows. Drill rows
// are RestoreRequest rows with drill, drill_rto_seconds and drill_verdict, as the restore's archival writes them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createPgCluster, type PgCluster } from './support/pgCluster.ts';
import { connect, type Sql } from '../hooks/archive/db.ts';
import { Archive } from '../hooks/archive/store.ts';
import { createApiApp } from '../hooks/server/app.ts';
import { staticTokens } from '../hooks/rest/router.ts';
import { stateMetrics } from '../hooks/server/stateMetrics.ts';
import { summarize } from '../hooks/archive/queries.ts';
import { environmentHealth, healthTable } from '../cli/health.ts';
import type { ArchiveRecord } from '../hooks/archive/records.ts';
import type { BackupSchedule } from '../core/crd.ts';
import { backupRequest } from './support/resources.ts';

let pg: PgCluster;
let sql: Sql;
let archive: Archive;
let server: Server;
let base = '';
const TOKENS = { 'retail-token': ['retail'], 'admin-token': '*' as const };
const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-20T00:00:00Z');
const at = (h: number) => new Date(T0 + h * HOUR).toISOString();

function row(uid: string, over: Partial<ArchiveRecord>): ArchiveRecord {
  return {
    uid, kind: 'BackupRequest', namespace: 'proj-retail-prd', name: uid, backupId: uid, projectId: 'retail', environment: 'prd', provider: 'local',
    phase: 'Succeeded', reason: null, message: null, initiator: 'schedule', startedAt: at(0), completedAt: at(1), durationSeconds: 600,
    databaseBytes: 1000, dlObjects: 2, dlBytes: 24, manifestBucket: 'lc2-backups', manifestKey: `k/${uid}/manifest.json`, deletedAt: null,
    source: 'cluster', dlBase: '', ...over,
  };
}

/** A finished drill restore as the history holds it (the restore side writes the drill columns). */
async function drillRow(uid: string, projectId: string, environment: string, completedHour: number, verdict: 'Passed' | 'Failed' | null, rto: number | null): Promise<void> {
  await archive.upsert(row(uid, {
    kind: 'RestoreRequest', projectId, environment, namespace: `proj-${projectId}-${environment}`, phase: verdict === 'Passed' ? 'Succeeded' : 'Failed',
    startedAt: at(completedHour - 1), completedAt: at(completedHour), manifestKey: null, manifestBucket: null, dlBase: null,
    drill: true, drillVerdict: verdict, drillRtoSeconds: rto, drillCleanup: 'Done',
  }));
}

before(async () => {
  pg = await createPgCluster();
  sql = await connect(pg.url);
  archive = new Archive(sql);
  // retail/prd: the newest backup is inconsistent (missing files), the one before has its data deleted, the one before that is the verified one.
  await archive.upsert(row('b-1', { completedAt: at(10) }));
  await archive.upsert(row('b-2', { completedAt: at(20) }));
  await archive.upsert(row('b-3', { completedAt: at(30), dlMissing: 2, dlOrphans: 0 }));
  await archive.upsert(row('b-4', { completedAt: at(40), phase: 'Failed' }));
  // Data deletion is recorded apart from the row (retention): set it as the sweep would.
  await sql.query('update backup_history set data_deleted_at = $2 where uid = $1', ['b-2', at(31)]);
  // retail/prd drills: passed at 12h, failed at 36h (newest); a plain restore at 50h is no drill.
  await drillRow('d-1', 'retail', 'prd', 12, 'Passed', 312);
  await drillRow('d-2', 'retail', 'prd', 36, 'Failed', null);
  await archive.upsert(row('r-plain', { kind: 'RestoreRequest', completedAt: at(50), manifestKey: null, manifestBucket: null, dlBase: null }));
  // outlet/prd: one backup, one passed drill (another project: a retail token never sees it).
  await archive.upsert(row('o-1', { projectId: 'outlet', namespace: 'proj-outlet-prd', completedAt: at(5) }));
  await drillRow('o-d1', 'outlet', 'prd', 6, 'Passed', 95);
  // retail/ghost: a drill restore in an environment that never had a backup admitted: no metric label of its own.
  await drillRow('g-d1', 'retail', 'ghost', 7, 'Passed', 1);
  server = createServer(createApiApp({ archive, authenticate: staticTokens(JSON.stringify(TOKENS)) }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1`;
});
after(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await sql?.close();
  pg?.remove();
});

async function get(path: string, token = 'admin-token'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}
type SummaryItem = { projectId: string; environment: string; lastSuccessAt: string; lastVerifiedAt: string | null; rpoSeconds: number | null; lastDrill: Record<string, unknown> | null };

describe('RPO and last drill per environment', () => {
  it('REST /summary: RPO is the age of the newest verified backup; the last drill with its verdict, RTO and the last pass', async () => {
    const before = Date.now();
    const items = (await get('/summary?project=retail&environment=prd')).body.items as SummaryItem[];
    const after = Date.now();
    assert.equal(items.length, 1);
    const s = items[0]!;
    assert.equal(s.lastSuccessAt, at(30), 'the newest Succeeded backup, inconsistent or not');
    assert.equal(s.lastVerifiedAt, at(10), 'neither the inconsistent one nor the one whose data is gone');
    const age = (t: number) => Math.floor((t - Date.parse(at(10))) / 1000);
    assert.ok(s.rpoSeconds! >= age(before) - 1 && s.rpoSeconds! <= age(after) + 1, `rpoSeconds ${s.rpoSeconds} is the verified backup's age`);
    assert.deepEqual(s.lastDrill, { name: 'd-2', completedAt: at(36), verdict: 'Failed', rtoSeconds: null, lastPassedAt: at(12) });
  });

  it('a token sees only its projects\' drills; an environment without drills has none', async () => {
    const retail = (await get('/summary', 'retail-token')).body.items as SummaryItem[];
    assert.deepEqual(retail.map((i) => `${i.projectId}/${i.environment}`), ['retail/prd']);
    const all = (await get('/summary')).body.items as SummaryItem[];
    assert.deepEqual(all.find((i) => i.projectId === 'outlet')!.lastDrill, { name: 'o-d1', completedAt: at(6), verdict: 'Passed', rtoSeconds: 95, lastPassedAt: at(6) });
    await archive.upsert(row('u-1', { environment: 'uat', namespace: 'proj-retail-uat', completedAt: at(3) }));
    const uat = (await get('/summary?project=retail&environment=uat', 'retail-token')).body.items as SummaryItem[];
    assert.equal(uat[0]!.lastDrill, null);
    assert.equal((await get('/summary?environment=PRD')).status, 400, 'validated like the other queries');
  });

  it('metrics: lc2_drill_* per environment with a row of its own, never a label for a drill-only environment', async () => {
    const m = stateMetrics(archive, 0);
    await m.refresh();
    const text = await m.registry.metrics();
    const line = (metric: string, project: string, environment: string) => text.split('\n').find((l) => l.startsWith(`${metric}{project="${project}",environment="${environment}"}`))?.split(' ')[1];
    assert.equal(line('lc2_drill_last_timestamp_seconds', 'retail', 'prd'), String(Date.parse(at(36)) / 1000));
    assert.equal(line('lc2_drill_last_passed', 'retail', 'prd'), '0');
    assert.equal(line('lc2_drill_last_success_timestamp_seconds', 'retail', 'prd'), String(Date.parse(at(12)) / 1000));
    assert.equal(line('lc2_drill_rto_seconds', 'retail', 'prd'), undefined, 'the failed drill measured no RTO');
    assert.equal(line('lc2_drill_rto_seconds', 'outlet', 'prd'), '95');
    assert.equal(line('lc2_drill_last_passed', 'outlet', 'prd'), '1');
    assert.ok(!text.includes('environment="ghost"'), 'no label for an environment without a backup row');
  });

  it('CLI status: LAST-DRILL from the archive and from the schedules\' status, the newer one wins', async () => {
    const archived = await archive.read((s) => summarize(s, { projects: '*', project: 'retail', environment: 'prd' }));
    const now = new Date(T0 + 40 * HOUR);
    const rows = environmentHealth([], [], archived, now);
    assert.deepEqual(rows.map((r) => [r.lastDrill, r.lastDrillVerdict, r.lastDrillRtoSeconds, r.lastDrillAt]), [['d-2', 'Failed', null, at(36)]]);
    assert.match(healthTable(rows, now, false), /Failed, 4h ago/);
    const schedule: BackupSchedule = {
      apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupSchedule', metadata: { name: 'nightly', namespace: 'proj-retail-prd' },
      spec: { schedule: '0 * * * *', template: { spec: backupRequest('x').spec! } },
      status: { lastDrill: { name: 'nightly-drill-1', verdict: 'Passed', rtoSeconds: 151, completionTime: at(38) } },
    };
    const live = environmentHealth([], [schedule], archived, now);
    assert.deepEqual(live.map((r) => [r.lastDrill, r.lastDrillVerdict, r.lastDrillRtoSeconds]), [['nightly-drill-1', 'Passed', 151]]);
    assert.match(healthTable(live, now, false), /Passed RTO 2m31s, 120m ago/);
  });
});
