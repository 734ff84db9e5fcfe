// The shell's side of backup_in_flight: after a sync, write the row when the answer changed it.
// Best effort: a failed write is logged and counted, never a failed sync (the next change rewrites it).
import type { BackupRequest, RestoreRequest } from '../../core/crd.ts';
import type { Archive } from './store.ts';
import { inFlightRecord, inFlightSignature } from './inFlight.ts';
import { archiveWriteFailures } from '../server/metrics.ts';
import { log } from '../server/log.ts';

type Status = Parameters<typeof inFlightSignature>[0] & object;

export async function trackInFlight(archive: Archive | undefined, parent: BackupRequest | RestoreRequest, status: Status, now: string, belongs: boolean): Promise<void> {
  if (!archive || !belongs || inFlightSignature(parent.status as Status | undefined) === inFlightSignature(status)) return;
  const record = inFlightRecord(parent, status, now);
  if (!record) return;
  try { await archive.recordInFlight(record); } catch (e) {
    archiveWriteFailures.inc({ table: 'backup_in_flight' });
    log('warn', 'in-flight state not recorded', { kind: record.kind, namespace: record.namespace, name: record.name, uid: record.uid, phase: record.phase, error: codeOf(e) });
  }
}

/** The error's code or name only: a driver's message may quote the connection string. */
const codeOf = (e: unknown) => (e && typeof e === 'object' ? String((e as { code?: unknown }).code ?? (e as { name?: unknown }).name ?? 'Error') : 'Error');
