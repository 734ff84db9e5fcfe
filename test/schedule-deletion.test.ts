// Deleting, renaming or pruning a BackupSchedule never deletes its backups' data by surprise: a
// scheduled backup's finalize deletes data only when the API server shows its schedule alive (the
// schedule's own retention decision), or when the schedule asked for it (backupsOnDeletion: Delete).
// The real API server path (background and foreground cascading deletion) is in test/kube.test.ts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHook, post, type Hook } from './support/inProcessHook.ts';
import { backupRequest } from './support/resources.ts';
import type { BackupRequest, BackupSchedule } from '../core/crd.ts';
import { ON_SCHEDULE_DELETION_ANNOTATION } from '../hooks/schedule/machine.ts';

const schedules = new Map<string, BackupSchedule>();
let hook: Hook;
let bare: Hook;
before(async () => {
  const readParent = async (claimed: BackupRequest) => claimed;
  hook = await startHook({ readParent, readSchedule: async (ns, name) => schedules.get(`${ns}/${name}`) });
  bare = await startHook({ readParent });
});
after(async () => { await hook.close(); await bare.close(); });

function scheduled(name: string, onDeletion?: 'Retain' | 'Delete'): BackupRequest {
  const b = backupRequest(name, { deletionPolicy: 'Delete' });
  b.metadata.deletionTimestamp = '2026-11-24T00:00:00Z';
  b.metadata.ownerReferences = [{ apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupSchedule', name: 'nightly', uid: 'schedule-uid', controller: true }];
  if (onDeletion) b.metadata.annotations = { [ON_SCHEDULE_DELETION_ANNOTATION]: onDeletion };
  b.status = { phase: 'Succeeded', backupId: `${name}-00000000`, location: { bucket: 'lc2-backups', prefix: `retail/prd/${name}-00000000/` } };
  return b;
}
const schedule = (uid: string, deleting = false): BackupSchedule => ({ apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupSchedule',
  metadata: { name: 'nightly', namespace: 'proj-retail-prd', uid, ...(deleting ? { deletionTimestamp: '2026-11-24T00:00:00Z' } : {}) }, spec: { schedule: '@daily', template: { spec: backupRequest('t').spec! } } });

describe('a schedule that goes away keeps its backups\' data', () => {
  const rows: Array<[string, BackupSchedule | undefined, 'Retain' | 'Delete' | undefined, boolean]> = [
    ['its live schedule dropped it (retention): deleted', schedule('schedule-uid'), 'Retain', true],
    ['its schedule is gone (background cascading): kept', undefined, 'Retain', false],
    ['its schedule is being deleted (foreground cascading, Argo CD prune): kept', schedule('schedule-uid', true), 'Retain', false],
    ['a new schedule of the same name (a rename and back): kept', schedule('another-uid'), 'Retain', false],
    ['made before the annotation existed, schedule gone: kept', undefined, undefined, false],
    ['its schedule said backupsOnDeletion: Delete, schedule gone: deleted', undefined, 'Delete', true],
  ];
  for (const [title, owner, onDeletion, deleted] of rows) {
    it(title, async () => {
      const b = scheduled(`b${rows.findIndex((r) => r[0] === title)}`, onDeletion);
      const key = `${b.status!.location!.prefix}database.pgdump.zst`;
      await hook.store.put('lc2-backups', key, 'data', 'x');
      schedules.clear();
      if (owner) schedules.set('proj-retail-prd/nightly', owner);
      const res = await post(`${hook.url}/backuprequest/finalize`, { parent: b, children: {}, related: {}, finalizing: true });
      assert.equal(res.body.finalized, true);
      assert.equal(!(await hook.store.head('lc2-backups', key)), deleted);
    });
  }

  it('without a way to read the schedule, a scheduled backup keeps its data', async () => {
    const b = scheduled('nobody', 'Retain');
    const key = `${b.status!.location!.prefix}database.pgdump.zst`;
    await bare.store.put('lc2-backups', key, 'data', 'x');
    const res = await post(`${bare.url}/backuprequest/finalize`, { parent: b, children: {}, related: {}, finalizing: true });
    assert.equal(res.body.finalized, true);
    assert.ok(await bare.store.head('lc2-backups', key));
  });
});
