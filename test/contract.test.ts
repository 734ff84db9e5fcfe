// The Metacontroller hook contract over HTTP (docs/metacontroller-contract.md): v1 and v2 child
// keys, stale status, every Job state, finalize, 5xx instead of partial answers, large bodies.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startHook, post, TEST_POLICY, type Hook } from './support/inProcessHook.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';
import { createApp } from '../hooks/server/app.ts';
import { backupShell, restoreShell } from '../app/registry.ts';
import { trustRequest } from '../hooks/backup/sync.ts';
import type { ObjectStore } from '../core/provider.ts';
import type { BackupRequest, BackupRequestStatus } from '../core/crd.ts';
import type { KubeObject } from '../core/kube.ts';

let hook: Hook;
before(async () => { hook = await startHook({ now: () => '2026-11-23T02:00:05Z' }); });
after(async () => { await hook.close(); });

type Body = { status: BackupRequestStatus; children: KubeObject[]; resyncAfterSeconds?: number; finalized?: boolean; error?: string };
const sha = 'a'.repeat(64);

function request(parent: BackupRequest, jobs: KubeObject[], version: 'v1' | 'v2' = 'v2', finalizing = false) {
  const map = Object.fromEntries(jobs.map((j) => [version === 'v2' ? `${parent.metadata.namespace}/${j.metadata.name}` : j.metadata.name, j]));
  return { controller: { metadata: { name: 'backuprequest' } }, parent, children: { 'Job.batch/v1': map }, related: {}, finalizing };
}

async function sync(parent: BackupRequest, jobs: KubeObject[] = [], version: 'v1' | 'v2' = 'v2'): Promise<Body> {
  const res = await post(`${hook.url}/backuprequest/sync`, request(parent, jobs, version));
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as unknown as Body;
}

const withStatus = (p: BackupRequest, status: BackupRequestStatus): BackupRequest => ({ ...p, status: { ...status, observedGeneration: 1 } });
const complete = (job: KubeObject): KubeObject => ({ ...job, status: { succeeded: 1, completionTime: '2026-11-23T02:07:00Z', conditions: [{ type: 'Complete', status: 'True' }] } });
const failed = (job: KubeObject): KubeObject => ({ ...job, status: { failed: 3, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }] } });
const running = (job: KubeObject): KubeObject => ({ ...job, status: { active: 1 } });

async function writeResult(status: BackupRequestStatus, step: string, body: object): Promise<void> {
  await hook.store.put(status.location!.bucket, `${status.location!.prefix}results/${step}.json`, JSON.stringify(body), 'application/json');
}
const dumpResult = (status: BackupRequestStatus, size: number) => ({
  version: 1, step: 'export', status: 'succeeded', startedAt: '2026-11-23T02:00:06Z', completedAt: '2026-11-23T02:07:00Z',
  artifact: `${status.location!.prefix}database.pgdump.zst`, sizeBytes: size, sha256: sha, tool: 'pg_dump (PostgreSQL) 15.19',
});

describe('sync', () => {
  it('first sync: ExportInProgress, one dump Job with a UID-derived name, credentials only as secretKeyRefs, resync while in flight', async () => {
    const parent = backupRequest('orders-nightly');
    const out = await sync(parent);
    assert.equal(out.status.phase, 'ExportInProgress');
    assert.equal(out.children.length, 1);
    const job = out.children[0]!;
    assert.equal(job.kind, 'Job');
    assert.equal(job.metadata.name, `orders-nightly-db-${parent.metadata.uid!.replace(/-/g, '').slice(0, 8)}`);
    assert.equal(out.status.operations?.export?.id, job.metadata.name);
    assert.equal(out.resyncAfterSeconds, 30);
    const env = (job.spec as { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string; valueFrom?: unknown }> }> } } }).template.spec.containers[0]!.env;
    const password = env.find((e) => e.name === 'LC2_DB_PASSWORD')!;
    assert.equal(password.value, undefined);
    assert.deepEqual(password.valueFrom, { secretKeyRef: { name: 'db-credentials', key: 'password' } });
    assert.ok(!('controller-uid' in (job.metadata.labels ?? {})), 'parent selector labels are never copied onto children');
  });

  it('answers identically for hook v1 (name) and v2 (namespace/name) child keys', async () => {
    const parent = backupRequest('keys');
    const first = await sync(parent);
    await writeResult(first.status, 'export', dumpResult(first.status, 1234));
    const job = complete(first.children[0]!);
    const v1 = await sync(withStatus(parent, first.status), [job], 'v1');
    const v2 = await sync(withStatus(parent, first.status), [job], 'v2');
    assert.deepEqual(v1, v2);
    assert.equal(v2.status.phase, 'TransferInProgress');
    assert.equal(v2.status.database?.sizeBytes, 1234);
    assert.deepEqual(v2.children.map((c) => c.metadata.name).sort(), [job.metadata.name, v2.status.operations!.transfer!.id].sort());
  });

  it('a stale parent (status not yet written) with its Job already created keeps the same Job', async () => {
    const parent = backupRequest('stale');
    const first = await sync(parent);
    const again = await sync(parent, [running(first.children[0]!)]);
    assert.deepEqual(again.children.map((c) => c.metadata.name), [first.children[0]!.metadata.name]);
    assert.equal(again.status.phase, 'ExportInProgress');
  });

  it('an in-flight parent is a fixed point: resending the answered status changes nothing', async () => {
    const parent = backupRequest('fixed');
    const first = await sync(parent);
    const job = running(first.children[0]!);
    const second = await sync(withStatus(parent, first.status), [job]);
    const third = await sync(withStatus(parent, second.status), [job]);
    assert.deepEqual(third, second);
    assert.equal(second.status.startTime, first.status.startTime);
  });

  it('a failed Job fails the backup with its reason and keeps the Job for its logs', async () => {
    const parent = backupRequest('jobfail');
    const first = await sync(parent);
    const out = await sync(withStatus(parent, first.status), [failed(first.children[0]!)]);
    assert.equal(out.status.phase, 'Failed');
    const ready = out.status.conditions!.find((c) => c.type === 'Ready')!;
    assert.equal(ready.reason, 'JobBackoffLimitExceeded');
    assert.match(ready.message, /Job jobfail-db-\w+: Job has reached the specified backoff limit; see its Pod logs/);
    assert.deepEqual(out.children.map((c) => c.metadata.name), [first.children[0]!.metadata.name]);
    assert.equal(out.resyncAfterSeconds, undefined);
  });

  it('a Job that completed without a result object fails with ResultMissing, never Succeeded', async () => {
    const parent = backupRequest('noresult');
    const first = await sync(parent);
    const out = await sync(withStatus(parent, first.status), [complete(first.children[0]!)]);
    assert.equal(out.status.phase, 'Failed');
    assert.equal(out.status.conditions!.find((c) => c.type === 'Ready')!.reason, 'ResultMissing');
  });

  it('a Job deleted while its step runs is returned again; a finished step\'s missing Job is not re-created', async () => {
    const parent = backupRequest('gone');
    const first = await sync(parent);
    const recreated = await sync(withStatus(parent, first.status), []);
    assert.deepEqual(recreated.children.map((c) => c.metadata.name), [first.children[0]!.metadata.name]);
    await writeResult(first.status, 'export', dumpResult(first.status, 10));
    const second = await sync(withStatus(parent, first.status), [complete(first.children[0]!)]);
    const dlJob = second.status.operations!.transfer!.id;
    const third = await sync(withStatus(parent, second.status), [running(second.children.find((c) => c.metadata.name === dlJob)!)]);
    assert.deepEqual(third.children.map((c) => c.metadata.name), [dlJob], 'the finished dump Job is not re-created');
  });

  it('reaches Succeeded only after the manifest is written and the artifact verified; a size mismatch fails', async () => {
    const parent = backupRequest('verify');
    const first = await sync(parent);
    const artifactKey = `${first.status.location!.prefix}database.pgdump.zst`;
    await hook.store.put('lc2-backups', artifactKey, 'x'.repeat(10), 'application/octet-stream');
    await writeResult(first.status, 'export', dumpResult(first.status, 11));
    const second = await sync(withStatus(parent, first.status), [complete(first.children[0]!)]);
    const dl = second.children.find((c) => c.metadata.name === second.status.operations!.transfer!.id)!;
    await writeResult(first.status, 'transfer', { version: 1, step: 'transfer', status: 'succeeded', startedAt: '2026-11-23T02:07:01Z', completedAt: '2026-11-23T02:09:00Z', objectCount: 3, totalBytes: 300, tool: 'rclone v1.60.1' });
    const third = await sync(withStatus(parent, second.status), [complete(first.children[0]!), complete(dl)]);
    assert.equal(third.status.phase, 'Failed');
    assert.equal(third.status.conditions!.find((c) => c.type === 'Ready')!.reason, 'VerificationFailed');
    assert.match(third.status.conditions!.find((c) => c.type === 'Ready')!.message, /has 10 bytes, the dump Job reported 11/);

    await writeResult(first.status, 'export', dumpResult(first.status, 10));
    const again = await sync(withStatus(parent, first.status), [complete(first.children[0]!)]);
    const fourth = await sync(withStatus(parent, again.status), [complete(first.children[0]!), complete(dl)]);
    assert.equal(fourth.status.phase, 'Succeeded');
    assert.equal(fourth.status.completionTime, '2026-11-23T02:09:00Z');
    assert.equal(fourth.status.totalSize, '310 B');
    const manifest = JSON.parse((await hook.store.get('lc2-backups', fourth.status.manifest!.key))!.toString());
    assert.equal(manifest.database.sha256, sha);
    assert.equal(manifest.documentLibrary.objectCount, 3);
  });
});

describe('finalize', () => {
  async function finishedParent(name: string, deletionPolicy: 'Retain' | 'Delete'): Promise<BackupRequest> {
    const parent = backupRequest(name, { deletionPolicy });
    const first = await sync(parent);
    // Metacontroller calls finalize only for a parent the API server shows as being deleted.
    const finished = withStatus(parent, { ...first.status, phase: 'Succeeded' });
    return { ...finished, metadata: { ...finished.metadata, deletionTimestamp: '2026-11-23T03:00:00Z' } };
  }

  it('Retain (the default) keeps the artifacts and finalizes at once', async () => {
    const parent = await finishedParent('retain', 'Retain');
    await hook.store.put('lc2-backups', `${parent.status!.location!.prefix}database.pgdump.zst`, 'data', 'x');
    const res = await post(`${hook.url}/backuprequest/sync`, request(parent, [], 'v2', true));
    assert.equal(res.body.finalized, true);
    assert.ok(await hook.store.head('lc2-backups', `${parent.status!.location!.prefix}database.pgdump.zst`));
  });

  it('Delete waits for Jobs to go, then deletes exactly this backup\'s folder', async () => {
    const parent = await finishedParent('delete', 'Delete');
    const prefix = parent.status!.location!.prefix;
    const sibling = prefix.replace(/\/$/, '-other/x');
    for (const k of [`${prefix}database.pgdump.zst`, `${prefix}dl/a/1.0`, `${prefix}manifest.json`, sibling]) await hook.store.put('lc2-backups', k, 'data', 'x');
    const job: KubeObject = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'delete-db-x' } };
    const waiting = await post(`${hook.url}/backuprequest/finalize`, request(parent, [job], 'v2', true));
    assert.equal(waiting.body.finalized, false);
    assert.deepEqual(waiting.body.children, []);
    assert.ok(await hook.store.head('lc2-backups', `${prefix}manifest.json`), 'nothing deleted while a Job may still write');
    const done = await post(`${hook.url}/backuprequest/finalize`, request(parent, [], 'v2', true));
    assert.equal(done.body.finalized, true);
    assert.deepEqual(await hook.store.list('lc2-backups', prefix), []);
    assert.ok(await hook.store.head('lc2-backups', sibling), 'a neighbouring folder is untouched');
  });
});

describe('HTTP level', () => {
  it('accepts a request body of several MB (managedFields-heavy objects)', async () => {
    const parent = backupRequest('big');
    (parent.metadata as unknown as Record<string, unknown>).managedFields = [{ manager: 'argocd', fieldsV1: { blob: 'x'.repeat(6 * 1024 * 1024) } }];
    const out = await sync(parent);
    assert.equal(out.status.phase, 'ExportInProgress');
  });

  it('malformed JSON and a missing parent are 400 with a JSON error', async () => {
    const bad = await post(`${hook.url}/backuprequest/sync`, '{"parent":');
    assert.equal(bad.status, 400);
    assert.equal(typeof bad.body.error, 'string');
    const noParent = await post(`${hook.url}/backuprequest/sync`, { children: {} });
    assert.equal(noParent.status, 400);
  });

  it('an internal error is a 500 with no status and no children, never a partial 200', async () => {
    const failing: ObjectStore = {
      get: async () => { throw new Error('boom'); }, put: async () => { throw new Error('boom'); },
      head: async () => { throw new Error('boom'); }, list: async () => { throw new Error('boom'); }, deleteMany: async () => { throw new Error('boom'); }, sha256: async () => { throw new Error('boom'); },
    };
    const local = { image: 'x', storage: { kind: 'file' as const, root: '/nonexistent' }, backoffLimit: 1, activeDeadlineSeconds: 60, transfers: 1 };
    const shell = backupShell({ local }, failing, undefined, TEST_POLICY);
    const broken = { ...shell, readParent: trustRequest, runtime: () => { throw new Error('planner exploded'); } };
    const app = createApp({ backup: broken, restore: restoreShell({ local }, failing, undefined, TEST_POLICY) });
    const server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const res = await post(`http://127.0.0.1:${port}/backuprequest/sync`, request(backupRequest('boom'), []));
      assert.equal(res.status, 500);
      assert.deepEqual(Object.keys(res.body), ['error']);
      // Delete finalize against a failing store: also 500, not "finalized".
      const finished = withStatus(backupRequest('boom2', { deletionPolicy: 'Delete' }), { phase: 'Succeeded', backupId: 'boom2-1', location: { bucket: 'b', prefix: 'retail/prd/boom2-1/' } });
      const parent = { ...finished, metadata: { ...finished.metadata, deletionTimestamp: '2026-11-23T03:00:00Z' } };
      const fin = await post(`http://127.0.0.1:${port}/backuprequest/sync`, request(parent, [], 'v2', true));
      assert.equal(fin.status, 500);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('a terminal backup makes no storage call at all', async () => {
    const calls: string[] = [];
    const spy: ObjectStore = {
      get: async () => { calls.push('get'); return null; }, put: async () => { calls.push('put'); },
      head: async () => { calls.push('head'); return null; }, list: async () => { calls.push('list'); return []; }, deleteMany: async () => { calls.push('delete'); }, sha256: async () => { calls.push('sha256'); return null; },
    };
    const h = await startHook({ store: spy });
    try {
      const parent = backupRequest('done');
      const first = await post(`${h.url}/backuprequest/sync`, request(parent, []));
      const status = { ...(first.body.status as BackupRequestStatus), phase: 'Succeeded' as const };
      calls.length = 0;
      const res = await post(`${h.url}/backuprequest/sync`, request(withStatus(parent, status), []));
      assert.equal((res.body.status as BackupRequestStatus).phase, 'Succeeded');
      assert.deepEqual(calls, []);
    } finally { await h.close(); }
  });

  it('serves /healthz, /readyz and Prometheus /metrics', async () => {
    assert.equal((await fetch(`${hook.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${hook.url}/readyz`)).status, 200);
    const metrics = await (await fetch(`${hook.url}/metrics`)).text();
    assert.match(metrics, /lc2_hook_sync_duration_seconds_count\{controller="backuprequest",hook="sync",outcome="ok"\} \d+/);
    assert.match(metrics, /lc2_phase_transitions_total\{kind="BackupRequest",provider="local",phase="ExportInProgress"\} \d+/);
  });

  it('customize asks for exactly the referenced BackupRequest', async () => {
    const res = await post(`${hook.url}/restorerequest/customize`, { controller: {}, parent: restoreRequest('r', { source: { backupRef: { name: 'nightly-1' } } }) });
    assert.deepEqual(res.body, { relatedResources: [
      { apiVersion: 'backup.liferay.cloud/v1alpha1', resource: 'backuprequests', names: ['nightly-1'], namespace: 'proj-retail-prd' },
      { apiVersion: 'backup.liferay.cloud/v1alpha1', resource: 'backuptenants', names: ['retail'] },
    ] });
  });

  it('a restore waits (not fails) while its backup is still running, and fails if it belongs to another project', async () => {
    const rr = restoreRequest('wait', { source: { backupRef: { name: 'nightly' } } });
    const br = { ...backupRequest('nightly'), status: { phase: 'TransferInProgress' } };
    const waiting = await post(`${hook.url}/restorerequest/sync`, { parent: rr, children: {}, related: { 'BackupRequest.backup.liferay.cloud/v1alpha1': { 'proj-retail-prd/nightly': br } } });
    assert.equal((waiting.body.status as { phase: string }).phase, 'Pending');
    assert.equal(waiting.body.resyncAfterSeconds, 30);
    const foreign = { ...backupRequest('nightly', { projectId: 'other' }), status: { phase: 'Succeeded' } };
    const denied = await post(`${hook.url}/restorerequest/sync`, { parent: rr, children: {}, related: { 'BackupRequest.backup.liferay.cloud/v1alpha1': { nightly: foreign } } });
    const ready = (denied.body.status as { phase: string; conditions: Array<{ type: string; reason: string }> });
    assert.equal(ready.phase, 'Failed');
    // Answered as "not found": nothing about another project's backup is revealed.
    assert.equal(ready.conditions.find((c) => c.type === 'Ready')!.reason, 'BackupNotFound');
    assert.deepEqual(denied.body.children, []);
  });
});
