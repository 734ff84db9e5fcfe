// Kubernetes-style conditions. lastTransitionTime only moves when the condition's status flips, so a
// repeated sync produces an identical status (no status churn, no hot sync loop).
import type { Condition } from '../../core/crd.ts';

export interface ConditionInput { type: string; status: Condition['status']; reason: string; message: string }

/** Condition messages stay short whatever they quote (the CRD allows 32768; a crafted input must never reach it). */
export const MAX_MESSAGE_CHARS = 4096;
const bounded = (message: string) => (message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS - 15)} ... (truncated)` : message);

export function setCondition(
  existing: Condition[] | undefined, input: ConditionInput, now: string, generation?: number,
): Condition[] {
  const list = existing ?? [];
  const previous = list.find((c) => c.type === input.type);
  const next: Condition = {
    ...input, message: bounded(input.message),
    lastTransitionTime: previous && previous.status === input.status ? previous.lastTransitionTime : now,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  return [...list.filter((c) => c.type !== input.type), next].sort((a, b) => a.type.localeCompare(b.type));
}

export function removeCondition(existing: Condition[] | undefined, type: string): Condition[] {
  return (existing ?? []).filter((c) => c.type !== type);
}

/** Ready/Reconciling/Stalled (the kstatus convention) for a resource in flight, done or failed. */
export function lifecycleConditions(
  existing: Condition[] | undefined,
  state: 'inProgress' | 'succeeded' | 'failed',
  reason: string, message: string, now: string, generation?: number,
): Condition[] {
  let c = setCondition(existing, { type: 'Ready', status: state === 'succeeded' ? 'True' : 'False', reason, message }, now, generation);
  c = state === 'inProgress'
    ? setCondition(c, { type: 'Reconciling', status: 'True', reason, message }, now, generation)
    : removeCondition(c, 'Reconciling');
  c = state === 'failed'
    ? setCondition(c, { type: 'Stalled', status: 'True', reason, message }, now, generation)
    : removeCondition(c, 'Stalled');
  return c;
}
