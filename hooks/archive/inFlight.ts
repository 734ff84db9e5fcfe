// Backups and restores in flight, as the history's backup_in_flight table holds them. Pure: the
// row is a function of the resource and the status the hook answers with, so every replica and
// every replayed sync computes the same row; the shell writes it only when it differs from what
// the parent already showed (a phase, a step or a backoff changed), a few writes per backup.
import { BACKUP_PHASES, RESTORE_PHASES, type BackupRequest, type OperationStatus, type RestoreRequest } from '../../core/crd.ts';

export interface InFlightRecord {
  uid: string;
  kind: 'BackupRequest' | 'RestoreRequest';
  namespace: string;
  name: string;
  projectId: string;
  environment: string;
  provider: string;
  phase: string;
  /** The phase's place in its kind's forward-only order. */
  phaseRank: number;
  /** When this phase was entered (the sync that first answered with it). */
  phaseSince: string;
  createdAt: string | null;
  startedAt: string | null;
  /** The latest notBefore of an operation in backoff after transient failures. */
  backoffUntil: string | null;
  queuePosition: number | null;
  /** Each step's state, e.g. {"database": "Succeeded", "documentLibrary": "Running"}: the progress the REST API shows. */
  steps: Record<string, string>;
}

type Status = { phase?: string; startTime?: string; operations?: Record<string, OperationStatus>; queue?: { position: number } };
const TERMINAL = new Set(['Succeeded', 'Failed']);

function steps(status: Status): Record<string, string> {
  return Object.fromEntries(Object.entries(status.operations ?? {}).map(([step, op]) => [step, op.state]));
}

function backoffUntil(status: Status): string | null {
  const until = Object.values(status.operations ?? {}).filter((op) => op.state === 'Running' && op.notBefore).map((op) => op.notBefore!).sort();
  return until.at(-1) ?? null;
}

/** What the in-flight row depends on: when it is equal before and after a sync, nothing is written. */
export function inFlightSignature(status: Status | undefined): string {
  const s = status ?? {};
  return JSON.stringify([s.phase ?? '', steps(s), backoffUntil(s), s.queue?.position ?? null]);
}

/** The row for a resource answered with `status`; undefined when it is finished (backup_history holds it then) or unnamed. */
export function inFlightRecord(parent: BackupRequest | RestoreRequest, status: Status, now: string): InFlightRecord | undefined {
  const uid = parent.metadata.uid;
  const spec = parent.spec as { projectId?: unknown; environment?: unknown; provider?: unknown } | undefined;
  if (!uid || !status.phase || TERMINAL.has(status.phase) || parent.metadata.deletionTimestamp) return undefined;
  if (typeof spec?.projectId !== 'string' || typeof spec.environment !== 'string' || typeof spec.provider !== 'string') return undefined;
  const kind = parent.kind === 'RestoreRequest' ? 'RestoreRequest' : 'BackupRequest';
  const order: readonly string[] = kind === 'RestoreRequest' ? RESTORE_PHASES : BACKUP_PHASES;
  return {
    uid, kind, namespace: parent.metadata.namespace ?? '', name: parent.metadata.name,
    projectId: spec.projectId, environment: spec.environment, provider: spec.provider, phase: status.phase, phaseRank: order.indexOf(status.phase), phaseSince: now,
    createdAt: parent.metadata.creationTimestamp ?? null, startedAt: status.startTime ?? null, backoffUntil: backoffUntil(status),
    queuePosition: status.queue?.position ?? null, steps: steps(status),
  };
}
