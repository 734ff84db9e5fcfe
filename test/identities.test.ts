// Identities are namespace/name (or UID), never a name alone: with hook v2 Metacontroller sends
// related objects from EVERY namespace keyed `namespace/name`, and schedules in different
// environments produce the same child names at the same minute. Each row collides names across
// namespaces and checks the queue, incremental dependents, schedule children and restores.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHook, post, TEST_POLICY, type Hook } from './support/inProcessHook.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';
import type { BackupRequest, BackupRequestStatus, BackupTenant } from '../core/crd.ts';
import { objectsOf, relatedObject } from '../hooks/contract/objects.ts';

const GROUP = 'backup.liferay.cloud/v1alpha1';
const RETAIL: BackupTenant = { apiVersion: GROUP, kind: 'BackupTenant', metadata: { name: 'retail' }, spec: { namespaces: ['proj-retail-prd', 'proj-retail-uat'], databaseInstances: ['127.0.0.1:5432'], documentLibraryBuckets: ['liferay-dl', 'restored-dl'], backupBuckets: ['lc2-backups'] } };
const inNs = (b: BackupRequest, namespace: string, status?: BackupRequestStatus): BackupRequest => ({ ...b, metadata: { ...b.metadata, namespace }, ...(status ? { status } : {}) });
const related = (...objects: BackupRequest[]) => ({
  [`BackupTenant.${GROUP}`]: { retail: RETAIL },
  [`BackupRequest.${GROUP}`]: Object.fromEntries(objects.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o])),
});
const running: BackupRequestStatus = { phase: 'ExportInProgress', operations: { export: { id: 'x', state: 'Running' } } };

let hook: Hook;
before(async () => { hook = await startHook({ policy: { ...TEST_POLICY, tenancy: 'enforce' } }); });
after(async () => { await hook.close(); });

describe('identities across namespaces', () => {
  it('objects are filed by namespace/name whatever their map keys say', () => {
    const a = inNs(backupRequest('nightly-29384160'), 'proj-retail-prd');
    const b = inNs(backupRequest('nightly-29384160'), 'proj-retail-uat');
    const groups = { [`BackupRequest.${GROUP}`]: { 'nightly-29384160': a, 'x/y': b } };
    assert.deepEqual([...objectsOf(groups, 'BackupRequest', GROUP).keys()].sort(), ['proj-retail-prd/nightly-29384160', 'proj-retail-uat/nightly-29384160']);
    assert.equal(relatedObject(groups, 'BackupRequest', GROUP, 'proj-retail-uat', 'nightly-29384160'), b);
  });

  it('queue: two running backups of one project with the same name in two namespaces both count against its cap of 2', async () => {
    const prd = inNs(backupRequest('nightly-29384160'), 'proj-retail-prd', running);
    const uat = inNs(backupRequest('nightly-29384160'), 'proj-retail-uat', running);
    const third = inNs(backupRequest('manual'), 'proj-retail-prd');
    const res = await post(`${hook.url}/backuprequest/sync`, { parent: third, children: {}, related: related(prd, uat, third) });
    const status = res.body.status as BackupRequestStatus;
    assert.equal(status.phase, 'Queued');
    assert.match(status.queue!.reason, /2 of project retail's 2 allowed backups are running/);
  });

  it('incremental: a dependent with the same name as another namespace\'s backup still keeps its base\'s data', async () => {
    const base = inNs(backupRequest('nightly-1', { deletionPolicy: 'Delete' }), 'proj-retail-prd', {
      phase: 'Succeeded', backupId: 'nightly-1-aaaaaaaa', location: { bucket: 'lc2-backups', prefix: 'retail/prd/nightly-1-aaaaaaaa/' },
    });
    base.metadata.deletionTimestamp = '2026-11-24T00:00:00Z';
    const unrelatedTwin = inNs(backupRequest('nightly-2'), 'proj-retail-uat', { phase: 'Succeeded' });
    const dependent = inNs(backupRequest('nightly-2'), 'proj-retail-prd', { phase: 'Succeeded', incrementalBase: { backupId: 'nightly-1-aaaaaaaa', prefix: 'retail/prd/nightly-1-aaaaaaaa/dl/' } });
    for (const order of [[dependent, unrelatedTwin], [unrelatedTwin, dependent]]) {
      const res = await post(`${hook.url}/backuprequest/finalize`, { parent: base, children: {}, related: related(base, ...order), finalizing: true });
      assert.equal(res.body.finalized, false);
      assert.match(JSON.stringify(res.body.status), /DeletionWaitsForDependents.*proj-retail-prd\/nightly-2/);
    }
  });

  it('schedules: only children in the schedule\'s own namespace are its children', async () => {
    const schedule = { apiVersion: GROUP, kind: 'BackupSchedule', metadata: { name: 'nightly', namespace: 'proj-retail-prd', uid: 's', generation: 1, creationTimestamp: '2026-11-23T00:00:00Z' },
      spec: { schedule: '0 2 * * *', template: { spec: backupRequest('x').spec } } };
    const foreign = { ...inNs(backupRequest('nightly-29384160'), 'proj-retail-uat'), metadata: { ...inNs(backupRequest('nightly-29384160'), 'proj-retail-uat').metadata, labels: { 'backup.liferay.cloud/schedule': 'nightly' } } };
    const res = await post(`${hook.url}/backupschedule/sync`, { parent: schedule, children: { [`BackupRequest.${GROUP}`]: { 'proj-retail-uat/nightly-29384160': foreign } }, related: {} });
    assert.equal(res.status, 200);
    assert.ok(!JSON.stringify(res.body.status).includes('proj-retail-uat'), 'another namespace\'s object is never counted as this schedule\'s');
    assert.ok(!(res.body.children as Array<{ metadata: { name: string } }>).some((c) => c.metadata.name === 'nightly-29384160'), 'the other namespace\'s object is not kept as a child');
  });

  it('restores: backupRef names the restore\'s own namespace; the same name elsewhere is not the backup', async () => {
    const foreign = inNs(backupRequest('nightly'), 'proj-retail-uat', { phase: 'Succeeded', manifest: { bucket: 'lc2-backups', key: 'retail/uat/nightly-1/manifest.json', schemaVersion: 'v1' } });
    const rr = restoreRequest('r', { source: { backupRef: { name: 'nightly' } } });
    const res = await post(`${hook.url}/restorerequest/sync`, { parent: rr, children: {}, related: related(foreign) });
    const status = res.body.status as { phase: string; conditions: Array<{ type: string; reason: string }> };
    assert.equal(status.phase, 'Pending');
    assert.equal(status.conditions.find((c) => c.type === 'Ready')!.reason, 'BackupNotFound');
    const customize = await post(`${hook.url}/restorerequest/customize`, { parent: rr });
    assert.deepEqual((customize.body.relatedResources as Array<Record<string, unknown>>)[0], { apiVersion: GROUP, resource: 'backuprequests', names: ['nightly'], namespace: 'proj-retail-prd' });
  });
});
