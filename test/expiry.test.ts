// retentionDays on a standalone BackupRequest: at expiry its data goes (the Delete path) and the
// resource stays as the record with Expired=True; before that the hook only asks to be woken up.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHook, post, type Hook } from './support/inProcessHook.ts';
import { backupRequest } from './support/resources.ts';
import type { BackupRequest, BackupRequestStatus } from '../core/crd.ts';

let hook: Hook;
let now = '2026-11-23T12:00:00Z';
before(async () => { hook = await startHook({ now: () => now }); });
after(async () => { await hook.close(); });

function finished(name: string, extra: Partial<BackupRequest['metadata']> = {}): BackupRequest {
  const b = backupRequest(name, { retentionDays: 7 });
  const prefix = `retail/prd/${name}-1/`;
  return {
    ...b, metadata: { ...b.metadata, ...extra },
    status: {
      phase: 'Succeeded', backupId: `${name}-1`, location: { bucket: 'lc2-backups', prefix }, completionTime: '2026-11-10T02:00:00Z',
      conditions: [{ type: 'Ready', status: 'True', reason: 'BackupSucceeded', message: 'done', lastTransitionTime: '2026-11-10T02:00:00Z' }],
    },
  };
}

describe('retentionDays on a standalone backup', () => {
  it('before expiry: nothing but a wake-up at the expiry time', async () => {
    now = '2026-11-16T02:00:00Z';
    const res = await post(`${hook.url}/backuprequest/sync`, { parent: finished('early'), children: {}, related: {} });
    assert.deepEqual(res.body.status, finished('early').status, 'status untouched');
    assert.equal(res.body.resyncAfterSeconds, 86_400, 'capped at a day, then asked again');
    now = '2026-11-17T01:59:00Z';
    const soon = await post(`${hook.url}/backuprequest/sync`, { parent: finished('early'), children: {}, related: {} });
    assert.equal(soon.body.resyncAfterSeconds, 61);
  });

  it('after expiry: deletes exactly its own folder, then records Expired and stays quiet', async () => {
    now = '2026-11-23T12:00:00Z';
    const parent = finished('old');
    const prefix = parent.status!.location!.prefix;
    for (const k of [`${prefix}database.pgdump.zst`, `${prefix}dl/a`, `${prefix}manifest.json`, 'retail/prd/other-1/manifest.json']) await hook.store.put('lc2-backups', k, 'x', 'x');
    // A newer good backup of the environment exists (another namespace's too counts): this one may go.
    const newer = { ...finished('newer'), metadata: { ...finished('newer').metadata, namespace: 'proj-retail-other' } };
    newer.status!.completionTime = '2026-11-22T02:00:00Z';
    const related = { 'BackupRequest.backup.liferay.cloud/v1alpha1': { 'proj-retail-other/newer': newer, [`proj-retail-prd/${parent.metadata.name}`]: parent } };
    const res = await post(`${hook.url}/backuprequest/sync`, { parent, children: {}, related });
    const status = res.body.status as BackupRequestStatus;
    assert.equal(status.phase, 'Succeeded');
    const expired = status.conditions!.find((c) => c.type === 'Expired')!;
    assert.equal(expired.status, 'True');
    assert.match(expired.message, /retentionDays 7 passed on 2026-11-17T02:00:00.000Z: the backup's data was deleted/);
    assert.deepEqual(await hook.store.list('lc2-backups', prefix), []);
    assert.ok(await hook.store.head('lc2-backups', 'retail/prd/other-1/manifest.json'), 'another backup is untouched');
    const again = await post(`${hook.url}/backuprequest/sync`, { parent: { ...parent, status }, children: {}, related: {} });
    assert.deepEqual(again.body.status, status);
    assert.equal(again.body.resyncAfterSeconds, undefined);
  });

  it('the environment\'s newest good backup outlives its retentionDays until a newer one succeeded', async () => {
    now = '2026-11-23T12:00:00Z';
    const parent = finished('only');
    const key = `${parent.status!.location!.prefix}manifest.json`;
    await hook.store.put('lc2-backups', key, 'x', 'x');
    const older = finished('older');
    older.status!.completionTime = '2026-11-01T02:00:00Z';
    const related = { 'BackupRequest.backup.liferay.cloud/v1alpha1': { 'proj-retail-prd/older': older, 'proj-retail-prd/only': parent } };
    const res = await post(`${hook.url}/backuprequest/sync`, { parent, children: {}, related });
    assert.equal((res.body.status as BackupRequestStatus).conditions!.some((c) => c.type === 'Expired'), false);
    assert.ok(await hook.store.head('lc2-backups', key), 'kept: it is the newest recovery point');
    assert.equal(res.body.resyncAfterSeconds, 3600, 'asked again later');
  });

  it('a scheduled backup is left to its schedule', async () => {
    now = '2026-11-23T12:00:00Z';
    const parent = finished('scheduled', { ownerReferences: [{ apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupSchedule', name: 'nightly', uid: 'u', controller: true }] });
    await hook.store.put('lc2-backups', `${parent.status!.location!.prefix}manifest.json`, 'x', 'x');
    const res = await post(`${hook.url}/backuprequest/sync`, { parent, children: {}, related: {} });
    assert.equal((res.body.status as BackupRequestStatus).conditions!.some((c) => c.type === 'Expired'), false);
    assert.ok(await hook.store.head('lc2-backups', `${parent.status!.location!.prefix}manifest.json`));
  });
});
