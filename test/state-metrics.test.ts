// The backup metrics are derived from state (the history and the in-flight table), not counted
// from events: two hook replicas sharing one real PostgreSQL archive, every sync replayed 10 times
// and sent to alternating replicas, report the same values, and each finished backup counts once.
// Real parts: the hook servers, each Job's real command (pg_dump, zstd, rclone) on the machine's
// PostgreSQL, a directory standing in for the buckets.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { MetacontrollerDriver } from './support/driver.ts';
import { createPgCluster, type PgCluster } from './support/pgCluster.ts';
import { startReplicas, scrape, roundRobinDriver, postgresDump, API_TOKENS, type Replicas, type Sample } from './support/replicas.ts';
import { TEST_POLICY, post, startHook } from './support/inProcessHook.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Sql } from '../hooks/archive/db.ts';
import { readBackupState } from '../hooks/archive/stateQueries.ts';
import { MAX_ENVIRONMENTS_PER_PROJECT } from '../hooks/archive/environmentState.ts';
import { stateMetrics } from '../hooks/server/stateMetrics.ts';
import { backupRecord, type ArchiveRecord } from '../hooks/archive/records.ts';
import { Archive } from '../hooks/archive/store.ts';
import { uniqueName } from './support/env.ts';
import { backupRequest } from './support/resources.ts';
import { createSampleDatabase, dropDatabase, localPostgres, sampleDocumentLibrary } from '../demo/sample.ts';
import { API_VERSION } from '../hooks/contract/objects.ts';
import type { BackupRequest, BackupRequestStatus, BackupSchedule } from '../core/crd.ts';
import { decideSchedule, INTERVAL_ANNOTATION } from '../hooks/schedule/machine.ts';

let pg: PgCluster;
let replicas: Replicas;
const source = uniqueName('lc2_metrics');
const files = sampleDocumentLibrary(40);

before(async () => {
  pg = await createPgCluster();
  replicas = await startReplicas({ count: 2, archiveUrl: pg.url, policy: { ...TEST_POLICY, maxConcurrentPerProject: 1 } });
  replicas.upload('liferay-dl', files);
  createSampleDatabase(localPostgres, source, 100);
});
after(async () => {
  await replicas?.close();
  pg?.remove();
  dropDatabase(localPostgres, source);
});

const replay = async (d: MetacontrollerDriver, times = 10) => { for (let i = 0; i < times; i += 1) await d.sync(); };

/** The backup-state series (the process's own metrics and timings differ between replicas by nature). */
const stateOf = (samples: Sample[]) => samples.filter((s) => /^lc2_(backup|backups|archive_up)/.test(s.name)).map((s) => `${s.name}${JSON.stringify(s.labels)} ${s.value}`).sort();
const value = (samples: Sample[], name: string, labels: Record<string, string>) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).map((s) => s.value);

/** A backup as a BackupSchedule running at 02:00 and 14:00 creates it (with the interval annotation). */
function scheduled(name: string, spec: Parameters<typeof backupRequest>[1]): BackupRequest {
  const template = backupRequest(name, spec);
  const schedule: BackupSchedule = {
    apiVersion: API_VERSION, kind: 'BackupSchedule', metadata: { name, namespace: 'proj-retail-prd', uid: 's-1', generation: 1, creationTimestamp: '2026-11-23T00:00:00Z' },
    spec: { schedule: '0 2,14 * * *', template: { spec: template.spec! } },
  };
  const child = decideSchedule({ parent: schedule, children: [], now: Date.parse('2026-11-23T03:00:00Z') }).children[0]!;
  // As Metacontroller creates it: controlled by the schedule.
  const ownerReferences = [{ apiVersion: API_VERSION, kind: 'BackupSchedule', name, uid: 's-1', controller: true }];
  return { ...template, metadata: { ...template.metadata, annotations: child.metadata.annotations, ownerReferences } };
}

describe('state-derived backup metrics', () => {
  const good = scheduled('good', { database: postgresDump(source) });
  let goodDriver: MetacontrollerDriver;

  it('shows an in-flight backup and a queued one, the same on every replica', async () => {
    goodDriver = roundRobinDriver(replicas, good);
    await replay(goodDriver);
    const phase = goodDriver.phase!;
    assert.ok(!['Succeeded', 'Failed', 'Queued'].includes(phase), phase);
    const [a, b] = await Promise.all(replicas.urls.map(scrape));
    assert.deepEqual(value(a!, 'lc2_backups_in_flight', { project: 'retail', environment: 'prd', phase }), [1]);
    assert.deepEqual(stateOf(a!), stateOf(b!), 'both replicas report the same state');

    // A second backup of the project waits: the project may run one at a time.
    const waiting = backupRequest('waiting', { database: postgresDump(source) });
    const waitingDriver = roundRobinDriver(replicas, waiting, () => ({ [`BackupRequest.${API_VERSION}`]: { [`proj-retail-prd/${good.metadata.name}`]: goodDriver.parent } }));
    await replay(waitingDriver);
    assert.equal(waitingDriver.phase, 'Queued');
    const queued = await scrape(replicas.urls[1]!);
    assert.deepEqual(value(queued, 'lc2_backup_queue_length', { project: 'retail' }), [1]);
    assert.deepEqual(value(queued, 'lc2_backup_queue_oldest_timestamp_seconds', { project: 'retail' }), [Date.parse(waiting.metadata.creationTimestamp!) / 1000]);

    // The REST API shows both, with progress, to the project's token only.
    const inFlight = async (token: string | undefined, query = '') => {
      const res = await fetch(`${replicas.apiUrls[0]}/api/v1/in-flight${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: res.status, body: await res.json() as { items?: Array<{ uid: string; phase: string; steps: Record<string, string>; queuePosition: number | null; phaseSince: string }> } };
    };
    const listed = await inFlight(API_TOKENS.retail, '?project=retail&environment=prd');
    assert.equal(listed.status, 200);
    const byUid = new Map(listed.body.items!.map((i) => [i.uid, i]));
    const running = (goodDriver.status as BackupRequestStatus).operations ?? {};
    assert.deepEqual(byUid.get(good.metadata.uid!)?.steps, Object.fromEntries(Object.entries(running).map(([k, op]) => [k, op.state])));
    assert.equal(byUid.get(good.metadata.uid!)?.phase, phase);
    assert.deepEqual([byUid.get(waiting.metadata.uid!)?.phase, byUid.get(waiting.metadata.uid!)?.queuePosition], ['Queued', 1]);
    assert.deepEqual((await inFlight(API_TOKENS.outlet)).body.items, [], 'another project\'s token sees none of them');
    assert.equal((await inFlight(undefined)).status, 401);
    assert.equal((await inFlight(API_TOKENS.retail, '?kind=Job')).status, 400);

    // Deleted while it waits: it leaves the queue.
    waitingDriver.parent.metadata.deletionTimestamp = new Date().toISOString();
    await waitingDriver.sync(true);
    assert.deepEqual(value(await scrape(replicas.urls[0]!), 'lc2_backup_queue_length', { project: 'retail' }), []);
  });

  it('counts each finished backup once with every sync replayed 10 times, and reports its duration and sizes', async () => {
    assert.equal(await goodDriver.runToCompletion({ syncsPerStep: 10 }), 'Succeeded', JSON.stringify(goodDriver.status));
    await replay(goodDriver);
    const bad = roundRobinDriver(replicas, backupRequest('bad', { environment: 'uat', database: postgresDump(uniqueName('lc2_missing')) }));
    assert.equal(await bad.runToCompletion({ syncsPerStep: 10 }), 'Failed');
    await replay(bad);
    const reason = (bad.status as BackupRequestStatus).conditions!.find((c) => c.type === 'Ready')!.reason;

    const [a, b] = await Promise.all(replicas.urls.map(scrape));
    assert.deepEqual(stateOf(a!), stateOf(b!), 'both replicas report the same state');
    const s = goodDriver.status as BackupRequestStatus;
    const prd = { project: 'retail', environment: 'prd' };
    const uat = { project: 'retail', environment: 'uat' };
    assert.deepEqual(value(a!, 'lc2_backups_total', { ...prd, provider: 'local', phase: 'Succeeded' }), [1]);
    assert.deepEqual(value(a!, 'lc2_backups_total', { ...prd, phase: 'Failed' }), []);
    assert.deepEqual(value(a!, 'lc2_backups_total', { ...uat, provider: 'local', phase: 'Failed' }), [1]);
    assert.deepEqual(value(a!, 'lc2_backup_failures_total', { ...uat, reason }), [1]);
    assert.deepEqual(value(a!, 'lc2_backup_last_success_timestamp_seconds', prd), [Date.parse(s.completionTime!) / 1000]);
    assert.deepEqual(value(a!, 'lc2_backup_last_duration_seconds', prd), [(Date.parse(s.completionTime!) - Date.parse(s.startTime!)) / 1000]);
    assert.deepEqual(value(a!, 'lc2_backup_last_size_bytes', { ...prd, store: 'database' }), [s.database!.sizeBytes]);
    assert.deepEqual(value(a!, 'lc2_backup_last_size_bytes', { ...prd, store: 'document_library' }), [s.documentLibrary!.totalBytes]);
    assert.ok(s.database!.sizeBytes > 0 && s.documentLibrary!.totalBytes > 0);
    assert.deepEqual(value(a!, 'lc2_backup_last_success_timestamp_seconds', uat), [], 'uat never succeeded');
    assert.equal(good.metadata.annotations?.[INTERVAL_ANNOTATION], String(12 * 3600), 'the schedule records its interval on the backup');
    assert.deepEqual(value(a!, 'lc2_backup_schedule_interval_seconds', prd), [12 * 3600]);
    assert.deepEqual(value(a!, 'lc2_backup_schedule_interval_seconds', uat), [], 'a backup no schedule made has no interval');
    assert.deepEqual(value(a!, 'lc2_backup_last_failure_timestamp_seconds', uat), [Date.parse((bad.status as BackupRequestStatus).completionTime!) / 1000]);
    assert.deepEqual(value(a!, 'lc2_backups_in_flight', {}), [], 'nothing is in flight any more');
    assert.deepEqual(value(a!, 'lc2_archive_up', {}), [1]);
  });

  it('a replayed stale sync does not bring a finished backup back in flight', async () => {
    const stale = goodDriver.history.find((h) => h.phase && h.phase !== 'Pending' && h.phase !== 'Succeeded');
    assert.ok(stale, 'the driver kept an in-flight status');
    const res = await fetch(`${replicas.urls[0]}/backuprequest/sync`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...goodDriver.request(), parent: { ...goodDriver.parent, status: { ...stale, phase: 'Pending' } } }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(value(await scrape(replicas.urls[1]!), 'lc2_backups_in_flight', {}), []);
  });

  it('reports the archive down (lc2_archive_up 0) and keeps the last values while PostgreSQL is stopped', async () => {
    const before = stateOf(await scrape(replicas.urls[0]!)).filter((l) => !l.startsWith('lc2_archive_up'));
    pg.stop();
    try {
      const down = await scrape(replicas.urls[0]!);
      assert.deepEqual(value(down, 'lc2_archive_up', {}), [0]);
      assert.deepEqual(stateOf(down).filter((l) => !l.startsWith('lc2_archive_up')), before);
    } finally { pg.start(); }
    assert.deepEqual(value(await scrape(replicas.urls[0]!), 'lc2_archive_up', {}), [1]);
  });

  it('requests refused at admission in invented environments add no environment label: they count under environment="other"', async () => {
    for (const environment of ['invented-1', 'invented-2']) {
      const refused = roundRobinDriver(replicas, backupRequest(`refused-${environment}`, { environment, provider: 'no-such-provider' as 'local', database: postgresDump(source) }));
      assert.equal(await refused.runToCompletion({ syncsPerStep: 3 }), 'Failed');
      await replay(refused, 3);
    }
    // The replicas cache a read for 10 s: scrape until both have read the history since.
    const other = (s: Sample[]) => value(s, 'lc2_backups_total', { project: 'retail', environment: 'other', phase: 'Failed' }).length > 0;
    let a: Sample[] = [];
    let b: Sample[] = [];
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
      [a, b] = await Promise.all(replicas.urls.map(scrape)) as [Sample[], Sample[]];
      if (other(a) && other(b)) break;
    }
    assert.deepEqual(stateOf(a), stateOf(b), 'both replicas report the same state');
    assert.deepEqual(stateOf(a).filter((l) => l.includes('invented')), []);
    assert.deepEqual(value(a, 'lc2_backups_total', { project: 'retail', environment: 'other', phase: 'Failed' }), [2]);
    assert.deepEqual(value(a, 'lc2_backup_failures_total', { project: 'retail', environment: 'other', reason: 'InvalidSpec' }), [2]);
    assert.equal(value(a, 'lc2_backup_last_failure_timestamp_seconds', { project: 'retail', environment: 'other' }).length, 1);
    assert.deepEqual(value(a, 'lc2_backups_total', { project: 'retail', environment: 'prd', provider: 'local', phase: 'Succeeded' }), [1], 'the admitted environments keep theirs');
  });
});

describe('a hostile tenant and the metrics', () => {
  it('a request claiming another project from a namespace that is not the project\'s adds nothing to that project\'s metrics or in-flight list', async () => {
    const hook = await startReplicas({ count: 1, policy: { ...TEST_POLICY, tenancy: 'enforce' } });
    try {
      const tenant = { apiVersion: API_VERSION, kind: 'BackupTenant', metadata: { name: 'retail' }, spec: { namespaces: ['proj-retail-prd'], databaseInstances: ['127.0.0.1:5432'], documentLibraryBuckets: ['liferay-dl'], backupBuckets: ['lc2-backups'] } };
      const impostor = backupRequest('impostor', { database: postgresDump(source) });
      impostor.metadata.namespace = 'proj-outlet-prd';
      const d = roundRobinDriver(hook, impostor, () => ({ [`BackupTenant.${API_VERSION}`]: { retail: tenant } }));
      for (let i = 0; i < 3; i += 1) await d.sync();
      assert.equal(d.phase, 'Failed');
      const samples = await scrape(hook.urls[0]!);
      assert.deepEqual(stateOf(samples).filter((l) => l.includes('"project":"retail"')), []);
      const res = await fetch(`${hook.apiUrls[0]}/api/v1/in-flight`, { headers: { authorization: `Bearer ${API_TOKENS.retail}` } });
      assert.deepEqual(((await res.json()) as { items: unknown[] }).items, []);
    } finally { await hook.close(); }
  });
});

describe('in-flight rows of BackupRequests deleted without their finalizer, and of RestoreRequests deleted', () => {
  it('the BackupTenant sweep forgets them (quiet for 10 minutes, in the project\'s namespaces, gone from the API server), and nothing else', async () => {
    const sql = await connect(undefined, mkdtempSync(join(tmpdir(), 'lc2-inflight-')));
    const archive = new Archive(sql);
    const row = (uid: string, namespace: string, kind: 'BackupRequest' | 'RestoreRequest' = 'BackupRequest') => ({
      uid, kind, namespace, name: uid, projectId: 'retail', environment: 'prd', provider: 'local', phase: 'TransferInProgress',
      phaseRank: 4, phaseSince: '2026-11-23T02:00:00Z', createdAt: null, startedAt: null, backoffUntil: null, queuePosition: null, steps: {},
    });
    for (const r of [row('gone', 'proj-retail-prd'), row('alive', 'proj-retail-prd'), row('elsewhere', 'proj-bank-prd'),
      row('restore-gone', 'proj-retail-prd', 'RestoreRequest'), row('restore-alive', 'proj-retail-prd', 'RestoreRequest'),
      // a live BackupRequest's UID does not keep a restore's row, nor the reverse: each kind against its own list
      row('restore-uid-of-a-backup', 'proj-retail-prd', 'RestoreRequest')]) await archive.recordInFlight(r);
    await sql.query(`update backup_in_flight set updated_at = now() - interval '1 hour'`);
    await archive.recordInFlight(row('just-written', 'proj-retail-prd'));
    const listed: string[][] = [];
    const liveRestoreUids = async (namespaces: readonly string[]) => { listed.push([...namespaces]); return new Set(['restore-alive', 'alive']); };
    const liveBackupUids = async () => new Set(['alive', 'restore-uid-of-a-backup']);
    const hook = await startHook({ archive, liveBackupUids, liveRestoreUids, policy: { ...TEST_POLICY, tenancy: 'enforce' } });
    try {
      const tenant = { apiVersion: API_VERSION, kind: 'BackupTenant', metadata: { name: 'retail', uid: 't-1', generation: 1 }, spec: { namespaces: ['proj-retail-prd'] } };
      assert.equal((await post(`${hook.url}/backuptenant/sync`, { parent: tenant, children: {}, related: {} })).status, 200);
      const left = await sql.query<{ uid: string }>('select uid from backup_in_flight order by uid');
      assert.deepEqual(left.map((r) => r.uid), ['alive', 'elsewhere', 'just-written', 'restore-alive']);
      assert.deepEqual(listed, [['proj-retail-prd']], 'restores are listed in the project\'s namespaces only');
    } finally { await hook.close(); await sql.close(); }
  });
});

/** A finished backup's history row (the archive's own input), on PGlite. */
function finished(uid: string, over: Partial<ArchiveRecord> = {}): ArchiveRecord {
  return {
    uid, kind: 'BackupRequest', namespace: 'proj-retail-prd', name: uid, backupId: `${uid}-id`, projectId: 'retail', environment: 'prd', provider: 'local',
    phase: 'Succeeded', reason: 'BackupSucceeded', message: null, initiator: null, startedAt: '2026-11-23T01:50:00Z', completedAt: '2026-11-23T02:00:00Z',
    durationSeconds: 600, databaseBytes: 10, dlObjects: 1, dlBytes: 1, manifestBucket: 'lc2-backups', manifestKey: `${uid}/manifest.json`,
    deletedAt: null, source: 'cluster', dlBase: '', ...over,
  };
}

describe('the history\'s state rows, on PGlite', () => {
  let sql: Sql;
  let archive: Archive;
  before(async () => { sql = await connect(undefined, mkdtempSync(join(tmpdir(), 'lc2-state-'))); archive = new Archive(sql); });
  after(async () => { await sql?.close(); });
  const lastSuccess = async (projectId: string, environment: string) =>
    (await archive.read(readBackupState)).lastSuccess.filter((b) => b.projectId === projectId && b.environment === environment).map((b) => b.completedAt);

  it('a backup whose data was deleted is no longer the environment\'s last good one', async () => {
    await archive.upsert(finished('dd-old', { environment: 'dd', completedAt: '2026-11-23T02:00:00Z' }));
    await archive.upsert(finished('dd-new', { environment: 'dd', completedAt: '2026-11-23T14:00:00Z' }));
    assert.deepEqual(await lastSuccess('retail', 'dd'), [Date.parse('2026-11-23T14:00:00Z') / 1000]);
    await archive.markDataDeleted('dd-new', '2026-11-24T00:00:00Z');
    assert.deepEqual(await lastSuccess('retail', 'dd'), [Date.parse('2026-11-23T02:00:00Z') / 1000]);
    await archive.markDataDeleted('dd-old', '2026-11-24T00:00:00Z');
    assert.deepEqual(await lastSuccess('retail', 'dd'), [], 'no recovery point left: no last success');
  });

  it('the schedule interval annotation counts only on a BackupRequest a BackupSchedule controls', () => {
    const annotated = backupRequest('hand-made');
    annotated.metadata.annotations = { [INTERVAL_ANNOTATION]: '31536000' };
    assert.equal(backupRecord(annotated).intervalSeconds, null, 'a tenant\'s own request cannot set the RPO alert\'s bound');
    annotated.metadata.ownerReferences = [{ apiVersion: API_VERSION, kind: 'BackupRequest', name: 'x', uid: 'x', controller: true }];
    assert.equal(backupRecord(annotated).intervalSeconds, null);
    annotated.metadata.ownerReferences = [{ apiVersion: API_VERSION, kind: 'BackupSchedule', name: 'x', uid: 'x' }];
    assert.equal(backupRecord(annotated).intervalSeconds, null, 'an owner that is not the controller');
    annotated.metadata.ownerReferences = [{ apiVersion: API_VERSION, kind: 'BackupSchedule', name: 'x', uid: 'x', controller: true }];
    assert.equal(backupRecord(annotated).intervalSeconds, 31536000);
  });

  it('an environment gets series of its own only once a backup of it passed admission: refusals count under environment="other"', async () => {
    // Refused at admission (never started) in three invented environments of the tenant's own namespace.
    for (const [i, reason] of ['InvalidSpec', 'BucketNotAllowed', 'DatabaseNotAllowed'].entries()) {
      await archive.upsert(finished(`refused-${i}`, { projectId: 'hostile', environment: `made-up-${i}`, phase: 'Failed', reason, startedAt: null, durationSeconds: null, manifestKey: null }));
    }
    // And one whose spec named no environment at all (archived with environment '').
    await archive.upsert(finished('refused-none', { projectId: 'hostile', environment: '', phase: 'Failed', reason: 'InvalidSpec', startedAt: null, durationSeconds: null, manifestKey: null }));
    const rows = async (projectId: string) => (await sql.query<{ environment: string; failures: unknown }>(
      'select environment, failures from backup_environment_state where project_id = $1 order by environment', [projectId]))
      .map((r) => [r.environment, typeof r.failures === 'string' ? JSON.parse(r.failures) : r.failures]);
    assert.deepEqual(await rows('hostile'), [['', { InvalidSpec: 2, BucketNotAllowed: 1, DatabaseNotAllowed: 1 }]]);
    const metrics = stateMetrics(archive, 0);
    await metrics.refresh();
    const environments = (await metrics.registry.getMetricsAsJSON()).flatMap((m) => m.values.map((v) => v.labels))
      .filter((l) => l.project === 'hostile').map((l) => l.environment);
    assert.ok(environments.length > 0 && environments.every((e) => e === 'other'), environments.join());

    // A backup of one of them that passed admission (it started): that environment gets its row, with its refusal.
    await archive.upsert(finished('admitted-0', { projectId: 'hostile', environment: 'made-up-0', phase: 'Failed', reason: 'StepFailed' }));
    assert.deepEqual(await rows('hostile'), [['', { InvalidSpec: 1, BucketNotAllowed: 1, DatabaseNotAllowed: 1 }], ['made-up-0', { InvalidSpec: 1, StepFailed: 1 }]]);
  });

  it(`at most ${MAX_ENVIRONMENTS_PER_PROJECT} environments per project get rows; the rest, and a backfill, give the same answer`, async () => {
    for (let i = 0; i < MAX_ENVIRONMENTS_PER_PROJECT + 3; i += 1) {
      await archive.upsert(finished(`many-${i}`, { projectId: 'many', environment: `e${String(i).padStart(3, '0')}`, startedAt: new Date(Date.parse('2026-11-01T00:00:00Z') + i * 60_000).toISOString() }));
    }
    const state = async () => (await sql.query<{ environment: string; finished: unknown }>(
      `select environment, finished from backup_environment_state where project_id = 'many' order by environment`))
      .map((r) => [r.environment, typeof r.finished === 'string' ? JSON.parse(r.finished) : r.finished]);
    const before = await state();
    assert.equal(before.length, MAX_ENVIRONMENTS_PER_PROJECT + 1);
    assert.deepEqual(before[0], ['', { 'local/Succeeded': 3 }], 'the three over the cap count under other');
    assert.deepEqual(before.at(-1), [`e${String(MAX_ENVIRONMENTS_PER_PROJECT - 1).padStart(3, '0')}`, { 'local/Succeeded': 1 }]);
    // Migration 005 empties the table; the archive recomputes it on first use, admitted first taking the rows first.
    await sql.query('delete from backup_environment_state');
    await sql.query(`insert into archive_pending (task) values ('environment-state') on conflict do nothing`);
    await new Archive(sql).count();
    assert.deepEqual(await state(), before);
  });

  it('a record refused for claiming another project\'s UID leaves that project\'s in-flight row alone', async () => {
    await archive.recordInFlight({
      uid: 'shared-uid', kind: 'BackupRequest', namespace: 'proj-retail-prd', name: 'b', projectId: 'retail', environment: 'prd', provider: 'local',
      phase: 'TransferInProgress', phaseRank: 4, phaseSince: '2026-11-23T02:00:00Z', createdAt: null, startedAt: null, backoffUntil: null, queuePosition: null, steps: {},
    });
    await archive.upsert(finished('shared-uid', { projectId: 'outlet', namespace: 'proj-outlet-prd', phase: 'Failed' }));
    assert.deepEqual((await sql.query<{ project_id: string }>(`select project_id from backup_in_flight where uid = 'shared-uid'`)).map((r) => r.project_id), ['retail']);
  });
});
