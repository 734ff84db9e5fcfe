// The archive step every finished resource goes through (pure): once, never blocking or failing
// the resource - an unreachable archive only sets Archived=False and retries later.
import type { Condition } from '../../core/crd.ts';
import { setCondition } from '../status/conditions.ts';
import type { ArchiveRecord } from './records.ts';

export const ARCHIVE_RETRY_SECONDS = 60;
export type ArchiveResult = { ok: true } | { ok: false; message: string };

export type ArchiveStep<S> =
  | { kind: 'done' }
  | { kind: 'need'; record: ArchiveRecord }
  | { kind: 'recorded'; status: S; retryAfterSeconds?: number };

export function archiveStep<S extends { conditions?: Condition[]; completionTime?: string }>(
  status: S, archiving: boolean, result: ArchiveResult | undefined, record: () => ArchiveRecord, now: string, generation?: number,
): ArchiveStep<S> {
  if (!archiving || status.conditions?.some((c) => c.type === 'Archived' && c.status === 'True')) return { kind: 'done' };
  if (!result) return { kind: 'need', record: record() };
  const condition = result.ok
    ? { type: 'Archived', status: 'True' as const, reason: 'Archived', message: 'recorded in the backup history' }
    : { type: 'Archived', status: 'False' as const, reason: 'ArchiveUnavailable', message: `not yet recorded in the backup history (${result.message}); retrying` };
  // Recorded at the completion time, a fact: a replayed or stale terminal sync writes the same status.
  const next = { ...status, conditions: setCondition(status.conditions, condition, result.ok ? status.completionTime ?? now : now, generation) };
  return result.ok ? { kind: 'recorded', status: next } : { kind: 'recorded', status: next, retryAfterSeconds: ARCHIVE_RETRY_SECONDS };
}
