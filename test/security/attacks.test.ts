// The hostile-tenant attack table (docs/security.md): every row is played through the real hook
// server (HTTP, real express app, real state machines, a real directory-backed object store) with
// tenancy enforced and the hook token required, and asserts the refusal reason AND that nothing
// outside the attacker's own data was read, written or deleted (every store call is recorded, and
// the whole store is fingerprinted before and after). Project `bank` attacks project `retail`.
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { startHook, TEST_POLICY, type Hook } from '../support/inProcessHook.ts';
import { backupRequest, restoreRequest } from '../support/resources.ts';
import { FileObjectStore } from '../../providers/shared/storage/fileStore.ts';
import type { ObjectInfo, ObjectStore } from '../../core/provider.ts';
import type { BackupRequest, BackupRequestSpec, BackupRequestStatus, BackupTenant, RestoreRequest } from '../../core/crd.ts';
import type { Manifest } from '../../hooks/backup/manifest.ts';
import type { KubeObject } from '../../core/kube.ts';
import { admissionPlan } from '../../hooks/backup/admission.ts';
import { connect } from '../../hooks/archive/db.ts';
import { Archive } from '../../hooks/archive/store.ts';
import { rebuildFromManifests } from '../../hooks/archive/rebuild.ts';
import { backupRecord } from '../../hooks/archive/records.ts';
import { tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';

const TOKEN = 'a-hook-token-of-at-least-32-characters-0123456789';
const GROUP = 'backup.liferay.cloud/v1alpha1';
const tenant = (name: string, spec: BackupTenant['spec']): BackupTenant => ({ apiVersion: GROUP, kind: 'BackupTenant', metadata: { name }, spec });
const RETAIL = tenant('retail', { namespaces: ['proj-retail-prd'], databaseInstances: ['shared-db:5432'], databases: ['lportal_retail'], documentLibraryBuckets: ['shared-dl'], documentLibraryPrefixes: ['retail/'], backupBuckets: ['lc2-backups'] });
const BANK = tenant('bank', { namespaces: ['proj-bank-prd'], databaseInstances: ['shared-db:5432'], databases: ['lportal_bank'], documentLibraryBuckets: ['shared-dl'], documentLibraryPrefixes: ['bank/'], backupBuckets: ['lc2-backups'] });
const tenants = (...ts: BackupTenant[]) => ({ [`BackupTenant.${GROUP}`]: Object.fromEntries(ts.map((t) => [t.metadata.name, t])) });

/** Records every store call with its bucket and key. */
class RecordingStore implements ObjectStore {
  readonly calls: string[] = [];
  readonly inner: ObjectStore;
  constructor(inner: ObjectStore) { this.inner = inner; }
  get(b: string, k: string, m?: number) { this.calls.push(`get ${b}/${k}`); return this.inner.get(b, k, m); }
  head(b: string, k: string) { this.calls.push(`head ${b}/${k}`); return this.inner.head(b, k); }
  list(b: string, p: string, a?: string, l?: number): Promise<ObjectInfo[]> { this.calls.push(`list ${b}/${p}`); return this.inner.list(b, p, a, l); }
  deleteMany(b: string, k: string[]) { this.calls.push(...k.map((key) => `delete ${b}/${key}`)); return this.inner.deleteMany(b, k); }
  sha256(b: string, k: string) { this.calls.push(`sha256 ${b}/${k}`); return this.inner.sha256(b, k); }
  put(b: string, k: string, body: string, t: string) { this.calls.push(`put ${b}/${k}`); return this.inner.put(b, k, body, t); }
}

let root = '';
let store: RecordingStore;
let hook: Hook;
/** The API server's view of BackupRequests (what the hook confirms deletions against). */
const apiServer = new Map<string, BackupRequest>();

function fingerprint(): string {
  const files: string[] = [];
  const walk = (dir: string) => { for (const e of readdirSync(dir)) { const p = join(dir, e); if (statSync(p).isDirectory()) walk(p); else files.push(`${relative(root, p)}:${createHash('sha256').update(readFileSync(p)).digest('hex')}`); } };
  walk(root);
  return files.sort().join('\n');
}
const seed = (bucket: string, key: string, body: string) => { const p = join(root, bucket, key); mkdirSync(dirname(p), { recursive: true }); writeFileSync(p, body); };

function manifest(project: string, backupId: string, over: Partial<Manifest> = {}, prefix = `${project}/prd/${backupId}/`): Manifest {
  return {
    schemaVersion: 'backup.liferay.cloud/manifest/v1', backupId, projectId: project, environment: 'prd', provider: 'local',
    source: { namespace: `proj-${project}-prd`, name: backupId.slice(0, -9), uid: `uid-${backupId}` }, startedAt: '2026-11-23T02:00:00Z', completedAt: '2026-11-23T02:10:00Z',
    location: { bucket: 'lc2-backups', prefix },
    database: { engine: 'postgresql', type: 'dump', instanceId: 'shared-db:5432', databaseName: `lportal_${project}`, format: 'pg_dump-custom+zstd', artifact: `${prefix}database.pgdump.zst`, sizeBytes: 4, sha256: 'a'.repeat(64) },
    documentLibrary: { sourceBucket: 'shared-dl', sourcePrefix: `${project}/`, prefix: `${prefix}dl/`, objectCount: 1, totalBytes: 4, excludedPatterns: [] },
    operations: {}, tools: {}, ...over,
  };
}

async function call(path: string, body: unknown, token: string | undefined = TOKEN): Promise<{ status: number; body: { status?: Record<string, unknown>; children?: KubeObject[]; finalized?: boolean; error?: string } }> {
  const res = await fetch(`${hook.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() as never };
}
const ready = (status: Record<string, unknown> | undefined) => (status?.conditions as Array<{ type: string; reason: string; message: string }> | undefined)?.find((c) => c.type === 'Ready');
const bankRestore = (name: string, spec: Record<string, unknown>): RestoreRequest => {
  const r = restoreRequest(name, {
    projectId: 'bank', database: { instanceId: 'shared-db:5432', databaseName: 'lportal_bank', credentialsSecretRef: { name: 'db' } },
    documentLibrary: { destinationBucket: 'shared-dl', destinationPrefix: 'bank/restored' }, ...spec,
  });
  r.metadata.namespace = 'proj-bank-prd';
  return r;
};
const bankBackup = (name: string, spec: Partial<BackupRequestSpec> = {}): BackupRequest => {
  const b = backupRequest(name, {
    projectId: 'bank', database: { engine: 'postgresql', type: 'dump', instanceId: 'shared-db:5432', databaseName: 'lportal_bank', credentialsSecretRef: { name: 'db' } },
    documentLibrary: { sourceBucket: 'shared-dl', sourcePrefix: 'bank/', destinationBucket: 'lc2-backups', excludeGeneratedFiles: true }, ...spec,
  });
  b.metadata.namespace = 'proj-bank-prd';
  return b;
};
const RETAIL_ID = 'nightly-1a2b3c4d';

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'lc2-attacks-'));
  store = new RecordingStore(new FileObjectStore(root));
  hook = await startHook({
    store, policy: { ...TEST_POLICY, tenancy: 'enforce' }, hookToken: TOKEN,
    readParent: async (claimed) => apiServer.get(`${claimed.metadata.namespace}/${claimed.metadata.name}`),
  });
  // retail's real backup and live document library; bank's own backup folder.
  const retailManifest = manifest('retail', RETAIL_ID);
  seed('lc2-backups', `retail/prd/${RETAIL_ID}/manifest.json`, JSON.stringify(retailManifest));
  seed('lc2-backups', `retail/prd/${RETAIL_ID}/database.pgdump.zst`, 'RETAIL-DB');
  seed('lc2-backups', `retail/prd/${RETAIL_ID}/dl/document_library/1/2/a.pdf/1.0`, 'RETAIL-FILE');
  seed('shared-dl', 'retail/document_library/1/2/a.pdf/1.0', 'RETAIL-LIVE');
  seed('lc2-backups', 'bank/prd/mine-9f8e7d6c/database.pgdump.zst', 'BANK-DB');
});
after(async () => { await hook.close(); });
beforeEach(() => { store.calls.length = 0; });

/** Nothing outside bank's own prefix was touched; nothing at all was written or deleted. */
function assertNothingTouched(before: string, allowedReads: string[] = []): void {
  const foreign = store.calls.filter((c) => !allowedReads.includes(c));
  assert.deepEqual(foreign, [], 'no storage call beyond the ones allowed');
  assert.equal(fingerprint(), before, 'the store is byte-identical');
}

describe('1. restore from a forged or foreign manifest', () => {
  const planted = 'bank/prd/mine-9f8e7d6c/dl/document_library/x/manifest.json';
  const rows: Array<[string, Manifest, string, string, RegExp]> = [
    ['a manifest planted in a backup\'s copied document library, naming retail\'s artifact',
      manifest('bank', 'x', { database: { ...manifest('retail', RETAIL_ID).database } }, 'bank/prd/mine-9f8e7d6c/dl/document_library/x/'), planted, 'ManifestUntrusted', /lies inside another backup's dl\/ folder/],
    ['a manifest at a real folder whose artifact is retail\'s', manifest('bank', 'fake-00000001', { database: { ...manifest('retail', RETAIL_ID).database } }),
      'bank/prd/fake-00000001/manifest.json', 'ManifestUntrusted', /database artifact is not a file of its folder/],
    ['a manifest whose document library is retail\'s', manifest('bank', 'fake-00000002', { documentLibrary: { ...manifest('retail', RETAIL_ID).documentLibrary } }),
      'bank/prd/fake-00000002/manifest.json', 'ManifestUntrusted', /document-library copy is not its folder's dl\//],
    ['a manifest naming another bucket', manifest('bank', 'fake-00000003', { location: { bucket: 'retail-private', prefix: 'bank/prd/fake-00000003/' } }),
      'bank/prd/fake-00000003/manifest.json', 'ManifestUntrusted', /names another bucket/],
    ['an incremental base in retail\'s folder', manifest('bank', 'fake-00000004', { documentLibrary: { ...manifest('bank', 'fake-00000004').documentLibrary, base: { backupId: RETAIL_ID, prefix: `retail/prd/${RETAIL_ID}/dl/`, refsPrefix: 'bank/prd/fake-00000004/refs/' } } }),
      'bank/prd/fake-00000004/manifest.json', 'ManifestUntrusted', /its base is not under bank\/prd\//],
    ['a manifest filed under a name that is not its folder\'s', manifest('bank', 'fake-00000005'), 'bank/prd/other-00000005/manifest.json', 'ManifestUntrusted', /not at the manifest.json of the folder it names/],
    ['a manifest whose backup ID is a reserved name, inside a backup\'s dl/', manifest('bank', 'dl', {}, 'bank/prd/mine-9f8e7d6c/dl/'), 'bank/prd/mine-9f8e7d6c/dl/manifest.json', 'ManifestUntrusted', /inside another backup's dl\/ folder/],
    ['a manifest whose backup ID is not one', manifest('bank', 'not_an_id', {}, 'bank/prd/not_an_id/'), 'bank/prd/not_an_id/manifest.json', 'ManifestUntrusted', /is not a backup ID/],
  ];
  for (const [title, body, key, reason, message] of rows) {
    it(`refuses ${title}: ${reason}; no Job, nothing else read`, async () => {
      seed('lc2-backups', key, JSON.stringify(body));
      const before = fingerprint();
      const res = await call('/restorerequest/sync', { parent: bankRestore('forged', { source: { manifest: { bucket: 'lc2-backups', key } } }), children: {}, related: tenants(RETAIL, BANK) });
      assert.equal(res.status, 200);
      assert.equal(res.body.status!.phase, 'Failed');
      assert.equal(ready(res.body.status)!.reason, reason);
      assert.match(ready(res.body.status)!.message, message);
      assert.deepEqual(res.body.children, []);
      assertNothingTouched(before, [`get lc2-backups/${key}`]);
    });
  }

  it('a planted "manifest" of 5 MB is refused without being buffered or parsed; one with thousands of bad fields gets a short message, never a 500', async () => {
    const huge = 'bank/prd/mine-9f8e7d6c/dl/big/manifest.json';
    seed('lc2-backups', huge, `[${'1,'.repeat(2_500_000)}1]`);
    const big = await call('/restorerequest/sync', { parent: bankRestore('huge', { source: { manifest: { bucket: 'lc2-backups', key: huge } } }), children: {}, related: tenants(RETAIL, BANK) });
    assert.equal(big.status, 200);
    assert.equal(ready(big.body.status)!.reason, 'ManifestInvalid');
    assert.match(ready(big.body.status)!.message, /larger than a manifest can be/);
    const noisy = 'bank/prd/noisy-00000000/manifest.json';
    seed('lc2-backups', noisy, JSON.stringify({ ...manifest('bank', 'noisy-00000000'), ...Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`extra${i}`, i])) }));
    const many = await call('/restorerequest/sync', { parent: bankRestore('noisy', { source: { manifest: { bucket: 'lc2-backups', key: noisy } } }), children: {}, related: tenants(RETAIL, BANK) });
    assert.equal(many.status, 200);
    assert.equal(ready(many.body.status)!.reason, 'ManifestInvalid');
    assert.ok(ready(many.body.status)!.message.length <= 4096);
  });

  it('retail\'s real manifest is answered as "not found": no backup ID, no project of retail\'s is revealed', async () => {
    const before = fingerprint();
    const key = `retail/prd/${RETAIL_ID}/manifest.json`;
    const res = await call('/restorerequest/sync', { parent: bankRestore('peek', { source: { manifest: { bucket: 'lc2-backups', key } } }), children: {}, related: tenants(RETAIL, BANK) });
    assert.equal(ready(res.body.status)!.reason, 'ManifestNotFound');
    // Word for word what a key that does not exist gets: nothing beyond the request itself.
    assert.equal(ready(res.body.status)!.message, `no manifest at lc2-backups/${key}`);
    const missing = await call('/restorerequest/sync', { parent: bankRestore('peek2', { source: { manifest: { bucket: 'lc2-backups', key: 'retail/prd/none-00000000/manifest.json' } } }), children: {}, related: tenants(RETAIL, BANK) });
    assert.equal(ready(missing.body.status)!.reason, 'ManifestNotFound');
    assert.equal(ready(missing.body.status)!.message, 'no manifest at lc2-backups/retail/prd/none-00000000/manifest.json');
    assertNothingTouched(before); // retail's folder is not even read

  });

  it('a backupRef resolves in the restore\'s own namespace only, never to a same-named backup elsewhere', async () => {
    const foreign: BackupRequest = { ...backupRequest('nightly'), status: { phase: 'Succeeded', manifest: { bucket: 'lc2-backups', key: `retail/prd/${RETAIL_ID}/manifest.json`, schemaVersion: 'v1' } } };
    const related = { ...tenants(RETAIL, BANK), [`BackupRequest.${GROUP}`]: { 'proj-retail-prd/nightly': foreign, nightly: foreign } };
    const before = fingerprint();
    const res = await call('/restorerequest/sync', { parent: bankRestore('byref', { source: { backupRef: { name: 'nightly' } } }), children: {}, related });
    assert.equal(res.body.status!.phase, 'Pending');
    assert.equal(ready(res.body.status)!.reason, 'BackupNotFound');
    assertNothingTouched(before);
  });

  it('rebuild-archive: a planted manifest never becomes a row, and never rewrites another project\'s row', async () => {
    const sql = await connect(undefined, mkdtempSync(join(tmpdir(), 'lc2-attack-archive-')));
    try {
      const archive = new Archive(sql);
      const retailRow = backupRecord({ ...backupRequest('nightly'), metadata: { ...backupRequest('nightly').metadata, uid: 'uid-retail-row' }, status: { phase: 'Succeeded', backupId: RETAIL_ID, completionTime: '2026-11-23T02:10:00Z' } });
      await archive.upsert(retailRow);
      // bank forges a well-placed manifest of its own project carrying retail's row UID.
      seed('lc2-backups', 'bank/prd/steal-0000000a/manifest.json', JSON.stringify(manifest('bank', 'steal-0000000a', { source: { namespace: 'proj-bank-prd', name: 'steal', uid: 'uid-retail-row' } })));
      const report = await rebuildFromManifests(store.inner, 'lc2-backups', 'bank/', archive);
      assert.ok(report.unparseable.some((u) => u.key === planted && /not a backup's manifest/.test(u.problem)), 'the planted manifest is reported, not archived');
      const row = await archive.get('uid-retail-row');
      assert.equal(row?.project_id, 'retail', 'retail\'s row still belongs to retail');
      assert.equal(row?.backup_id, RETAIL_ID);
    } finally { await sql.close(); }
  });
});

describe('2. a spec edited after admission', () => {
  it('an edit between steps fails SpecChanged; the next step is never started from the edited spec', async () => {
    const b = bankBackup('edited');
    const first = await call('/backuprequest/sync', { parent: b, children: {}, related: tenants(RETAIL, BANK) });
    const status = first.body.status as BackupRequestStatus;
    assert.equal(status.phase, 'ExportInProgress');
    assert.ok(status.admitted?.specSha256, 'the admitted spec is frozen in status');
    // The tenant edits the spec (generation 2) towards retail's database before the CEL rule could stop it.
    const edited: BackupRequest = { ...b, metadata: { ...b.metadata, generation: 2 }, spec: { ...b.spec!, database: { ...b.spec!.database, databaseName: 'lportal_retail' } }, status };
    const before = fingerprint();
    const res = await call('/backuprequest/sync', { parent: edited, children: {}, related: tenants(RETAIL, BANK) });
    assert.equal(res.body.status!.phase, 'Failed');
    assert.equal(ready(res.body.status)!.reason, 'SpecChanged');
    const jobs = res.body.children!.map((c) => JSON.stringify(c));
    assert.ok(jobs.every((j) => !j.includes('lportal_retail')), 'no Job names retail\'s database');
    assertNothingTouched(before);
  });

  it('the tenant check runs again before every step: a bucket revoked after admission stops the next step', async () => {
    const b = bankBackup('revoked');
    const first = await call('/backuprequest/sync', { parent: b, children: {}, related: tenants(RETAIL, BANK) });
    const status = first.body.status as BackupRequestStatus;
    // The dump finished; the platform team removed shared-dl from bank meanwhile.
    const done = { ...status, operations: { ...status.operations, export: { ...status.operations!.export!, state: 'Succeeded' as const, completionTime: '2026-11-23T02:05:00Z' } },
      database: { engine: 'postgresql' as const, format: 'f', artifact: 'bank/x', sizeBytes: 1, sha256: 'b'.repeat(64), tool: 't' } };
    const revoked = tenant('bank', { ...BANK.spec!, documentLibraryBuckets: [] });
    const before = fingerprint();
    const res = await call('/backuprequest/sync', { parent: { ...b, status: done }, children: {}, related: tenants(RETAIL, revoked) });
    assert.equal(res.body.status!.phase, 'Failed');
    assert.equal(ready(res.body.status)!.reason, 'BucketNotAllowed');
    assert.ok(!res.body.children!.some((c) => c.metadata.name.includes('-dl-')), 'no copy Job');
    assertNothingTouched(before);
  });
});

describe('4. forged hook calls', () => {
  const folder = (name: string) => `bank/prd/${name}-00000000/`;
  const deletable = (name: string, over: Partial<BackupRequestStatus> = {}): BackupRequest => {
    const b = bankBackup(name, { deletionPolicy: 'Delete' });
    b.status = { phase: 'Succeeded', backupId: `${name}-00000000`, location: { bucket: 'lc2-backups', prefix: folder(name) }, completionTime: '2026-11-23T02:10:00Z', ...over };
    return b;
  };

  it('without the hook token a finalize is refused before its body is read, and nothing is deleted', async () => {
    const victim: BackupRequest = { ...deletable('victim'), metadata: { ...deletable('victim').metadata, deletionTimestamp: '2026-11-23T03:00:00Z' } };
    victim.status!.location = { bucket: 'lc2-backups', prefix: `retail/prd/${RETAIL_ID}/` };
    victim.status!.backupId = RETAIL_ID;
    const before = fingerprint();
    for (const token of ['', 'wrong-token', `${TOKEN}x`]) {
      const res = await call('/backuprequest/finalize', { parent: victim, children: {}, related: {}, finalizing: true }, token);
      assert.equal(res.status, 401);
    }
    assertNothingTouched(before);
  });

  it('with the token, a finalize whose parent the API server does not show as being deleted deletes nothing', async () => {
    const b = deletable('notdeleting');
    seed('lc2-backups', `${folder('notdeleting')}database.pgdump.zst`, 'X');
    apiServer.set(`proj-bank-prd/notdeleting`, b);
    const claimed = { ...b, metadata: { ...b.metadata, deletionTimestamp: '2026-11-23T03:00:00Z' } };
    const before = fingerprint();
    const res = await call('/backuprequest/finalize', { parent: claimed, children: {}, related: {}, finalizing: true });
    assert.equal(res.body.finalized, false);
    assert.equal(ready(res.body.status)!.reason, 'DeletionUnconfirmed');
    assertNothingTouched(before);
  });

  it('a finalize claiming retail\'s folder deletes only what the API server\'s own object records', async () => {
    const live = deletable('mine');
    live.metadata.deletionTimestamp = '2026-11-23T03:00:00Z';
    seed('lc2-backups', `${folder('mine')}database.pgdump.zst`, 'MINE');
    apiServer.set('proj-bank-prd/mine', live);
    const claimed: BackupRequest = { ...live, status: { ...live.status, backupId: RETAIL_ID, location: { bucket: 'lc2-backups', prefix: `retail/prd/${RETAIL_ID}/` } } };
    const retailBefore = readFileSync(join(root, 'lc2-backups', `retail/prd/${RETAIL_ID}/database.pgdump.zst`), 'utf8');
    const res = await call('/backuprequest/finalize', { parent: claimed, children: {}, related: {}, finalizing: true });
    assert.equal(res.body.finalized, true);
    assert.equal(readFileSync(join(root, 'lc2-backups', `retail/prd/${RETAIL_ID}/database.pgdump.zst`), 'utf8'), retailBefore);
    assert.ok(store.calls.every((c) => !c.includes('retail/')), 'retail\'s folder was never even listed');
    assert.deepEqual(await store.inner.list('lc2-backups', folder('mine')), []);
  });

  it('a finalize for a UID the API server does not hold deletes nothing', async () => {
    const live = deletable('twin');
    live.metadata.deletionTimestamp = '2026-11-23T03:00:00Z';
    apiServer.set('proj-bank-prd/twin', live);
    seed('lc2-backups', `${folder('twin')}database.pgdump.zst`, 'TWIN');
    const claimed = { ...live, metadata: { ...live.metadata, uid: 'another-uid' } };
    const before = fingerprint();
    const res = await call('/backuprequest/finalize', { parent: claimed, children: {}, related: {}, finalizing: true });
    assert.equal(res.body.finalized, false);
    assert.match(ready(res.body.status)!.message, /UID differs/);
    assertNothingTouched(before);
  });

  it('expiry: a request claiming retentionDays 1 deletes nothing while the API server\'s object is not due', async () => {
    const live = deletable('keep', { completionTime: '2026-11-23T02:10:00Z' });
    live.spec!.retentionDays = 3650;
    apiServer.set('proj-bank-prd/keep', live);
    seed('lc2-backups', `${folder('keep')}database.pgdump.zst`, 'KEEP');
    const claimed: BackupRequest = { ...live, spec: { ...live.spec!, retentionDays: 1 }, status: { ...live.status, completionTime: '2020-01-01T00:00:00Z' } };
    const before = fingerprint();
    const res = await call('/backuprequest/sync', { parent: claimed, children: {}, related: tenants(RETAIL, BANK) });
    assert.equal(res.status, 200);
    assert.ok(!JSON.stringify(res.body.status).includes('RetentionExpired'));
    assertNothingTouched(before);
  });
});

describe('8. shared database servers and buckets', () => {
  const rows: Array<[string, () => BackupRequest | RestoreRequest, string, string]> = [
    ['a backup of retail\'s database on the shared server', () => bankBackup('db', { database: { engine: 'postgresql', type: 'dump', instanceId: 'shared-db:5432', databaseName: 'lportal_retail', credentialsSecretRef: { name: 'db' } } }), 'DatabaseNotAllowed', '/backuprequest/sync'],
    ['a backup of retail\'s prefix of the shared bucket', () => bankBackup('prefix', { documentLibrary: { sourceBucket: 'shared-dl', sourcePrefix: 'retail/', destinationBucket: 'lc2-backups' } }), 'PrefixNotAllowed', '/backuprequest/sync'],
    ['a backup of the whole shared bucket', () => bankBackup('whole', { documentLibrary: { sourceBucket: 'shared-dl', destinationBucket: 'lc2-backups' } }), 'PrefixNotAllowed', '/backuprequest/sync'],
    ['an approved overwrite of retail\'s database', () => bankRestore('over', { approveOverwrite: true, database: { instanceId: 'shared-db:5432', databaseName: 'lportal_retail', credentialsSecretRef: { name: 'db' } } }), 'DatabaseNotAllowed', '/restorerequest/sync'],
    ['a restore into retail\'s prefix of the shared bucket', () => bankRestore('into', { approveOverwrite: true, documentLibrary: { destinationBucket: 'shared-dl', destinationPrefix: 'retail/document_library' } }), 'PrefixNotAllowed', '/restorerequest/sync'],
  ];
  for (const [title, make, reason, path] of rows) {
    it(`refuses ${title}: ${reason}`, async () => {
      const before = fingerprint();
      const res = await call(path, { parent: make(), children: {}, related: tenants(RETAIL, BANK) });
      assert.equal(res.body.status!.phase, 'Failed');
      assert.equal(ready(res.body.status)!.reason, reason);
      assert.deepEqual(res.body.children, []);
      assertNothingTouched(before);
    });
  }
});

describe('8. (pure) a whole shared instance', () => {
  it('a request that names no database (an instance snapshot holds every database) is refused when the tenant lists databases', async () => {
    const { backupTenancyRefusal } = await import('../../hooks/backup/tenancy.ts');
    const spec = { ...bankBackup('snap').spec!, provider: 'aws' as const, database: { engine: 'postgresql' as const, type: 'snapshot' as const, instanceId: 'shared-db:5432' } };
    assert.equal(backupTenancyRefusal('proj-bank-prd', spec, BANK, 'enforce')?.reason, 'DatabaseNotAllowed');
    // Naming its own database does not make a snapshot (or a Cloud SQL / Flexible Server backup) hold only that one.
    const own = { ...spec, database: { ...spec.database, databaseName: 'lportal_bank' } };
    assert.equal(backupTenancyRefusal('proj-bank-prd', own, BANK, 'enforce')?.reason, 'SharedInstanceSnapshot');
    assert.equal(backupTenancyRefusal('proj-bank-prd', { ...own, provider: 'gcp' as const }, BANK, 'enforce')?.reason, 'SharedInstanceSnapshot');
    assert.equal(backupTenancyRefusal('proj-bank-prd', { ...own, database: { ...own.database, type: 'dump' as const } }, BANK, 'enforce'), undefined, 'a dump of its own database is fine');
    const dedicated = tenant('bank', { ...BANK.spec!, databases: undefined });
    assert.equal(backupTenancyRefusal('proj-bank-prd', spec, dedicated, 'enforce'), undefined, 'a dedicated instance needs no database list');
    assert.equal(backupTenancyRefusal('proj-bank-prd', own, dedicated, 'enforce'), undefined);
  });
});

describe('9. deletion order', () => {
  it('nothing is deleted while a provider operation may still write into the folder; then the folder, a final listing, and the snapshot', async () => {
    const { backupShell } = await import('../../app/registry.ts');
    const { finalizeBackup } = await import('../../hooks/backup/sync.ts');
    const local = { image: 'x', storage: { kind: 'file' as const, root }, backoffLimit: 1, activeDeadlineSeconds: 60, transfers: 1 };
    const shell = backupShell({ local }, store, undefined, { ...TEST_POLICY });
    const events: string[] = [];
    let busy = 2;
    const runtime = shell.runtime('local');
    assert.ok(!('unavailable' in runtime));
    const traced = {
      ...runtime,
      quiesce: async () => { events.push(busy > 0 ? 'quiesce:busy' : 'quiesce:quiet'); busy -= 1; return busy < 0; },
      deleteExternal: async () => { events.push('deleteExternal'); return true; },
    };
    const b = bankBackup('ordered', { deletionPolicy: 'Delete' });
    b.metadata.deletionTimestamp = '2026-11-23T03:00:00Z';
    b.status = { phase: 'Succeeded', backupId: 'ordered-00000000', location: { bucket: 'lc2-backups', prefix: 'bank/prd/ordered-00000000/' } };
    seed('lc2-backups', 'bank/prd/ordered-00000000/database.pgdump.zst', 'X');
    const s = { ...shell, runtime: () => traced, readParent: async () => b };
    for (let i = 0; i < 2; i += 1) {
      const r = await finalizeBackup({ parent: b, children: {}, related: {} }, s);
      assert.equal(r.finalized, false);
      assert.ok(readFileSync(join(root, 'lc2-backups', 'bank/prd/ordered-00000000/database.pgdump.zst')), 'kept while busy');
    }
    const r = await finalizeBackup({ parent: b, children: {}, related: {} }, s);
    assert.equal(r.finalized, true);
    assert.deepEqual(events, ['quiesce:busy', 'quiesce:busy', 'quiesce:quiet', 'deleteExternal']);
    const deletes = store.calls.findIndex((c) => c.startsWith('delete '));
    const lastList = store.calls.map((c) => c.startsWith('list ')).lastIndexOf(true);
    assert.ok(deletes >= 0 && lastList > deletes, 'the folder is listed once more after deleting');
  });
});

describe('10. fairness is not pushed back by refused requests or impostors', () => {
  const at = (name: string, project: string, ns: string, created: string, status?: BackupRequestStatus): BackupRequest => {
    const b = backupRequest(name, { projectId: project });
    return { ...b, metadata: { ...b.metadata, namespace: ns, creationTimestamp: created }, ...(status ? { status } : {}) };
  };
  it('fifty refused requests of bank rank nothing: bank\'s real first backup still starts before retail\'s second', () => {
    const refused = Array.from({ length: 50 }, (_, i) => at(`r${i}`, 'bank', 'proj-bank-prd', '2026-11-23T02:00:00Z', { phase: 'Failed', completionTime: '2026-11-23T02:00:01Z' }));
    const retail = [at('a1', 'retail', 'proj-retail-prd', '2026-11-23T02:00:00Z'), at('a2', 'retail', 'proj-retail-prd', '2026-11-23T02:00:00Z')];
    const bank = at('b1', 'bank', 'proj-bank-prd', '2026-11-23T02:00:05Z');
    const plan = admissionPlan([...refused, ...retail, bank], { perProject: () => 2, global: 2 });
    assert.deepEqual(plan.get('proj-bank-prd/b1'), { admitted: true });
    assert.deepEqual(plan.get('proj-retail-prd/a1'), { admitted: true });
    assert.equal(plan.get('proj-retail-prd/a2')?.admitted, false);
  });

  it('a request kept waiting by another tenant does not turn a busy project\'s history into a penalty', () => {
    const now = '2026-11-23T12:00:00Z';
    const hour = (h: number) => new Date(Date.parse(now) - h * 3_600_000).toISOString();
    // retail ran hourly for a month; bank keeps its two slots busy and one request waiting since long ago.
    const history = Array.from({ length: 718 }, (_, i) => at(`h${i}`, 'retail', 'proj-retail-prd', hour(720 - i), { phase: 'Succeeded', completionTime: hour(719.9 - i), operations: { export: { id: 'x', state: 'Succeeded' } } }));
    const bankBusy = [0, 1].map((i) => at(`busy${i}`, 'bank', 'proj-bank-prd', hour(721), { phase: 'ExportInProgress', operations: { export: { id: 'x', state: 'Running' } } }));
    const bankWaiting = at('held', 'bank', 'proj-bank-prd', hour(720.5));
    const retailNow = at('retail-now', 'retail', 'proj-retail-prd', hour(0.2));
    const ins = [at('ins-0', 'ins', 'proj-ins-prd', hour(0.1)), at('ins-1', 'ins', 'proj-ins-prd', hour(0.1))];
    const plan = admissionPlan([...history, ...bankBusy, bankWaiting, retailNow, ...ins], { perProject: () => 2, global: 4, now });
    assert.deepEqual(plan.get('proj-retail-prd/retail-now'), { admitted: true });
    assert.deepEqual(plan.get('proj-ins-prd/ins-0'), { admitted: true });
    assert.equal(plan.get('proj-ins-prd/ins-1')?.admitted, false, 'ins\'s second waits: retail\'s first of this hour goes first');
  });

  it('a refused impostor is never written into the project it claims: only a namespace of the project is its history', async () => {
    const { belongsToItsProject } = await import('../../hooks/backup/sync.ts');
    const policy = { ...TEST_POLICY, tenancy: 'enforce' as const };
    const request = (namespace: string) => ({ parent: at('x', 'retail', namespace, '2026-11-23T02:00:00Z'), children: {}, related: tenants(RETAIL, BANK) });
    assert.equal(belongsToItsProject(request('proj-bank-prd'), policy), false);
    assert.equal(belongsToItsProject(request('proj-retail-prd'), policy), true);
    assert.equal(belongsToItsProject({ ...request('proj-retail-prd'), related: {} }, policy), false, 'no BackupTenant: nobody\'s history');
  });

  it('an impostor that also fails for another reason (an unavailable provider) is still never archived into retail\'s history', async () => {
    const { backupShell } = await import('../../app/registry.ts');
    const { syncBackup } = await import('../../hooks/backup/sync.ts');
    const sql = await connect(undefined, mkdtempSync(join(tmpdir(), 'lc2-impostor-archive-')));
    try {
      const archive = new Archive(sql);
      const shell = backupShell({}, store, undefined, { ...TEST_POLICY, tenancy: 'enforce' }, archive);
      const impostor = at('fake-gcp', 'retail', 'proj-bank-prd', '2026-11-23T02:00:00Z');
      (impostor.spec as unknown as Record<string, unknown>).provider = 'gcp';
      impostor.spec!.initiator = 'SECURITY NOTICE: call +1-555-0100';
      const first = await syncBackup({ parent: impostor, children: {}, related: tenants(RETAIL, BANK) }, shell);
      assert.equal((first.status as BackupRequestStatus).phase, 'Failed');
      await syncBackup({ parent: { ...impostor, status: first.status as BackupRequestStatus }, children: {}, related: tenants(RETAIL, BANK) }, shell);
      assert.equal(await archive.count(), 0, 'no row in anyone\'s history');
      // The same failure from retail's own namespace is retail's history.
      const own = at('own-gcp', 'retail', 'proj-retail-prd', '2026-11-23T02:00:00Z');
      (own.spec as unknown as Record<string, unknown>).provider = 'gcp';
      const failed = await syncBackup({ parent: own, children: {}, related: tenants(RETAIL, BANK) }, shell);
      await syncBackup({ parent: { ...own, status: failed.status as BackupRequestStatus }, children: {}, related: tenants(RETAIL, BANK) }, shell);
      assert.equal(await archive.count(), 1);
    } finally { await sql.close(); }
  });

  it('impostors claiming retail from bank\'s namespace take none of retail\'s slots (through the hook)', async () => {
    const impostors = Array.from({ length: 5 }, (_, i) => at(`fake${i}`, 'retail', 'proj-bank-prd', '2026-11-23T01:00:00Z'));
    const mine = at('real', 'retail', 'proj-retail-prd', '2026-11-23T02:00:00Z');
    const related = { ...tenants(RETAIL, BANK), [`BackupRequest.${GROUP}`]: Object.fromEntries([...impostors, mine].map((b) => [`${b.metadata.namespace}/${b.metadata.name}`, b])) };
    const spec = { ...mine.spec!, database: { ...mine.spec!.database, instanceId: 'shared-db:5432', databaseName: 'lportal_retail' }, documentLibrary: { sourceBucket: 'shared-dl', sourcePrefix: 'retail/', destinationBucket: 'lc2-backups' } };
    const res = await call('/backuprequest/sync', { parent: { ...mine, spec }, children: {}, related });
    assert.notEqual(res.body.status!.phase, 'Queued');
    assert.equal(res.body.status!.phase, 'ExportInProgress');
  });
});

describe('5b. Job result objects are not trusted (a tenant can write them with its project key)', () => {
  const started = async (name: string) => {
    const b = bankBackup(name);
    const first = await call('/backuprequest/sync', { parent: b, children: {}, related: tenants(RETAIL, BANK) });
    const status = first.body.status as BackupRequestStatus;
    const job = first.body.children![0]!;
    const done = { ...job, metadata: { ...job.metadata, namespace: 'proj-bank-prd' }, status: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] } };
    return { b: { ...b, status }, job: done, folder: status.location!.prefix };
  };
  const result = (over: Record<string, unknown>) => JSON.stringify({ version: 1, step: 'export', status: 'succeeded', startedAt: '2026-11-23T02:00:00Z', completedAt: '2026-11-23T02:01:00Z', sizeBytes: 9, sha256: 'c'.repeat(64), tool: 'pg_dump', ...over });

  it('a result naming retail\'s artifact fails the backup; retail\'s object is never even looked at', async () => {
    const { b, job, folder } = await started('oracle');
    seed('lc2-backups', `${folder}results/export.json`, result({ artifact: `retail/prd/${RETAIL_ID}/database.pgdump.zst` }));
    store.calls.length = 0;
    const res = await call('/backuprequest/sync', { parent: b, children: { 'Job.batch/v1': { [`proj-bank-prd/${job.metadata.name}`]: job } }, related: tenants(RETAIL, BANK) });
    assert.equal(res.body.status!.phase, 'Failed');
    assert.equal(ready(res.body.status)!.reason, 'ResultInvalid');
    assert.match(ready(res.body.status)!.message, /reported its artifact at retail\/prd\//);
    assert.ok(store.calls.every((c) => !c.includes('retail/')), 'no call touches retail\'s folder');
  });

  it('a result with an absurd size fails the backup with a reason, never a 500 that holds a slot forever', async () => {
    const { b, job, folder } = await started('absurd');
    seed('lc2-backups', `${folder}results/export.json`, result({ artifact: `${folder}database.pgdump.zst`, sizeBytes: 1e300 }));
    const res = await call('/backuprequest/sync', { parent: b, children: { 'Job.batch/v1': { [`proj-bank-prd/${job.metadata.name}`]: job } }, related: tenants(RETAIL, BANK) });
    assert.equal(res.status, 200);
    assert.equal(res.body.status!.phase, 'Failed');
  });
});

describe('11. the rest', () => {
  it('a destination prefix inside another backup\'s reserved folder is refused', async () => {
    const res = await call('/backuprequest/sync', { parent: bankBackup('nested', { documentLibrary: { sourceBucket: 'shared-dl', sourcePrefix: 'bank/', destinationBucket: 'lc2-backups', destinationPrefix: 'bank/prd/mine-9f8e7d6c/dl' } }), children: {}, related: tenants(RETAIL, BANK) });
    assert.equal(ready(res.body.status)!.reason, 'InvalidSpec');
    assert.match(ready(res.body.status)!.message, /reserved for a backup's own files/);
  });

  it('deleting a backup leaves a backup nested in its folder untouched', async () => {
    const outer = bankBackup('outer', { deletionPolicy: 'Delete' });
    outer.metadata.deletionTimestamp = '2026-11-23T03:00:00Z';
    outer.status = { phase: 'Succeeded', backupId: 'outer-00000000', location: { bucket: 'lc2-backups', prefix: 'bank/prd/outer-00000000/' } };
    apiServer.set('proj-bank-prd/outer', outer);
    for (const k of ['database.pgdump.zst', 'manifest.json', 'dl/a/1.0', 'results/export.json']) seed('lc2-backups', `bank/prd/outer-00000000/${k}`, 'OUTER');
    seed('lc2-backups', 'bank/prd/outer-00000000/inner-11111111/manifest.json', 'INNER');
    const res = await call('/backuprequest/finalize', { parent: outer, children: {}, related: {}, finalizing: true });
    assert.equal(res.body.finalized, true);
    assert.deepEqual((await store.inner.list('lc2-backups', 'bank/prd/outer-00000000/')).map((o) => o.key), ['bank/prd/outer-00000000/inner-11111111/manifest.json']);
  });

  it('metric labels stay bounded whatever a spec names as provider', async () => {
    const b = bankBackup('label');
    (b.spec as unknown as Record<string, unknown>).provider = `evil-${'x'.repeat(50)}`;
    await call('/backuprequest/sync', { parent: b, children: {}, related: tenants(RETAIL, BANK) });
    const metrics = await (await fetch(`${hook.url}/metrics`)).text();
    assert.ok(!metrics.includes('evil-'), 'no label value from the spec');
    assert.match(metrics, /lc2_terminal_total\{[^}]*provider="other"/);
  });
});
