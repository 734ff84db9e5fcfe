// Per-project concurrency and fairness, computed statelessly from every BackupRequest Metacontroller
// sends as related objects (customize hook), so it holds with any number of hook replicas. Pure.
//
// At most `perProject(p)` backups of a project and `global` in all run at once. Waiting backups are
// admitted round-robin across projects: a backup's rank is how many of its project's backups of
// the current burst come before it (running, waiting, or finished since the burst began), so every
// project's first backup starts before any project's second, and one tenant with 500 queued
// backups never delays another tenant's first. Ties go first-come, first-served.
import type { BackupRequest } from '../../core/crd.ts';

export interface AdmissionPolicy {
  perProject: (projectId: string) => number;
  global: number;
  /** The clock: backups finished more than RANK_WINDOW_MS ago no longer count towards a project's rank. */
  now?: string;
}

/**
 * How far back finished backups count towards a project's rank. Without a bound, one tenant that
 * keeps a request waiting keeps the burst open forever, and a busy project's whole history ranks
 * it behind everyone (round-robin would turn into "least used first").
 */
export const RANK_WINDOW_MS = 3_600_000;
export type Admission = { admitted: true } | { admitted: false; position: number; reason: string };

const terminal = (b: BackupRequest) => b.status?.phase === 'Succeeded' || b.status?.phase === 'Failed';
const started = (b: BackupRequest) => Object.keys(b.status?.operations ?? {}).length > 0;
const project = (b: BackupRequest) => (typeof b.spec?.projectId === 'string' ? b.spec.projectId : '');
const created = (b: BackupRequest) => b.metadata.creationTimestamp ?? '';
export const admissionKey = (b: BackupRequest): string => `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
const fifo = (a: BackupRequest, b: BackupRequest) => created(a).localeCompare(created(b)) || admissionKey(a).localeCompare(admissionKey(b));

/** Admission of every waiting backup, by key. */
export function admissionPlan(all: readonly BackupRequest[], policy: AdmissionPolicy): Map<string, Admission> {
  const live = all.filter((b) => !b.metadata.deletionTimestamp);
  const waiting = live.filter((b) => !terminal(b) && !started(b)).sort(fifo);
  const plan = new Map<string, Admission>();
  if (waiting.length === 0) return plan;
  const burstStart = created(waiting[0]!);
  const running = live.filter((b) => !terminal(b) && started(b));
  const runningIn = new Map<string, number>();
  for (const b of running) runningIn.set(project(b), (runningIn.get(project(b)) ?? 0) + 1);

  // Rank = the project's burst members created before this one. A request that finished without
  // ever starting (refused by tenancy, invalid) used no slot, so it never pushes its project back.
  const windowStart = policy.now ? new Date(Date.parse(policy.now) - RANK_WINDOW_MS).toISOString() : '';
  const since = burstStart > windowStart ? burstStart : windowStart;
  const burst = live.filter((b) => !terminal(b) || (started(b) && (b.status?.completionTime ?? '') >= since)).sort(fifo);
  const seen = new Map<string, number>();
  const rank = new Map<string, number>();
  for (const b of burst) {
    const p = project(b);
    rank.set(admissionKey(b), seen.get(p) ?? 0);
    seen.set(p, (seen.get(p) ?? 0) + 1);
  }
  const ordered = [...waiting].sort((a, b) => rank.get(admissionKey(a))! - rank.get(admissionKey(b))! || fifo(a, b));

  let free = policy.global - running.length;
  const admittedIn = new Map<string, number>();
  const queuedIn = new Map<string, number>();
  for (const b of ordered) {
    const p = project(b);
    const busy = (runningIn.get(p) ?? 0) + (admittedIn.get(p) ?? 0);
    if (free > 0 && busy < policy.perProject(p)) {
      free -= 1;
      admittedIn.set(p, (admittedIn.get(p) ?? 0) + 1);
      plan.set(admissionKey(b), { admitted: true });
      continue;
    }
    const position = (queuedIn.get(p) ?? 0) + 1;
    queuedIn.set(p, position);
    const reason = busy >= policy.perProject(p)
      ? `${busy} of project ${p}'s ${policy.perProject(p)} allowed backups are running`
      : `all ${policy.global} backup slots of this service are in use`;
    plan.set(admissionKey(b), { admitted: false, position, reason });
  }
  return plan;
}

/** Admission of one backup, seen together with all the others. */
export function admission(self: BackupRequest, all: readonly BackupRequest[], policy: AdmissionPolicy): Admission {
  const others = all.filter((b) => admissionKey(b) !== admissionKey(self));
  return admissionPlan([...others, self], policy).get(admissionKey(self)) ?? { admitted: true };
}
