// Per-project concurrency and fairness: 50 projects × 20 BackupRequests through the same pure
// decision the hook runs (decideBackup + the admission plan it gets from related objects), with a
// simulated clock of rounds; Jobs take two rounds per step. A second, small scenario runs over HTTP.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideBackup, type BackupObservations } from '../hooks/backup/machine.ts';
import { ACTIVE_LABEL, backupLabels } from '../hooks/backup/labels.ts';
import { admissionPlan, admission, admissionKey } from '../hooks/backup/admission.ts';
import { localBackupProblems, localBackupSteps } from '../providers/local/backup.ts';
import type { BackupStepResult, BackupPlanner } from '../core/provider.ts';
import { statusErrors } from '../core/validation/schema.ts';
import { backupRequest } from './support/resources.ts';
import { startHook, post, TEST_POLICY } from './support/inProcessHook.ts';
import type { BackupRequest } from '../core/crd.ts';

const config = { image: 'x', storage: { kind: 'file' as const, root: '/s' }, backoffLimit: 1, activeDeadlineSeconds: 60, transfers: 1 };
const planner: BackupPlanner = { problems: localBackupProblems, steps: (ctx) => localBackupSteps(ctx, config) };
const db: BackupStepResult = { database: { engine: 'postgresql', format: 'f', artifact: 'k', sizeBytes: 5, sha256: 'b'.repeat(64), tool: 't' } };
const dl: BackupStepResult = { documentLibrary: { objectCount: 2, totalBytes: 9, excludedPatterns: [], tool: 't' } };

function br(project: string, i: number, created: number): BackupRequest {
  const b = backupRequest(`${project}-${String(i).padStart(2, '0')}`, { projectId: project, environment: 'prd', documentLibrary: { sourceBucket: 'liferay-dl', destinationBucket: 'lc2-backups' } });
  return { ...b, metadata: { ...b.metadata, namespace: `ns-${project}`, creationTimestamp: new Date(Date.parse('2026-11-23T00:00:00Z') + created * 1000).toISOString() } };
}

describe('fairness', () => {
  it('50 projects × 20 backups: per-project cap, global cap, every first before any third, all end', () => {
    const policy = { perProject: () => 2, global: 20 };
    const projects = Array.from({ length: 50 }, (_, p) => `p${String(p).padStart(2, '0')}`);
    // Worst case for FIFO: project after project, each submitting its 20 at once.
    let all = projects.flatMap((p, pi) => Array.from({ length: 20 }, (_, i) => br(p, i, pi * 20 + i)));
    const stepAge = new Map<string, number>();
    const startedAt = new Map<string, number>();
    let maxGlobal = 0;
    const everQueued = new Set<string>();
    for (let round = 0; round < 400 && all.some((b) => b.status?.phase !== 'Succeeded'); round += 1) {
      const now = new Date(Date.parse('2026-11-23T01:00:00Z') + round * 60_000).toISOString();
      // As the hook sees them: only backups the decorator labels active travel in the queue's related set.
      const plan = admissionPlan(all.filter((b) => backupLabels(b, Date.parse(now))[ACTIVE_LABEL] === 'true'), { ...policy, now });
      all = all.map((b) => {
        if (b.status?.phase === 'Succeeded' || b.status?.phase === 'Failed') return b;
        const observations: BackupObservations = {};
        const gate = { admission: plan.get(admissionKey(b)) ?? { admitted: true as const } };
        let d = decideBackup({ parent: b, existingChildren: new Set(), planner, observations, now, gate });
        for (let i = 0; d.need && i < 6; i += 1) {
          if (d.need.kind === 'observeStep') {
            const k = `${admissionKey(b)}/${d.need.step.name}`;
            const age = (stepAge.get(k) ?? 0) + 1;
            stepAge.set(k, age);
            observations.steps = { ...observations.steps, [d.need.step.name]: age < 2 ? { state: 'running' } : { state: 'done', result: d.need.step.name === 'export' ? db : dl, completedAt: now } };
          } else observations.manifest = { ok: true };
          d = decideBackup({ parent: b, existingChildren: new Set(), planner, observations, now, gate });
        }
        assert.deepEqual(statusErrors('BackupRequest', d.status), []);
        if (d.status.operations?.export && !startedAt.has(admissionKey(b))) startedAt.set(admissionKey(b), round);
        if (d.status.phase === 'Queued') everQueued.add(admissionKey(b));
        return { ...b, status: d.status };
      });
      const running = all.filter((b) => b.status?.operations && b.status.phase !== 'Succeeded' && b.status.phase !== 'Failed');
      maxGlobal = Math.max(maxGlobal, running.length);
      for (const p of projects) assert.ok(running.filter((b) => b.spec!.projectId === p).length <= 2, `round ${round}: more than 2 of ${p} running`);
      assert.ok(running.length <= 20, `round ${round}: ${running.length} running`);
    }
    assert.ok(all.every((b) => b.status?.phase === 'Succeeded'), 'all end Succeeded');
    assert.equal(maxGlobal, 20, 'the global cap was reached, so the test exercised it');
    const startOf = (p: string, i: number) => startedAt.get(`ns-${p}/${p}-${String(i).padStart(2, '0')}`)!;
    const lastFirst = Math.max(...projects.map((p) => startOf(p, 0)));
    const firstThird = Math.min(...projects.map((p) => startOf(p, 2)));
    assert.ok(lastFirst < firstThird, `every project's first (last one at round ${lastFirst}) starts before any project's third (first one at round ${firstThird})`);
    assert.ok(everQueued.size >= 980, `${everQueued.size} backups waited Queued at some point`);
  });

  it('a tenant with 500 queued backups does not delay another tenant\'s first', () => {
    const big = Array.from({ length: 500 }, (_, i) => br('big', i, i));
    const running = big.slice(0, 2).map((b) => ({ ...b, status: { phase: 'ExportInProgress' as const, operations: { export: { id: 'x', state: 'Running' as const } } } }));
    const all = [...running, ...big.slice(2)];
    const newcomer = br('small', 0, 10_000);
    assert.deepEqual(admission(newcomer, all, { perProject: () => 2, global: 20 }), { admitted: true });
    const waiting = admission(big[10]!, [...all, newcomer], { perProject: () => 2, global: 20 });
    assert.deepEqual(waiting, { admitted: false, position: 9, reason: "2 of project big's 2 allowed backups are running" });
  });

  it('over HTTP: a third backup of a project waits Queued with its position, and starts once one finishes', async () => {
    const hook = await startHook({ policy: { ...TEST_POLICY, maxConcurrentPerProject: 2 } });
    try {
      const [a, b, c] = [br('retail', 0, 0), br('retail', 1, 1), br('retail', 2, 2)];
      const running = (x: BackupRequest) => ({ ...x, status: { phase: 'ExportInProgress', operations: { export: { id: 'j', state: 'Running' } } } });
      const related = (xs: object[]) => ({ 'BackupRequest.backup.liferay.cloud/v1alpha1': Object.fromEntries(xs.map((x) => [`${(x as BackupRequest).metadata.namespace}/${(x as BackupRequest).metadata.name}`, x])) });
      const res = await post(`${hook.url}/backuprequest/sync`, { parent: c, children: {}, related: related([running(a), running(b), c]) });
      const status = res.body.status as { phase: string; queue: { position: number; reason: string } };
      assert.equal(status.phase, 'Queued');
      assert.deepEqual(status.queue, { position: 1, reason: "2 of project retail's 2 allowed backups are running" });
      assert.deepEqual(res.body.children, []);
      assert.equal(res.body.resyncAfterSeconds, 30);
      const done = { ...running(a), status: { phase: 'Succeeded', completionTime: '2026-11-23T00:00:05Z' } };
      const again = await post(`${hook.url}/backuprequest/sync`, { parent: { ...c, status: res.body.status }, children: {}, related: related([done, running(b), c]) });
      assert.equal((again.body.status as { phase: string }).phase, 'ExportInProgress');
      assert.equal((again.body.status as { queue?: unknown }).queue, undefined);
      assert.equal((again.body.children as unknown[]).length, 1);
    } finally { await hook.close(); }
  });
});
