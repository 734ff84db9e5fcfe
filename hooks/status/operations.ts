// One provider operation's bookkeeping across syncs, shared by the backup and restore machines
// (pure): progress carried from one sync to the next, and transient failures (throttling, 5xx,
// timeouts) retried with exponential backoff and jitter through resyncAfterSeconds - the
// operation stays Running, its attempts are counted, and no provider call happens before notBefore.
import type { OperationStatus } from '../../core/crd.ts';
import type { Observation } from '../../core/provider.ts';

/** Transient failures in a row before the operation is given up (about 40 minutes of backoff). */
export const MAX_ATTEMPTS = 12;
const BASE_SECONDS = 5;
const CAP_SECONDS = 300;

/** Seconds to wait before attempt n+1: exponential, capped, with deterministic "full jitter" in [½, 1]. */
export function backoffSeconds(attempts: number, seed: string): number {
  const ceiling = Math.min(CAP_SECONDS, BASE_SECONDS * 2 ** Math.max(0, attempts - 1));
  let h = 2166136261;
  for (const ch of `${seed}:${attempts}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return Math.max(1, Math.round(ceiling * (0.5 + (h % 1000) / 2000)));
}

/** Seconds until the operation may call its provider again, or 0. */
export function waitSeconds(op: OperationStatus, now: string): number {
  if (!op.notBefore) return 0;
  const ms = Date.parse(op.notBefore) - Date.parse(now);
  return ms > 0 ? Math.ceil(ms / 1000) : 0;
}

export type Advance<R> =
  | { kind: 'running'; op: OperationStatus; message?: string; resyncAfterSeconds?: number }
  | { kind: 'retry'; op: OperationStatus; message: string; resyncAfterSeconds: number }
  | { kind: 'failed'; op: OperationStatus; reason: string; message: string }
  | { kind: 'done'; op: OperationStatus; result: R };

/** The operation after one observation (seed: the resource UID, so replicas agree on the jitter). */
export function advance<R>(op: OperationStatus, obs: Observation<R>, now: string, seed: string): Advance<R> {
  // attempts counts transient failures in a row: any answer from the provider resets it.
  const { notBefore: _n, attempts: _a, ...current } = op;
  if (obs.state === 'running') {
    const next = obs.progress ? { ...current, progress: obs.progress } : current;
    return { kind: 'running', op: next, ...(obs.message ? { message: obs.message } : {}), ...(obs.resyncAfterSeconds ? { resyncAfterSeconds: obs.resyncAfterSeconds } : {}) };
  }
  // A finished operation keeps only facts (its ID, start and end): whatever in-flight progress a
  // stale sync started from, the finished operation is the same.
  if (obs.state === 'done') {
    return { kind: 'done', op: { id: op.id, state: 'Succeeded', ...(op.startTime ? { startTime: op.startTime } : {}), completionTime: obs.completedAt }, result: obs.result };
  }
  const attempts = (op.attempts ?? 0) + 1;
  if (obs.retryable && attempts < MAX_ATTEMPTS) {
    const wait = backoffSeconds(attempts, seed + op.id);
    const notBefore = new Date(Date.parse(now) + wait * 1000).toISOString();
    return { kind: 'retry', op: { ...current, attempts, notBefore }, resyncAfterSeconds: wait,
      message: `${obs.message} (transient, attempt ${attempts} of ${MAX_ATTEMPTS}; retrying in ${wait}s)` };
  }
  const message = obs.retryable ? `${obs.message} (gave up after ${attempts} attempts)` : obs.message;
  return { kind: 'failed', op: { ...current, ...(obs.retryable ? { attempts } : {}), state: 'Failed', completionTime: now, message, reason: obs.reason.slice(0, 128) }, reason: obs.reason, message };
}
