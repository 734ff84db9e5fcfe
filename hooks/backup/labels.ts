// The labels a BackupRequest carries (pure), set by the DecoratorController lc2-backuprequest-labels
// (metacontroller/backuprequest-labels.yaml) so that related rules select by label: a sync then
// carries what is active (running or waiting), the backup's own incremental dependents and - only
// where needed - its environment's finished backups, never the whole history of the cluster.
import type { BackupRequest } from '../../core/crd.ts';
import { scheduleLabel } from '../schedule/machine.ts';
import { RANK_WINDOW_MS } from './admission.ts';

/** Unfinished, or finished within the last hour (it still counts in its project's rank). */
export const ACTIVE_LABEL = 'backup.liferay.cloud/active';
export const BASE_LABEL = 'backup.liferay.cloud/base';
export const PROJECT_LABEL = 'backup.liferay.cloud/project';
export const ENVIRONMENT_LABEL = 'backup.liferay.cloud/environment';

/** Any name as a label value (≤ 63 characters): itself when it fits, else a prefix and a hash. */
export const labelValueOf = (name: string): string => scheduleLabel(name);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Seconds a finished backup stays `active` in the queue's view: the window in which it still
 * counts towards its project's round-robin rank (admission.ts RANK_WINDOW_MS), 0 once it no
 * longer does, undefined while it has not finished.
 */
export function activeFor(b: BackupRequest, now: number): number | undefined {
  const phase = b.status?.phase;
  if (phase !== 'Succeeded' && phase !== 'Failed') return undefined;
  // Only a backup that ran counts towards a rank (a refused or invalid one used no slot).
  if (!Object.keys(b.status?.operations ?? {}).length) return 0;
  const done = Date.parse(b.status?.completionTime ?? '');
  return Number.isFinite(done) ? Math.max(0, Math.ceil((done + RANK_WINDOW_MS - now) / 1000)) : 0;
}

export function backupLabels(b: BackupRequest, now = Date.now()): Record<string, string> {
  const spec = b.status?.admitted?.spec ?? b.spec;
  const window = activeFor(b, now);
  const labels: Record<string, string> = { [ACTIVE_LABEL]: window === undefined || window > 0 ? 'true' : 'false' };
  if (typeof spec?.projectId === 'string' && DNS_LABEL.test(spec.projectId) && spec.projectId.length <= 63) labels[PROJECT_LABEL] = spec.projectId;
  if (typeof spec?.environment === 'string' && DNS_LABEL.test(spec.environment) && spec.environment.length <= 63) labels[ENVIRONMENT_LABEL] = spec.environment;
  const base = b.status?.incrementalBase?.backupId;
  if (base) labels[BASE_LABEL] = labelValueOf(base);
  return labels;
}
