// What a sync changed, as log events (pure): an operation started, retried after a backoff, or
// finished. Derived from the parent's status and the answer, so a replayed sync whose parent
// already shows the answer logs nothing, and a line names the resource and the operation ID only:
// messages come from the status, which never holds a secret.
import type { OperationStatus } from '../../core/crd.ts';

export interface LogEvent { level: 'info' | 'warn'; msg: string; fields: Record<string, unknown> }
type Ops = Record<string, OperationStatus> | undefined;

export function operationEvents(before: Ops, after: Ops): LogEvent[] {
  const events: LogEvent[] = [];
  for (const [step, op] of Object.entries(after ?? {})) {
    const prior = before?.[step];
    const ids = { step, operationId: op.id };
    if (!prior || prior.id !== op.id) events.push({ level: 'info', msg: 'operation started', fields: { ...ids, state: op.state } });
    if ((op.attempts ?? 0) > (prior?.id === op.id ? prior.attempts ?? 0 : 0)) {
      events.push({ level: 'warn', msg: 'operation retrying after a transient failure', fields: { ...ids, attempts: op.attempts, notBefore: op.notBefore ?? null, message: op.message ?? null } });
    }
    if (op.state !== 'Running' && (!prior || prior.id !== op.id || prior.state === 'Running')) {
      events.push({ level: op.state === 'Failed' ? 'warn' : 'info', msg: 'operation finished', fields: { ...ids, state: op.state, message: op.message ?? null } });
    }
  }
  return events;
}
