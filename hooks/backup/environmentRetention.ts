// One retention policy per environment, over ALL of its recovery points (pure). The points come
// from the history (and so from the buckets' manifests, which rebuild it); the policy is the
// BackupTenant's. Keep slots are counted over every point, but the policy deletes only points no
// BackupRequest governs any more (deleted with Retain, Argo CD PreSync backups replaced by
// BeforeHookCreation, a deleted schedule's kept backups): a live resource keeps its own policy
// (schedule retention, retentionDays, deletionPolicy). Invariants, property-tested in
// test/environment-retention.test.ts: the environment's newest point is never chosen; a governed
// point is never chosen; a point a kept incremental backup refers to is never chosen; a second
// pass over what is left chooses nothing more.
import type { RetentionPolicy as Policy } from '../../core/crd.ts';
import { backupsToDelete } from '../schedule/retention.ts';

export interface RecoveryPoint {
  /** The BackupRequest's UID (the history's key). */
  uid: string;
  backupId: string;
  /** When it completed (ms since the epoch). */
  completedAt: number;
  /** A BackupRequest still exists for it: its own policy decides, never the environment's. */
  governed: boolean;
  /** An incremental backup's full base (its backup ID): kept as long as the incremental is. */
  baseBackupId?: string;
}

/** The points of one environment the policy lets go; [] without a policy (nothing is ever assumed). */
export function pointsToExpire(points: readonly RecoveryPoint[], policy: Policy | undefined, now: number): RecoveryPoint[] {
  if (!policy || !Object.values(policy).some((v) => typeof v === 'number')) return [];
  const doomed = backupsToDelete(points.map((p) => ({ name: p.uid, phase: 'Succeeded', time: p.completedAt })), policy, 'UTC', now);
  // A base stays while anything that stays refers to it (incremental bases are full backups, but
  // follow chains anyway).
  const byBackupId = new Map(points.map((p) => [p.backupId, p]));
  const stays = points.filter((p) => !doomed.has(p.uid) || p.governed);
  for (let i = 0; i < stays.length; i += 1) {
    const base = stays[i]!.baseBackupId ? byBackupId.get(stays[i]!.baseBackupId!) : undefined;
    if (base && doomed.has(base.uid)) { doomed.delete(base.uid); stays.push(base); }
  }
  return points.filter((p) => doomed.has(p.uid) && !p.governed);
}

/** The policy for one environment: its own entry, else the tenant's default. */
export function policyFor(retention: { default?: Policy; environments?: Record<string, Policy> } | undefined, environment: string): Policy | undefined {
  const own = retention?.environments && Object.hasOwn(retention.environments, environment) ? retention.environments[environment] : undefined;
  return own ?? retention?.default;
}
