// The related set of a BackupRequest sync does not grow with history: related rules select by the
// labels the DecoratorController sets (hooks/backup/labels.ts) - active backups, this backup's own
// dependents, and its environment's finished ones only where needed. Figures at 1k/5k/20k on the
// real kube-apiserver: bench/scale.ts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHook, post, type Hook } from './support/inProcessHook.ts';
import { backupRequest } from './support/resources.ts';
import { customizeBackup } from '../hooks/backup/sync.ts';
import { backupIdOf } from '../core/layout.ts';
import { labelValueOf } from '../hooks/backup/labels.ts';

const GROUP = 'backup.liferay.cloud/v1alpha1';
let hook: Hook;
before(async () => { hook = await startHook(); });
after(async () => { await hook.close(); });

describe('the related set follows labels, not history', () => {
  it('a backup relates its tenant, the active backups and its own dependents; finished history only when it needs it', () => {
    const plain = backupRequest('nightly');
    const own = labelValueOf(backupIdOf('nightly', plain.metadata.uid!));
    assert.deepEqual(customizeBackup(plain).relatedResources, [
      { apiVersion: GROUP, resource: 'backuptenants', names: ['retail'] },
      { apiVersion: GROUP, resource: 'backuprequests', labelSelector: { matchLabels: { 'backup.liferay.cloud/active': 'true' } }, namespaceSelector: {} },
      // Not labelled yet (older than the labelling, or the decorator lags): always travel.
      { apiVersion: GROUP, resource: 'backuprequests', labelSelector: { matchExpressions: [{ key: 'backup.liferay.cloud/active', operator: 'DoesNotExist' }] }, namespaceSelector: {} },
      { apiVersion: GROUP, resource: 'backuprequests', labelSelector: { matchLabels: { 'backup.liferay.cloud/base': own } }, namespaceSelector: {} },
    ]);
    const incremental = backupRequest('incr', { documentLibrary: { sourceBucket: 'liferay-dl', destinationBucket: 'lc2-backups', incremental: true } });
    assert.deepEqual(customizeBackup(incremental).relatedResources.at(-1), { apiVersion: GROUP, resource: 'backuprequests',
      labelSelector: { matchLabels: { 'backup.liferay.cloud/project': 'retail', 'backup.liferay.cloud/environment': 'prd', 'backup.liferay.cloud/active': 'false' } }, namespaceSelector: {} });
    assert.equal(customizeBackup(backupRequest('kept', { retentionDays: 7 })).relatedResources.length, 5, 'retentionDays needs the environment\'s newest recovery point');
  });

  it('the labels: active until an hour after it finished, project and environment, the incremental base as a label value', async () => {
    const labels = async (status: object) => (await post(`${hook.url}/backuprequest/labels`, { object: { ...backupRequest('x'), status }, attachments: {}, related: {} })).body.labels as Record<string, string>;
    assert.deepEqual(await labels({}), { 'backup.liferay.cloud/active': 'true', 'backup.liferay.cloud/project': 'retail', 'backup.liferay.cloud/environment': 'prd' });
    assert.equal((await labels({ phase: 'Queued' }))['backup.liferay.cloud/active'], 'true');
    assert.equal((await labels({ phase: 'Failed' }))['backup.liferay.cloud/active'], 'false', 'failed without ever starting: out of the queue at once');
    const ran = { operations: { export: { id: 'x', state: 'Succeeded' } } };
    assert.equal((await labels({ phase: 'Succeeded', completionTime: new Date(Date.now() - 60_000).toISOString(), ...ran }))['backup.liferay.cloud/active'], 'true', 'still counts in its project\'s rank for an hour');
    assert.equal((await labels({ phase: 'Succeeded', completionTime: new Date(Date.now() - 7_200_000).toISOString(), ...ran }))['backup.liferay.cloud/active'], 'false');
    const base = `${'n'.repeat(150)}-1a2b3c4d`;
    const value = (await labels({ phase: 'Succeeded', incrementalBase: { backupId: base, prefix: 'p' } }))['backup.liferay.cloud/base']!;
    assert.equal(value, labelValueOf(base));
    assert.ok(value.length <= 63 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(value));
  });

  it('the queue is computed from the backups labelled active only: two parents that also saw different finished ones never both wait on each other', async () => {
    // Finished ones that only some parents relate (their environment's history) carry active=false.
    const finished = (name: string, project: string) => {
      const b = backupRequest(name, { projectId: project });
      return { ...b, metadata: { ...b.metadata, labels: { 'backup.liferay.cloud/active': 'false' } },
        status: { phase: 'Succeeded' as const, completionTime: '2026-11-23T02:01:00Z', operations: { export: { id: 'x', state: 'Succeeded' as const } } } };
    };
    const a = backupRequest('a');
    const c = { ...backupRequest('c', { projectId: 'other' }), metadata: { ...backupRequest('c').metadata, namespace: 'proj-other-prd', creationTimestamp: '2026-11-23T02:00:01Z' } };
    const solo = await startHook({ now: () => '2026-11-23T02:02:00Z', policy: { tenancy: 'off', maxConcurrentPerProject: 2, maxConcurrentGlobal: 1 } });
    try {
      const view = (extra: object) => ({ [`BackupRequest.${GROUP}`]: { 'proj-retail-prd/a': a, 'proj-other-prd/c': c, ...extra } });
      const ra = await post(`${solo.url}/backuprequest/sync`, { parent: a, children: {}, related: view({ 'proj-retail-prd/f': finished('f', 'retail') }) });
      const rc = await post(`${solo.url}/backuprequest/sync`, { parent: c, children: {}, related: view({ 'proj-other-prd/g': finished('g', 'other') }) });
      const phases = [ra, rc].map((r) => (r.body.status as { phase: string }).phase);
      assert.equal(phases.filter((p) => p !== 'Queued').length, 1, `exactly one starts: ${phases.join(', ')}`);
    } finally { await solo.close(); }
  });

  it('a backup without its labels yet never starts: two unlabelled backups cannot both take the last slot', async () => {
    const fresh = backupRequest('unlabelled');
    delete fresh.metadata.labels;
    const res = await post(`${hook.url}/backuprequest/sync`, { parent: fresh, children: {}, related: { [`BackupRequest.${GROUP}`]: {} } });
    const status = res.body.status as { phase: string; queue: { reason: string } };
    assert.equal(status.phase, 'Queued');
    assert.match(status.queue.reason, /waiting for its labels/);
    assert.deepEqual(res.body.children, []);
  });
});
