// One retention policy per environment over all its recovery points (hooks/backup/environmentRetention.ts),
// property-tested over random histories: scheduled and manual backups, Argo CD PreSync backups
// replaced by BeforeHookCreation, resources deleted with Retain, incremental chains.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { retentionPolicy } from './support/retentionPolicy.ts';
import { pointsToExpire, policyFor, type RecoveryPoint } from '../hooks/backup/environmentRetention.ts';
import type { BackupRequest, BackupRequestStatus, BackupTenant, BackupTenantSpec, BackupTenantStatus } from '../core/crd.ts';
import { createPgCluster, type PgCluster } from './support/pgCluster.ts';
import { connect } from '../hooks/archive/db.ts';
import { Archive } from '../hooks/archive/store.ts';
import { backupRecord, manifestRecord } from '../hooks/archive/records.ts';
import { buildManifest, MANIFEST_SCHEMA_VERSION, type Manifest } from '../hooks/backup/manifest.ts';
import { API_VERSION } from '../hooks/contract/objects.ts';
import { DEFAULT_POLICY } from '../app/registry.ts';
import { post, startHook } from './support/inProcessHook.ts';
import { backupRequest } from './support/resources.ts';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const NOW_ISO = new Date().toISOString();
const DAY = 86_400_000;

/** How a recovery point came to be, and whether its resource still exists. */
const origin = fc.constantFrom('scheduled', 'scheduled-of-deleted-schedule', 'manual', 'manual-deleted-retain', 'presync-replaced', 'rebuilt-from-manifest');
const GOVERNED = new Set(['scheduled', 'manual']);

const history: fc.Arbitrary<RecoveryPoint[]> = fc.array(fc.record({
  ageMinutes: fc.integer({ min: 0, max: 400 * 24 * 60 }), origin, incrementalOf: fc.option(fc.nat({ max: 40 }), { nil: undefined }),
}), { maxLength: 40 }).map((rows) => rows.map((r, i): RecoveryPoint => ({
  uid: `uid-${i}`, backupId: `b-${i}`, completedAt: NOW - r.ageMinutes * 60_000, governed: GOVERNED.has(r.origin),
  // An incremental refers to an older full backup of the same environment.
  ...(r.incrementalOf !== undefined && r.incrementalOf < i && rows[r.incrementalOf]!.ageMinutes > r.ageMinutes ? { baseBackupId: `b-${r.incrementalOf}` } : {}),
})));

const policy = retentionPolicy;

const newestOf = (ps: RecoveryPoint[]) => [...ps].sort((a, b) => b.completedAt - a.completedAt || a.uid.localeCompare(b.uid))[0];

describe('environment retention over all recovery points (property-based)', () => {
  it('never chooses the environment\'s newest verified backup', () => {
    fc.assert(fc.property(history, policy, (ps, p) => {
      const newest = newestOf(ps);
      return !newest || !pointsToExpire(ps, p, NOW).some((d) => d.uid === newest.uid);
    }), { numRuns: 1000 });
  });

  it('never chooses a backup a BackupRequest still governs (its own policy decides)', () => {
    fc.assert(fc.property(history, policy, (ps, p) => pointsToExpire(ps, p, NOW).every((d) => !d.governed)), { numRuns: 1000 });
  });

  it('never chooses the base of an incremental backup that stays', () => {
    fc.assert(fc.property(history, policy, (ps, p) => {
      const gone = new Set(pointsToExpire(ps, p, NOW).map((d) => d.backupId));
      return ps.every((x) => gone.has(x.backupId) || !x.baseBackupId || !gone.has(x.baseBackupId));
    }), { numRuns: 1000 });
  });

  it('a second pass over what is left chooses nothing more (the sweep converges)', () => {
    fc.assert(fc.property(history, policy, (ps, p) => {
      const gone = new Set(pointsToExpire(ps, p, NOW).map((d) => d.uid));
      return pointsToExpire(ps.filter((x) => !gone.has(x.uid)), p, NOW).length === 0;
    }), { numRuns: 500 });
  });

  it('keepLast N: the N newest points (live or not) are never chosen, and with only keepLast every other ungoverned point is', () => {
    fc.assert(fc.property(history, fc.integer({ min: 1, max: 8 }), (ps, n) => {
      const byAge = [...ps].sort((a, b) => b.completedAt - a.completedAt || a.uid.localeCompare(b.uid));
      const kept = new Set(byAge.slice(0, n).map((x) => x.uid));
      const gone = new Set(pointsToExpire(ps, { keepLast: n }, NOW).map((d) => d.uid));
      const bases = new Set(ps.filter((x) => !gone.has(x.uid) && x.baseBackupId).map((x) => x.baseBackupId));
      return byAge.every((x) => kept.has(x.uid) ? !gone.has(x.uid) : gone.has(x.uid) === (!x.governed && !bases.has(x.backupId)));
    }), { numRuns: 500 });
  });

  it('maxAgeDays alone chooses only points older than that', () => {
    fc.assert(fc.property(history, fc.integer({ min: 1, max: 365 }), (ps, days) =>
      pointsToExpire(ps, { maxAgeDays: days }, NOW).every((d) => NOW - d.completedAt > days * DAY)), { numRuns: 500 });
  });

  it('without a policy nothing is chosen, whatever the history', () => {
    fc.assert(fc.property(history, (ps) => pointsToExpire(ps, undefined, NOW).length === 0 && pointsToExpire(ps, {}, NOW).length === 0), { numRuns: 200 });
  });

  it('an environment\'s own policy wins over the tenant default', () => {
    const retention = { default: { keepLast: 3 }, environments: { prd: { keepDaily: 30 } } };
    assert.deepEqual(policyFor(retention, 'prd'), { keepDaily: 30 });
    assert.deepEqual(policyFor(retention, 'uat'), { keepLast: 3 });
    assert.equal(policyFor(undefined, 'uat'), undefined);
  });
});

// The sweep itself, through the hook's HTTP endpoint: real PostgreSQL history, the local provider's
// store, recovery points written as a backup writes them (data, dl/, manifest), and the API
// server's answer about which BackupRequests still exist played by `readParent`.
describe('the BackupTenant sweep (real PostgreSQL history, file store)', () => {
  let pg: PgCluster;
  before(async () => { pg = await createPgCluster(); });
  after(() => { pg?.remove(); });

  interface Point { name: string; env: string; hoursAgo: number; base?: string; governed: boolean; rebuilt?: boolean }

  async function setUp(points: Point[]) {
    const sql = await connect(pg.url);
    await sql.query('drop table if exists backup_history, schema_migrations');
    const archive = new Archive(sql);
    const existing = new Map<string, BackupRequest>();
    const readParent = async (claimed: BackupRequest) => existing.get(`${claimed.metadata.namespace}/${claimed.metadata.name}`);
    // The API server's list of BackupRequests in the project's namespaces, by UID.
    const liveBackupUids = async (namespaces: readonly string[]) => new Set([...existing.values()].filter((b) => namespaces.includes(b.metadata.namespace ?? '')).map((b) => b.metadata.uid!));
    const hook = await startHook({ archive, readParent, liveBackupUids, policy: DEFAULT_POLICY });
    const made = new Map<string, { br: BackupRequest; manifest: Manifest; key: string }>();
    for (const p of points) {
      const br = backupRequest(p.name, { environment: p.env, documentLibrary: { sourceBucket: 'liferay-dl', destinationBucket: 'lc2-backups', incremental: !!p.base } });
      const backupId = `${p.name}-${br.metadata.uid!.replace(/-/g, '').slice(0, 8)}`;
      const location = { bucket: 'lc2-backups', prefix: `retail/${p.env}/${backupId}/` };
      const completed = new Date(Date.parse(NOW_ISO) - p.hoursAgo * 3_600_000).toISOString();
      const base = p.base ? made.get(p.base)!.manifest : undefined;
      const status: BackupRequestStatus = {
        phase: 'Succeeded', backupId, location, startTime: completed, completionTime: completed,
        database: { engine: 'postgresql', format: 'pg_dump-custom+zstd', artifact: `${location.prefix}database.pgdump.zst`, sizeBytes: 5, sha256: 'a'.repeat(64), tool: 'pg_dump' },
        documentLibrary: { objectCount: 1, totalBytes: 3, excludedPatterns: [], tool: 'rclone', ...(base ? { base: { backupId: base.backupId, prefix: base.documentLibrary.prefix } } : {}) },
        operations: { transfer: { id: `${p.name}-t`, state: 'Succeeded', completionTime: completed } },
        manifest: { bucket: 'lc2-backups', key: `${location.prefix}manifest.json`, schemaVersion: MANIFEST_SCHEMA_VERSION },
      };
      const manifest = buildManifest(br, br.spec!, status) as Manifest;
      await hook.store.put('lc2-backups', `${location.prefix}database.pgdump.zst`, 'dump!', 'application/octet-stream');
      await hook.store.put('lc2-backups', `${location.prefix}dl/document_library/1/2/a.txt`, 'abc', 'text/plain');
      await hook.store.put('lc2-backups', status.manifest!.key, `${JSON.stringify(manifest, null, 2)}\n`, 'application/json');
      const br2 = { ...br, status };
      await archive.upsert(p.rebuilt ? manifestRecord(manifest, 'lc2-backups', status.manifest!.key) : backupRecord(br2));
      if (!p.governed && !p.rebuilt) await archive.markDeleted(br.metadata.uid!, NOW_ISO);
      if (p.governed) existing.set(`${br.metadata.namespace}/${br.metadata.name}`, br2);
      made.set(p.name, { br: br2, manifest, key: status.manifest!.key });
    }
    const files = async (name: string) => (await hook.store.list('lc2-backups', made.get(name)!.manifest.location.prefix)).map((o) => o.key);
    const close = async () => { await hook.close(); await sql.close(); };
    return { hook, archive, made, files, close, existing };
  }

  const tenant = (retention: BackupTenantSpec['retention'], status?: BackupTenantStatus): BackupTenant => ({
    apiVersion: API_VERSION, kind: 'BackupTenant', metadata: { name: 'retail', uid: 't-1', generation: 1 },
    spec: { namespaces: ['proj-retail-prd'], backupBuckets: ['lc2-backups'], documentLibraryBuckets: ['liferay-dl'], databaseInstances: ['127.0.0.1:5432'], ...(retention ? { retention } : {}) },
    ...(status ? { status } : {}),
  });
  const sweep = async (url: string, t: BackupTenant, related: Record<string, Record<string, unknown>> = {}) => {
    const res = await post(`${url}/backuptenant/sync`, { parent: t, children: {}, related });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as { status: BackupTenantStatus; resyncAfterSeconds?: number };
  };

  it('deletes only what no BackupRequest governs, beyond keepLast, never a kept incremental\'s base nor the newest', async () => {
    const s = await setUp([
      { name: 'p1', env: 'prd', hoursAgo: 100, governed: false },
      { name: 'p2', env: 'prd', hoursAgo: 90, governed: false },
      { name: 'p3', env: 'prd', hoursAgo: 80, governed: true },
      { name: 'p4', env: 'prd', hoursAgo: 70, governed: false, base: 'p1' },
      { name: 'p5', env: 'prd', hoursAgo: 60, governed: false },
      { name: 'presync', env: 'prd', hoursAgo: 95, governed: false, rebuilt: true },
      { name: 'u1', env: 'uat', hoursAgo: 500, governed: false },
    ]);
    try {
      const before = new Map(await Promise.all([...s.made.keys()].map(async (n) => [n, await s.files(n)] as const)));
      const out = await sweep(s.hook.url, tenant({ environments: { prd: { keepLast: 2 } } }));
      // keepLast 2 keeps p5 and p4; p3 is governed by its BackupRequest; p1 is p4's base.
      for (const kept of ['p1', 'p3', 'p4', 'p5', 'u1']) assert.deepEqual(await s.files(kept), before.get(kept), `${kept} untouched`);
      assert.deepEqual(await s.files('p2'), [], 'p2: data, dl/ and manifest gone');
      assert.deepEqual(await s.files('presync'), [], 'a backup known only from its manifest, with no BackupRequest left, is swept too');
      for (const n of ['p2', 'presync']) assert.ok((await s.archive.get(s.made.get(n)!.br.metadata.uid!))?.data_deleted_at, `${n}: the history says its data went`);
      assert.equal((await s.archive.get(s.made.get('p1')!.br.metadata.uid!))?.data_deleted_at, null);
      const prd = out.status.environments!.find((e) => e.name === 'prd')!;
      assert.deepEqual({ points: prd.recoveryPoints, ungoverned: prd.ungoverned, expiring: prd.expiring, newest: prd.newestBackupId },
        { points: 4, ungoverned: 3, expiring: 0, newest: s.made.get('p5')!.manifest.backupId });
      assert.equal(out.status.environments!.find((e) => e.name === 'uat')!.recoveryPoints, 1, 'uat has no policy: kept');
      assert.equal(out.status.expiredTotal, 2);
      assert.equal(out.status.conditions!.find((c) => c.type === 'Ready')!.reason, 'RetentionApplied');

      // Within the sweep interval a re-sync (every related change causes one) sweeps nothing.
      const again = await sweep(s.hook.url, tenant({ environments: { prd: { keepLast: 1 } } }, { ...out.status, observedGeneration: 1 }));
      assert.equal(again.status.lastSweepTime, out.status.lastSweepTime);
      assert.deepEqual(await s.files('p4'), before.get('p4'));
    } finally { await s.close(); }
  });

  it('a BackupRequest the history thinks deleted but the API server still holds is left to its own policy', async () => {
    const s = await setUp([
      { name: 'old', env: 'prd', hoursAgo: 100, governed: false },
      { name: 'older', env: 'prd', hoursAgo: 200, governed: false },
      { name: 'new', env: 'prd', hoursAgo: 10, governed: false },
    ]);
    try {
      // The history recorded a deletion the API server does not confirm (same name and UID still there).
      const old = s.made.get('old')!.br;
      s.existing.set(`${old.metadata.namespace}/${old.metadata.name}`, old);
      const before = await s.files('old');
      const out = await sweep(s.hook.url, tenant({ default: { keepLast: 1 } }));
      assert.deepEqual(await s.files('old'), before, 'its BackupRequest decides, not the environment');
      assert.deepEqual(await s.files('older'), [], 'control: a point nothing holds goes');
      assert.equal(out.status.conditions!.find((c) => c.type === 'Ready')!.reason, 'RetentionApplied');
      // A row rebuilt from a manifest whose name the tenant rewrote: the resource is found by its UID, not by that name.
      await s.archive.read((sql) => sql.query(`update backup_history set name = 'not-its-name', source = 'manifest', deleted_at = null where uid = $1`, [old.metadata.uid]));
      await sweep(s.hook.url, tenant({ default: { keepLast: 1 } }));
      assert.deepEqual(await s.files('old'), before, 'still governed: its UID is alive');
      // A re-created BackupRequest of the same name (another UID) holds nothing.
      s.existing.set(`${old.metadata.namespace}/${old.metadata.name}`, { ...old, metadata: { ...old.metadata, uid: 'someone-else' } });
      await sweep(s.hook.url, tenant({ default: { keepLast: 1 } }));
      assert.deepEqual(await s.files('old'), []);
    } finally { await s.close(); }
  });

  it('a manifest the tenant deleted does not make the data count as gone: the folder the history names is emptied all the same', async () => {
    const s = await setUp([
      { name: 'orphan', env: 'prd', hoursAgo: 100, governed: false },
      { name: 'newest', env: 'prd', hoursAgo: 10, governed: false },
    ]);
    try {
      await s.hook.store.deleteMany('lc2-backups', [s.made.get('orphan')!.key]);
      assert.ok((await s.files('orphan')).length > 0);
      const out = await sweep(s.hook.url, tenant({ default: { keepLast: 1 } }));
      assert.deepEqual(await s.files('orphan'), []);
      assert.ok((await s.archive.get(s.made.get('orphan')!.br.metadata.uid!))?.data_deleted_at);
      assert.equal(out.status.conditions!.find((c) => c.type === 'Ready')!.reason, 'RetentionApplied');
    } finally { await s.close(); }
  });

  it('an environment called like a property of every object gets the default policy, not none', async () => {
    const s = await setUp([
      { name: 'old', env: 'constructor', hoursAgo: 100, governed: false },
      { name: 'new', env: 'constructor', hoursAgo: 10, governed: false },
    ]);
    try {
      await sweep(s.hook.url, tenant({ default: { keepLast: 1 }, environments: { prd: { keepLast: 5 } } }));
      assert.deepEqual(await s.files('old'), []);
    } finally { await s.close(); }
  });

  it('rows archived before bases were recorded learn them from their manifests before anything is swept', async () => {
    const s = await setUp([
      { name: 'base', env: 'prd', hoursAgo: 100, governed: false },
      { name: 'inc', env: 'prd', hoursAgo: 50, governed: false, base: 'base' },
      { name: 'full', env: 'prd', hoursAgo: 10, governed: false },
    ]);
    try {
      await s.archive.read((sql) => sql.query('update backup_history set dl_base = null'));
      const out = await sweep(s.hook.url, tenant({ default: { keepLast: 2 } }));
      assert.equal((await s.archive.get(s.made.get('inc')!.br.metadata.uid!))?.dl_base, s.made.get('base')!.manifest.backupId);
      assert.ok((await s.files('base')).length > 0, 'the base of a kept incremental stays');
      assert.equal(out.status.environments![0]!.recoveryPoints, 3);
    } finally { await s.close(); }
  });

  it('refuses a manifest rewritten to name another backup, and sweeps nothing of an environment with an incremental backup in flight', async () => {
    const s = await setUp([
      { name: 'victim', env: 'prd', hoursAgo: 100, governed: false },
      { name: 'forged', env: 'prd', hoursAgo: 90, governed: false },
      { name: 'newest', env: 'prd', hoursAgo: 10, governed: false },
      { name: 'u-old', env: 'uat', hoursAgo: 100, governed: false },
      { name: 'u-new', env: 'uat', hoursAgo: 10, governed: false },
    ]);
    try {
      // The tenant rewrites the manifest of one of its backups so that it names the victim's folder.
      const forged = { ...s.made.get('forged')!.manifest, location: s.made.get('victim')!.manifest.location };
      await s.hook.store.put('lc2-backups', s.made.get('forged')!.key, JSON.stringify(forged), 'application/json');
      const inFlight = backupRequest('inc', { environment: 'uat', documentLibrary: { sourceBucket: 'liferay-dl', destinationBucket: 'lc2-backups', incremental: true } });
      // An incremental "of retail/prd" in a namespace retail does not own is an impostor: it holds nothing up.
      const impostor = { ...backupRequest('imp', { environment: 'prd', documentLibrary: { sourceBucket: 'liferay-dl', destinationBucket: 'lc2-backups', incremental: true } }), metadata: { ...inFlight.metadata, name: 'imp', namespace: 'attacker-ns' } };
      const victimFiles = await s.files('victim');
      const out = await sweep(s.hook.url, tenant({ default: { keepLast: 1 } }), { [`BackupRequest.${API_VERSION}`]: { 'proj-retail-prd/inc': inFlight, 'attacker-ns/imp': impostor } });
      const ready = out.status.conditions!.find((c) => c.type === 'Ready')!;
      assert.equal(ready.reason, 'RetentionBlocked');
      assert.match(ready.message, /cannot be believed|another backup/);
      assert.ok((await s.files('forged')).length > 0, 'the forged point is not deleted');
      assert.deepEqual(await s.files('victim'), [], 'the victim itself is due and goes by its own, genuine manifest');
      assert.ok(victimFiles.length > 0);
      assert.ok((await s.files('u-old')).length > 0, 'uat: an incremental backup in flight may refer to any of its points');
      assert.equal(out.resyncAfterSeconds, 600);
    } finally { await s.close(); }
  });
});
