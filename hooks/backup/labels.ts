// The labels a BackupRequest carries (pure), set by the DecoratorController lc2-backuprequest-labels
// (metacontroller/backuprequest-labels.yaml) so that related rules select by label: a sync then
// carries what is active (running or waiting), the backup's own incremental dependents and - only
// where needed - its environment's finished backups, never the whole history of the cluster.
import type { BackupRequest } from '../api.ts';
import { scheduleLabel } from '../schedule/machine.ts';

export const ACTIVE_LABEL = 'backup.liferay.cloud/active';
export const BASE_LABEL = 'backup.liferay.cloud/base';
export const PROJECT_LABEL = 'backup.liferay.cloud/project';
export const ENVIRONMENT_LABEL = 'backup.liferay.cloud/environment';

/** Any name as a label value (≤ 63 characters): itself when it fits, else a prefix and a hash. */
export const labelValueOf = (name: string): string => scheduleLabel(name);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function backupLabels(b: BackupRequest): Record<string, string> {
  const spec = b.status?.admitted?.spec ?? b.spec;
  const phase = b.status?.phase;
  const labels: Record<string, string> = { [ACTIVE_LABEL]: phase === 'Succeeded' || phase === 'Failed' ? 'false' : 'true' };
  if (typeof spec?.projectId === 'string' && DNS_LABEL.test(spec.projectId) && spec.projectId.length <= 63) labels[PROJECT_LABEL] = spec.projectId;
  if (typeof spec?.environment === 'string' && DNS_LABEL.test(spec.environment) && spec.environment.length <= 63) labels[ENVIRONMENT_LABEL] = spec.environment;
  const base = b.status?.incrementalBase?.backupId;
  if (base) labels[BASE_LABEL] = labelValueOf(base);
  return labels;
}
