// On-demand backups of an Azure Database for PostgreSQL Flexible Server (ARM, @azure/arm-postgresql-flexible
// v9: backupsAutomaticAndOnDemand). The backup's name is derived from the BackupRequest UID (ids.ts),
// so a start repeated after a crash, a timeout or a stale read is the same operation: the name is
// looked up first (GET) and PUT only when absent; once the PUT returned, its poller state (operation
// URLs only, no secret) is the handle, and every later sync resumes it with exactly one status GET -
// the PUT is never sent again. An on-demand backup is a proxy resource without tags: the full UID in
// its name, on the server the spec names, is the ownership proof.
import type { BackupAutomaticAndOnDemand } from '@azure/arm-postgresql-flexible';
import type { Checkpoint } from '../shared/leasedStep.ts';
import type { FlexibleServerApi } from './clients.ts';
import { classify, isNotFound, refusal } from './errors.ts';
import type { ServerRef } from './ids.ts';

export const ON_DEMAND = 'Customer On-Demand';

/** `id` is the backup's ARM ID as we name it (never taken from an answer). */
export interface BackupTarget { server: ServerRef; name: string; id: string; project: string }

/**
 * What the database step keeps (status and signed checkpoint): when the PUT was sent (saved before
 * it goes out), the poller's state, then the finished backup.
 */
export interface BackupProgress { sentAt?: string; token?: string; backupId?: string; completedTime?: string; project?: string }

/** Further = greater: nothing, PUT sent, started (a handle), finished. */
export const backupRank = (p: BackupProgress) => (p.completedTime ? '3' : p.token ? '2' : p.sentAt ? '1' : '0');

/** How one run records progress before a call whose answer may be lost, and how long a sent request may stay unseen. */
export interface RunOptions<P> { save?: (progress: P) => Promise<void>; unseenDeadlineMs?: number }
export const DEFAULT_UNSEEN_DEADLINE_MS = 30 * 60_000;

/** The request was surely refused (a 4xx that a retry of an accepted request cannot produce): nothing was started. */
export const surelyRefused = (e: unknown) => {
  const status = (e as { statusCode?: number }).statusCode ?? 0;
  return status >= 400 && status < 500 && status !== 409 && status !== 429 && status !== 408;
};
/** A sent request's marker still within its deadline (a marker without a readable time is past it). */
export const withinDeadline = (at: string | undefined, deadlineMs: number) => {
  const t = Date.parse(at ?? '');
  return Number.isFinite(t) && Date.now() - t < deadlineMs;
};

const FAILED = new Set(['failed', 'canceled', 'cancelled']);

function finished(t: BackupTarget, b: BackupAutomaticAndOnDemand): Checkpoint<BackupProgress> | undefined {
  if (b.backupType !== undefined && b.backupType !== ON_DEMAND) {
    throw refusal('OwnershipConflict', `backup ${t.name} on server ${t.server.server} is not an on-demand backup (${b.backupType}); not adopting it`);
  }
  if (!b.completedTime) return undefined;
  return { done: true, progress: { backupId: t.id, completedTime: new Date(b.completedTime).toISOString(), project: t.project } };
}

/**
 * One sync of the backup, run under the step's lease: resume the handle (one GET), or look the
 * backup up by name and PUT it only when absent and no PUT was sent: the "sent" marker is saved
 * (signed checkpoint) before the PUT goes out, so a crash or a lost answer between the PUT and the
 * handle's save leads to GETs by name, never a second PUT - until the deadline: a backup the service
 * accepted is readable by then, so one still unseen was never made and the PUT is sent afresh.
 * Throws on a failed operation (classified by the caller).
 */
export async function backupRun(pg: FlexibleServerApi, t: BackupTarget, start: BackupProgress, signal: () => AbortSignal, options: RunOptions<BackupProgress> = {}): Promise<Checkpoint<BackupProgress>> {
  const { resourceGroup: rg, server } = t.server;
  if (start.completedTime && start.backupId) return { done: true, progress: start };
  const sentBefore = start.sentAt ? { sentAt: start.sentAt } : {};
  let token = start.token;
  if (!token) {
    try {
      const b = await pg.getBackup(rg, server, t.name, signal());
      const done = finished(t, b);
      // Present but not complete, and no handle: a PUT whose answer was lost. Asked again next sync.
      return done ?? { done: false, progress: { ...sentBefore, project: t.project } };
    } catch (e) { if (!isNotFound(e)) throw e; }
    // Sent, unseen, within the deadline: the service may show the backup only once it completes.
    if (withinDeadline(start.sentAt, options.unseenDeadlineMs ?? DEFAULT_UNSEEN_DEADLINE_MS)) return { done: false, progress: { ...sentBefore, project: t.project } };
    const sent: BackupProgress = { sentAt: new Date().toISOString(), project: t.project };
    await options.save?.(sent);
    let lro;
    try { lro = await pg.beginBackup(rg, server, t.name, undefined, signal()); } catch (e) {
      if (surelyRefused(e)) await options.save?.({ project: t.project });
      throw e;
    }
    token = lro.token;
    if (!lro.done) return { done: false, progress: { ...sent, token } };
  } else {
    const lro = await pg.beginBackup(rg, server, t.name, token, signal());
    if (FAILED.has(lro.status)) throw Object.assign(new Error(`The long-running operation has failed. backup ${t.name} ended ${lro.status}`), { name: 'LongRunningOperationFailed' });
    if (!lro.done) return { done: false, progress: { token: lro.token, project: t.project } };
    if (lro.result) {
      const done = finished(t, lro.result);
      if (done) return done;
    }
  }
  // Succeeded: the backup itself says when it completed (the restore's point in time).
  const done = finished(t, await pg.getBackup(rg, server, t.name, signal()));
  return done ?? { done: false, progress: { token, project: t.project } };
}

/** The finished backup as it is now (verification before Succeeded, restore): ours, on-demand, completed. */
export async function readBackup(pg: FlexibleServerApi, t: BackupTarget, signal: AbortSignal): Promise<{ ok: true; completedTime: string; id: string } | { ok: false; message: string; retryable: boolean }> {
  try {
    const b = await pg.getBackup(t.server.resourceGroup, t.server.server, t.name, signal);
    const done = finished(t, b);
    if (!done) return { ok: false, retryable: true, message: `backup ${t.name} on ${t.server.server} has not completed` };
    return { ok: true, completedTime: done.progress.completedTime!, id: done.progress.backupId! };
  } catch (e) {
    if (isNotFound(e)) return { ok: false, retryable: false, message: `backup ${t.name} on server ${t.server.server} no longer exists` };
    throw e;
  }
}

/**
 * Deletes this backup's on-demand backup; true once it is gone. `made` is what the backup step
 * recorded (status or signed checkpoint): a PUT with a handle is first resumed to a final state - a
 * backup accepted but not readable yet would otherwise complete after its deletion, orphaned.
 * NotFound means done only once nothing is in flight (a PUT sent without a handle: its deadline passed).
 */
export async function deleteBackup(pg: FlexibleServerApi, t: BackupTarget, signal: () => AbortSignal, made: BackupProgress = {}, unseenDeadlineMs = DEFAULT_UNSEEN_DEADLINE_MS): Promise<boolean> {
  const { resourceGroup: rg, server } = t.server;
  if (made.token && !made.completedTime) {
    try {
      const lro = await pg.beginBackup(rg, server, t.name, made.token, signal());
      if (!lro.done && !FAILED.has(lro.status)) return false; // still running: deleted once it ends
    } catch (e) {
      // An operation that ended Failed is final; anything else (throttling, a timeout) is asked again.
      if (classify(e).retryable) throw e;
    }
  }
  try {
    const b = await pg.getBackup(rg, server, t.name, signal());
    // Automatic backups cannot be deleted and are never ours.
    if (b.backupType !== undefined && b.backupType !== ON_DEMAND) return true;
  } catch (e) {
    if (!isNotFound(e)) throw e;
    // A PUT sent without a handle saved may still appear (until the deadline): not done yet.
    return !!(made.token || made.completedTime) || !withinDeadline(made.sentAt, unseenDeadlineMs);
  }
  const lro = await pg.beginDeleteBackup(rg, server, t.name, signal());
  return lro.done && lro.status === 'succeeded';
}
