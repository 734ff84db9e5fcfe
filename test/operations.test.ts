// Transient failures of a provider operation (pure): kept Running with attempts and notBefore,
// exponential backoff with jitter, no observation before notBefore, given up after MAX_ATTEMPTS in
// a row, reset by any answer; progress carried from one sync to the next.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { advance, backoffSeconds, MAX_ATTEMPTS, waitSeconds } from '../hooks/status/operations.ts';
import { decideBackup } from '../hooks/backup/machine.ts';
import { backupRequest } from './support/resources.ts';
import type { OperationStatus } from '../core/crd.ts';
import type { BackupStepResult, BackupPlanner } from '../core/provider.ts';

const op: OperationStatus = { id: 'lc2-s-abc', state: 'Running', startTime: '2026-11-23T02:00:00Z' };
const throttled = { state: 'failed' as const, reason: 'Throttling', message: 'Rate exceeded', retryable: true };

describe('operation retries (pure)', () => {
  it('backoff grows exponentially to a cap, jittered within [½, 1] of it, the same for every replica', () => {
    const waits = Array.from({ length: 10 }, (_, i) => backoffSeconds(i + 1, 'uid'));
    for (let i = 0; i < waits.length; i += 1) {
      const ceiling = Math.min(300, 5 * 2 ** i);
      assert.ok(waits[i]! >= Math.floor(ceiling / 2) && waits[i]! <= ceiling, `attempt ${i + 1}: ${waits[i]} in [${ceiling / 2}, ${ceiling}]`);
    }
    assert.deepEqual(waits, Array.from({ length: 10 }, (_, i) => backoffSeconds(i + 1, 'uid')));
    assert.notDeepEqual(waits, Array.from({ length: 10 }, (_, i) => backoffSeconds(i + 1, 'another-uid')), 'different resources spread out');
  });

  it('a transient failure keeps the operation Running with attempts and notBefore; the last one fails it', () => {
    let current = op;
    let now = Date.parse('2026-11-23T02:00:00Z');
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt += 1) {
      const next = advance(current, throttled, new Date(now).toISOString(), 'uid');
      assert.equal(next.kind, 'retry');
      assert.equal(next.op.state, 'Running');
      assert.equal(next.op.attempts, attempt);
      assert.equal(waitSeconds(next.op, new Date(now).toISOString()), next.kind === 'retry' ? next.resyncAfterSeconds : -1);
      current = next.op;
      now = Date.parse(current.notBefore!);
      assert.equal(waitSeconds(current, new Date(now).toISOString()), 0, 'may call again at notBefore');
    }
    const last = advance(current, throttled, new Date(now).toISOString(), 'uid');
    assert.equal(last.kind, 'failed');
    assert.equal(last.op.state, 'Failed');
    assert.match(last.op.message ?? '', /gave up after 12 attempts/);
  });

  it('any answer resets the count and keeps the progress; a permanent failure fails at once', () => {
    const retried = advance(op, throttled, '2026-11-23T02:00:00Z', 'uid').op;
    const running = advance(retried, { state: 'running', progress: { after: 'k9' } }, '2026-11-23T02:01:00Z', 'uid');
    assert.equal(running.op.attempts, undefined);
    assert.equal(running.op.notBefore, undefined);
    assert.deepEqual(running.op.progress, { after: 'k9' });
    const denied = advance(op, { state: 'failed', reason: 'AccessDenied', message: 'no', retryable: false }, '2026-11-23T02:00:00Z', 'uid');
    assert.equal(denied.kind, 'failed');
  });

  it('the machine asks no observation before notBefore, and resyncs when it ends', () => {
    const planner: BackupPlanner = { problems: () => [], steps: () => [{ name: 'snapshot', phase: 'SnapshotInProgress', operationId: 'lc2-s-x', children: [] }] };
    const parent = backupRequest('b', { provider: 'aws', database: { engine: 'postgresql', type: 'snapshot', instanceId: 'db' } });
    const first = decideBackup({ parent, existingChildren: new Set(), planner, observations: {}, now: '2026-11-23T02:00:00Z' });
    assert.equal(first.resyncAfterSeconds, 1, 'a cloud step is started by the next sync, right away');
    parent.status = first.status;
    const observed = decideBackup({ parent, existingChildren: new Set(), planner, observations: { steps: { snapshot: throttled } }, now: '2026-11-23T02:00:01Z' });
    parent.status = observed.status;
    const op2 = observed.status.operations!.snapshot!;
    assert.equal(op2.attempts, 1);
    const early = decideBackup({ parent, existingChildren: new Set(), planner, observations: {}, now: '2026-11-23T02:00:02Z' });
    assert.equal(early.need, undefined, 'no provider call before notBefore');
    assert.equal(early.resyncAfterSeconds, waitSeconds(op2, '2026-11-23T02:00:02Z'));
    const later = decideBackup({ parent, existingChildren: new Set(), planner, observations: {}, now: op2.notBefore! });
    assert.equal(later.need?.kind, 'observeStep');
    const done: BackupStepResult = { database: { engine: 'postgresql', format: 'rds-snapshot', snapshotId: 'lc2-s-x', sizeBytes: 1, tool: 't' } };
    const after = decideBackup({ parent, existingChildren: new Set(), planner, observations: { steps: { snapshot: { state: 'done', result: done, completedAt: op2.notBefore! } } }, now: op2.notBefore! });
    assert.equal(after.status.operations!.snapshot!.state, 'Succeeded');
    assert.equal(after.status.database?.snapshotId, 'lc2-s-x');
  });
});
