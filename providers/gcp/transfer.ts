// Storage Transfer Service jobs (GCS → GCS). The job name is ours (derived from the UID) and its
// creation with a one-time schedule (start date = end date = today UTC) starts exactly one run:
// runTransferJob is never called. ALREADY_EXISTS (gRPC 6, or 10 ABORTED over the REST fallback) is
// adopted only after the existing job is read and proved ours (description and sink).
import type { Observation } from '../../core/provider.ts';
import type { GcpClients, TransferJob, TransferOperation } from './clients.ts';
import { isAlreadyExists, isNotFound } from './errors.ts';

export interface TransferTarget {
  name: string; project: string; description: string;
  sourceBucket: string; sourcePath: string; sinkBucket: string; sinkPath: string;
  excludePrefixes: string[];
}
export interface TransferCounts { found: number; copied: number; skipped: number; failed: number; bytesCopied: number; bytesSkipped: number }
export interface TransferDone { counts: TransferCounts; operation: string }

const date = (d: Date) => ({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() });

export function jobFor(t: TransferTarget, now: Date): TransferJob {
  return {
    name: t.name, projectId: t.project, description: t.description, status: 'ENABLED',
    transferSpec: {
      gcsDataSource: { bucketName: t.sourceBucket, path: t.sourcePath },
      gcsDataSink: { bucketName: t.sinkBucket, path: t.sinkPath },
      ...(t.excludePrefixes.length ? { objectConditions: { excludePrefixes: t.excludePrefixes } } : {}),
      transferOptions: { overwriteWhen: 'DIFFERENT', deleteObjectsFromSourceAfterTransfer: false, deleteObjectsUniqueInSink: false },
    },
    // One-time: "runs immediately" on creation, exactly once (no startTimeOfDay).
    schedule: { scheduleStartDate: date(now), scheduleEndDate: date(now) },
  };
}

/** The job this request made: same description, same sink. Anything else under our name is not touched. */
export function checkOwnJob(job: TransferJob, t: Pick<TransferTarget, 'name' | 'description' | 'sinkBucket' | 'sinkPath'>): void {
  const sink = job.transferSpec?.gcsDataSink;
  if (job.description !== t.description || sink?.bucketName !== t.sinkBucket || (sink?.path ?? '') !== t.sinkPath) {
    throw Object.assign(new Error(`transfer job ${t.name} exists but was not made by this request (description ${JSON.stringify(job.description ?? '')})`), { name: 'OwnershipConflict' });
  }
}

/** Creates the job (which starts its one run), or adopts it after proving it ours. */
export async function ensureJob(c: GcpClients, t: TransferTarget, now = new Date()): Promise<void> {
  try {
    await c.transfer.createJob(jobFor(t, now));
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    // 10 ABORTED can also mean a conflict of another kind: only a read of the job decides.
    let job: TransferJob;
    try { job = await c.transfer.getJob(t.name); } catch (e2) { if (isNotFound(e2)) throw e; throw e2; }
    checkOwnJob(job, t);
  }
}

const n = (v: unknown) => Number(v ?? 0) || 0;
export function countsOf(op: TransferOperation | undefined): TransferCounts {
  const k = op?.counters ?? {};
  return {
    found: n(k.objectsFoundFromSource), copied: n(k.objectsCopiedToSink), skipped: n(k.objectsFromSourceSkippedBySync), failed: n(k.objectsFromSourceFailed),
    bytesCopied: n(k.bytesCopiedToSink), bytesSkipped: n(k.bytesFromSourceSkippedBySync),
  };
}
const describe = (k: TransferCounts) => `${k.found} objects found, ${k.copied} copied, ${k.skipped} already there, ${k.failed} failed`;

const RUNNING = new Set(['IN_PROGRESS', 'QUEUED', 'PAUSED', 'SUSPENDING', 'STATUS_UNSPECIFIED', '']);

/**
 * How long a created job may show no run before the step stops waiting. Its one-time run "runs
 * immediately" - unless the start date (today by the hook's clock) is not the service's today: a
 * create across midnight UTC or a skewed clock makes it run at a later midnight, or never.
 */
export const RUN_START_LIMIT_MS = 10 * 60_000;

const dayOf = (d: { year?: number | null; month?: number | null; day?: number | null } | null | undefined) =>
  d?.year && d.month && d.day ? Date.UTC(d.year, d.month - 1, d.day) : undefined;

/** Why the job's run will not start in time (its start date has passed, or it waited too long), or undefined. */
function runLate(job: TransferJob, waitingSince: string, now: Date): string | undefined {
  const start = dayOf(job.schedule?.scheduleStartDate);
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const when = `its schedule starts ${start === undefined ? 'on no date' : new Date(start).toISOString().slice(0, 10)}${job.schedule?.startTimeOfDay ? ' at a set time' : ''}`;
  if (start !== undefined && start < today) return `${when}, a day that has passed, and it never ran`;
  const waited = now.getTime() - Date.parse(waitingSince);
  if (waited > RUN_START_LIMIT_MS) return `${when} and its run has not started ${Math.round(waited / 60_000)} minutes after the job was made`;
  return undefined;
}

/**
 * The job's run: running with counters, done when SUCCESS with nothing failed and every object found
 * copied (skipped ones apart). A job whose run has not started within RUN_START_LIMIT_MS (measured
 * from `waitingSince`, the hook's own clock at the first wait, carried in progress) or whose start
 * date has passed is deleted - so that it never starts later into a folder nobody waits for - and
 * the step fails: never a wait without end.
 */
export async function observeJob(c: GcpClients, t: Pick<TransferTarget, 'name' | 'description' | 'sinkBucket' | 'sinkPath'>, known?: string, waitingSince?: string, now = new Date()): Promise<Observation<TransferDone>> {
  let operation = known;
  if (!operation) {
    const job = await c.transfer.getJob(t.name);
    checkOwnJob(job, t);
    operation = job.latestOperationName ?? '';
    // Empty for a while after creation: the run has not been scheduled yet.
    if (!operation) {
      const since = waitingSince && Number.isFinite(Date.parse(waitingSince)) ? waitingSince : now.toISOString();
      const late = runLate(job, since, now);
      if (!late) return { state: 'running', progress: { waitingSince: since }, resyncAfterSeconds: 5, message: `transfer job ${t.name} created; waiting for its run to start` };
      try { await c.transfer.deleteJob(t.name); } catch (e) { if (!isNotFound(e)) throw e; }
      return { state: 'failed', reason: 'TransferNotStarted', message: `transfer job ${t.name} will not run in time: ${late} (a create across midnight UTC, or the hook's clock is off); the job was deleted, run the backup again`, retryable: false };
    }
  }
  const { done, metadata, error } = await c.transfer.getOperation(operation);
  if (metadata?.transferJobName && metadata.transferJobName !== t.name) throw Object.assign(new Error(`operation ${operation} belongs to ${metadata.transferJobName}`), { name: 'OwnershipConflict' });
  const counts = countsOf(metadata);
  const status = String(metadata?.status ?? '');
  if (!done || RUNNING.has(status)) {
    return { state: 'running', progress: { operation, ...counts }, resyncAfterSeconds: 10, message: `transfer ${status.toLowerCase() || 'starting'}: ${describe(counts)}` };
  }
  // objectsFoundFromSource EXCLUDES the objects skipped by sync (TransferCounters): every object found was copied.
  if (status === 'SUCCESS' && counts.failed === 0 && counts.copied === counts.found && !error) {
    return { state: 'done', completedAt: metadata?.endTime ? isoOf(metadata.endTime) : new Date().toISOString(), result: { counts, operation } };
  }
  return { state: 'failed', reason: 'TransferFailed', message: `transfer ${operation} ended ${status || 'without a status'}${error ? ` (${error.slice(0, 200)})` : ''}: ${describe(counts)}`, retryable: false };
}

function isoOf(ts: unknown): string {
  if (typeof ts === 'string') return ts;
  const t = ts as { seconds?: unknown; nanos?: number };
  const ms = Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
  return new Date(ms || Date.now()).toISOString();
}

/** Whether the job's run is over (or there is none); a running one is cancelled and false returned. */
export async function quiesceJob(c: GcpClients, t: Pick<TransferTarget, 'name' | 'description' | 'sinkBucket' | 'sinkPath'>): Promise<boolean> {
  let job: TransferJob;
  try { job = await c.transfer.getJob(t.name); } catch (e) { if (isNotFound(e)) return true; throw e; }
  if (job.status === 'DELETED' && !job.latestOperationName) return true;
  checkOwnJob(job, t);
  if (!job.latestOperationName) {
    if (job.status !== 'ENABLED') return true;
    // No run seen yet: one may start (now, or at a later midnight). Deleted so that none starts, then looked at again
    // (a run that had just started shows on the deleted job).
    try { await c.transfer.deleteJob(t.name); } catch (e) { if (!isNotFound(e)) throw e; }
    return false;
  }
  const { done } = await c.transfer.getOperation(job.latestOperationName);
  if (done) return true;
  await c.transfer.cancelOperation(job.latestOperationName).catch(() => undefined);
  return false;
}

/** Deletes the job once its run is over (true once gone or DELETED); ownership checked first. */
export async function deleteJob(c: GcpClients, t: Pick<TransferTarget, 'name' | 'description' | 'sinkBucket' | 'sinkPath'>): Promise<boolean> {
  if (!await quiesceJob(c, t)) return false;
  try { await c.transfer.deleteJob(t.name); } catch (e) { if (!isNotFound(e)) throw e; }
  return true;
}
