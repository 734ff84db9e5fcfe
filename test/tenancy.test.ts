// The tenant boundary through the hook server with tenancy enforced: every cross-tenant attempt is
// refused with a reason, creates no Job and makes no storage call.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHook, post, TEST_POLICY, type Hook } from './support/inProcessHook.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';
import type { ObjectStore } from '../core/provider.ts';
import type { BackupTenant } from '../core/crd.ts';
import { backupTenancyRefusal, restoreTenancyRefusal } from '../hooks/backup/tenancy.ts';
import { drillDatabaseName } from '../hooks/restore/drill.ts';

const tenant = (name: string, spec: BackupTenant['spec']): BackupTenant => ({ apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupTenant', metadata: { name }, spec });
const retail = tenant('retail', { namespaces: ['proj-retail-prd'], databaseInstances: ['127.0.0.1:5432'], documentLibraryBuckets: ['liferay-dl', 'restored-dl'], backupBuckets: ['lc2-backups'] });
const other = tenant('other', { namespaces: ['proj-other-prd'], databaseInstances: ['other-db:5432'], documentLibraryBuckets: ['other-dl'], backupBuckets: ['other-backups'] });
const related = (...ts: BackupTenant[]) => ({ 'BackupTenant.backup.liferay.cloud/v1alpha1': Object.fromEntries(ts.map((t) => [t.metadata.name, t])) });

let hook: Hook;
const calls: string[] = [];
before(async () => {
  const spy: ObjectStore = {
    get: async () => { calls.push('get'); return null; }, put: async () => { calls.push('put'); },
    head: async () => { calls.push('head'); return null; }, list: async () => { calls.push('list'); return []; }, deleteMany: async () => { calls.push('delete'); }, sha256: async () => { calls.push('sha256'); return null; },
  };
  hook = await startHook({ store: spy, policy: { ...TEST_POLICY, tenancy: 'enforce' } });
});
after(async () => { await hook.close(); });

type Spec = { [k: string]: unknown; database: Record<string, unknown>; documentLibrary: Record<string, unknown> };
const cases: Array<[string, (s: Spec) => void, string, RegExp, object?, string?]> = [
  ['another project\'s database instance', (s) => { s.database.instanceId = 'other-db:5432'; }, 'InstanceNotAllowed', /spec\.database\.instanceId: other-db:5432 is not one of project retail's database instances/],
  ['another project\'s document library', (s) => { s.documentLibrary.sourceBucket = 'other-dl'; }, 'BucketNotAllowed', /sourceBucket: other-dl is not one of project retail's document-library buckets/],
  ['another project\'s backup bucket', (s) => { s.documentLibrary.destinationBucket = 'other-backups'; }, 'BucketNotAllowed', /destinationBucket: other-backups is not one of project retail's backup buckets/],
  ['claiming another project from its own namespace', (s) => { s.projectId = 'other'; s.database.instanceId = 'other-db:5432'; s.documentLibrary.sourceBucket = 'other-dl'; s.documentLibrary.destinationBucket = 'other-backups'; }, 'NamespaceNotAllowed', /namespace proj-retail-prd does not belong to project other/],
  ['a project nobody mapped', (s) => { s.projectId = 'ghost'; }, 'TenantNotFound', /no BackupTenant named "ghost"/],
  ['another environment\'s prefix', (s) => { s.documentLibrary.destinationPrefix = 'retail/uat'; }, 'InvalidSpec', /destinationPrefix: "retail\/uat" is outside the environment's own path/],
  ['another project\'s prefix', (s) => { s.documentLibrary.destinationPrefix = 'other/prd'; }, 'InvalidSpec', /outside the environment's own path/],
  ['.. in the prefix', (s) => { s.documentLibrary.destinationPrefix = 'retail/prd/../../other/prd'; }, 'InvalidSpec', /destinationPrefix: .* is not valid/],
  ['URL-encoded .. in the prefix', (s) => { s.documentLibrary.destinationPrefix = 'retail/prd/%2e%2e/%2e%2e/other'; }, 'InvalidSpec', /is not valid/],
  ['URL-encoded slash in the source prefix', (s) => { s.documentLibrary.sourcePrefix = '..%2fother-dl'; }, 'InvalidSpec', /sourcePrefix: .* is not valid/],
];

describe('tenant boundary (backups)', () => {
  for (const [title, mutate, reason, message] of cases) {
    it(`refuses ${title}: ${reason}, no Job, no storage call`, async () => {
      const parent = backupRequest('cross');
      mutate(parent.spec as unknown as Spec);
      calls.length = 0;
      const res = await post(`${hook.url}/backuprequest/sync`, { parent, children: {}, related: related(retail, other) });
      const status = res.body.status as { phase: string; conditions: Array<{ type: string; reason: string; message: string }> };
      assert.equal(status.phase, 'Failed');
      const ready = status.conditions.find((c) => c.type === 'Ready')!;
      assert.equal(ready.reason, reason);
      assert.match(ready.message, message);
      assert.deepEqual(res.body.children, []);
      assert.deepEqual(calls, [], 'no provider or storage call');
    });
  }

  it('a request inside its tenant starts', async () => {
    const res = await post(`${hook.url}/backuprequest/sync`, { parent: backupRequest('inside'), children: {}, related: related(retail, other) });
    assert.equal((res.body.status as { phase: string }).phase, 'ExportInProgress');
    assert.equal((res.body.children as unknown[]).length, 1);
  });
});

describe('tenant boundary (the AWS consistency check\'s endpoint)', () => {
  it('the Job connects only to a listed instance\'s endpoint: another host is refused, a listed one passes', () => {
    const withEndpoint = (endpoint: string) => {
      const spec = backupRequest('checked', { provider: 'aws' }).spec!;
      return { ...spec, database: { ...spec.database, type: 'snapshot' as const, instanceId: 'retail-prd-db', endpoint } };
    };
    const aws = tenant('retail', { ...retail.spec!, databaseInstances: ['retail-prd-db', 'retail-prd-db.abc.eu-west-1.rds.amazonaws.com:5432'] });
    assert.equal(backupTenancyRefusal('proj-retail-prd', withEndpoint('retail-prd-db.abc.eu-west-1.rds.amazonaws.com:5432'), aws, 'enforce'), undefined);
    const refused = backupTenancyRefusal('proj-retail-prd', withEndpoint('other-db:5432'), aws, 'enforce');
    assert.equal(refused?.reason, 'InstanceNotAllowed');
    assert.match(refused?.message ?? '', /spec\.database\.endpoint: other-db:5432 is not one of project retail's database instances/);
  });
});

describe('tenant boundary (restores)', () => {
  it('refuses restoring into another project\'s instance or bucket, or from its backups', async () => {
    const attempts: Array<[object, RegExp]> = [
      [{ database: { instanceId: 'other-db:5432', databaseName: 'x', credentialsSecretRef: { name: 'db' } } }, /instanceId: other-db:5432 is not one of project retail's database instances/],
      [{ documentLibrary: { destinationBucket: 'other-dl', destinationPrefix: 'document_library' } }, /destinationBucket: other-dl is not one of project retail's document-library buckets/],
      [{ source: { manifest: { bucket: 'other-backups', key: 'other/prd/b-1/manifest.json' } } }, /source\.manifest\.bucket: other-backups is not one of project retail's backup buckets/],
    ];
    for (const [spec, message] of attempts) {
      calls.length = 0;
      const res = await post(`${hook.url}/restorerequest/sync`, { parent: restoreRequest('cross', spec as Record<string, unknown>), children: {}, related: related(retail, other) });
      const status = res.body.status as { phase: string; conditions: Array<{ type: string; message: string }> };
      assert.equal(status.phase, 'Failed');
      assert.match(status.conditions.find((c) => c.type === 'Ready')!.message, message);
      assert.deepEqual(res.body.children, []);
      assert.deepEqual(calls, []);
    }
  });
});

// A shared database server (the BackupTenant lists `databases`): a scheduled drill may use the one
// scratch name derived from its own namespace/name and its schedule's UID, nothing else outside the list.
describe('drill scratch databases on a shared server', () => {
  const shared = tenant('retail', { ...retail.spec!, databases: ['lportal_retail'] });
  const ns = 'proj-retail-prd';
  const SCHEDULE = 'c0ffee00-0000-4000-8000-000000000001';
  const owned = (uid: string) => ({ ownerReferences: [{ apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupSchedule', name: 'nightly', uid, controller: true }] });
  const drill = (name: string, databaseName: string, extra: Record<string, unknown> = {}, scheduleUid: string | null = SCHEDULE) => {
    const r = restoreRequest(name, { drill: true, database: { instanceId: '127.0.0.1:5432', databaseName, credentialsSecretRef: { name: 'db' } }, ...extra });
    return scheduleUid ? { ...r, metadata: { ...r.metadata, ...owned(scheduleUid) } } : r;
  };
  const own = (name: string, uid = SCHEDULE, namespace = ns) => drillDatabaseName(namespace, name, uid);
  const reason = (r: ReturnType<typeof drill>, namespace = ns) => restoreTenancyRefusal({ namespace, name: r.metadata.name, ...(r.metadata.ownerReferences?.[0] ? { scheduleUid: r.metadata.ownerReferences[0].uid } : {}) }, r.spec!, shared, 'enforce')?.reason;

  it('accepts its own derived name, and refuses every other unlisted name', () => {
    assert.equal(reason(drill('d1', own('d1'))), undefined);
    assert.equal(reason(drill('d1', 'lportal_retail')), undefined, 'a listed database stays allowed');
    assert.equal(reason(drill('d1', own('d2'))), 'DatabaseNotAllowed', "another drill's name");
    assert.equal(reason(drill('d1', own('d1', 'another-schedule'))), 'DatabaseNotAllowed', "another schedule's name");
    assert.equal(reason(drill('d1', own('d1', SCHEDULE, 'proj-other-prd'))), 'DatabaseNotAllowed', "the name of a drill in another project's namespace");
    assert.equal(reason(drill('d1', own('d1'), {}, null)), 'DatabaseNotAllowed', 'a drill no schedule controls uses a listed database');
    assert.equal(reason(drill('d1', 'lc2_drill_00000000000000000000')), 'DatabaseNotAllowed');
    assert.equal(reason(drill('d1', own('d1'), { drill: false })), 'DatabaseNotAllowed', 'only a drill (which creates and drops only its own) gets the name');
    assert.equal(reason(drill('d1', own('d1'), { approveOverwrite: true })), 'DatabaseNotAllowed');
    const elsewhere = drill('d1', own('d1'), { database: { instanceId: 'other-db:5432', databaseName: own('d1'), credentialsSecretRef: { name: 'db' } } });
    assert.equal(reason(elsewhere), 'InstanceNotAllowed', 'the instance is checked as ever');
  });

  it('through the hook: the derived name passes the boundary, an unlisted one is refused without a Job', async () => {
    const run = async (parent: ReturnType<typeof drill>) => {
      const res = await post(`${hook.url}/restorerequest/sync`, { parent, children: {}, related: related(shared, other) });
      return (res.body.status as { conditions: Array<{ type: string; reason: string }> }).conditions.find((c) => c.type === 'Ready')?.reason;
    };
    assert.equal(await run(drill('d3', 'lc2_drill_0123456789abcdef0123')), 'DatabaseNotAllowed');
    // The backup it names is not among the related objects: past the boundary, the drill fails for that.
    assert.equal(await run(drill('d3', own('d3'))), 'BackupNotFound');
    // Only the controller reference of OUR BackupSchedule kind counts: another group's kind of that name does not.
    const foreign = drill('d3', own('d3'));
    foreign.metadata.ownerReferences = foreign.metadata.ownerReferences!.map((r) => ({ ...r, apiVersion: 'example.com/v1' }));
    assert.equal(await run(foreign), 'DatabaseNotAllowed');
  });
});
