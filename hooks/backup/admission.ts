// Per-project concurrency and fairness, computed statelessly from every BackupRequest Metacontroller
// sends as related objects (customize hook), so it holds with any number of hook replicas. Pure.
//
// At most `limit(project)` backups of a project and `global` in all run at once. Waiting backups
// are admitted in round-robin order across projects: a backup's rank is the number of its
// project's backups already running plus those waiting ahead of it (FIFO by creation time), so one
// tenant with 500 queued backups never delays another tenant's first one.
import type { BackupRequest } from '../api.ts';

export interface AdmissionPolicy { perProject: (projectId: string) => number; global: number }
export type Admission = { admitted: true } | { admitted: false; position: number; reason: string };

const terminal = (b: BackupRequest) => b.status?.phase === 'Succeeded' || b.status?.phase === 'Failed';
const started = (b: BackupRequest) => Object.keys(b.status?.operations ?? {}).length > 0;
const project = (b: BackupRequest) => (typeof b.spec?.projectId === 'string' ? b.spec.projectId : '');
const key = (b: BackupRequest) => `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
const created = (b: BackupRequest) => b.metadata.creationTimestamp ?? '';

export function admission(self: BackupRequest, all: readonly BackupRequest[], policy: AdmissionPolicy): Admission {
  const byKey = new Map(all.map((b) => [key(b), b]));
  byKey.set(key(self), self);
  const live = [...byKey.values()].filter((b) => !terminal(b) && !b.metadata.deletionTimestamp);
  const running = live.filter(started);
  const runningIn = new Map<string, number>();
  for (const b of running) runningIn.set(project(b), (runningIn.get(project(b)) ?? 0) + 1);

  const fifo = (a: BackupRequest, b: BackupRequest) => created(a).localeCompare(created(b)) || key(a).localeCompare(key(b));
  const waiting = live.filter((b) => !started(b)).sort(fifo);
  const ahead = new Map<string, number>();
  const ranked = waiting.map((b) => {
    const p = project(b);
    const index = ahead.get(p) ?? 0;
    ahead.set(p, index + 1);
    return { b, p, index, rank: (runningIn.get(p) ?? 0) + index };
  }).sort((x, y) => x.rank - y.rank || fifo(x.b, y.b));

  let free = policy.global - running.length;
  const admittedIn = new Map<string, number>();
  for (const { b, p, index } of ranked) {
    const busy = (runningIn.get(p) ?? 0) + (admittedIn.get(p) ?? 0);
    const fits = free > 0 && busy < policy.perProject(p);
    if (fits) { free -= 1; admittedIn.set(p, (admittedIn.get(p) ?? 0) + 1); }
    if (key(b) !== key(self)) continue;
    if (fits) return { admitted: true };
    const reason = busy >= policy.perProject(p)
      ? `${runningIn.get(p) ?? 0} of project ${p}'s ${policy.perProject(p)} allowed backups are running`
      : `all ${policy.global} backup slots of this service are in use`;
    return { admitted: false, position: index + 1 - (admittedIn.get(p) ?? 0), reason };
  }
  return { admitted: true }; // self is already running (or finished): nothing to wait for
}
