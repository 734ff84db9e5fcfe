// Which providers this build can run, wired to their configuration and object store. Cloud
// providers arrive with their own issues; until then a request for one fails with a clear reason.
import type { BackupPlanner } from '../hooks/backup/machine.ts';
import type { RestorePlanner } from '../hooks/restore/machine.ts';
import type { BackupShell, ServicePolicy } from '../hooks/backup/sync.ts';
import type { RestoreShell } from '../hooks/restore/sync.ts';
import type { ObjectStore } from './storage/objectStore.ts';
import type { Archive } from '../hooks/archive/store.ts';
import type { LocalProviderConfig } from './local/config.ts';
import { localBackupProblems, localBackupSteps, observeBackupStep } from './local/backup.ts';
import { localRestoreProblems, localRestoreSteps, observeRestoreStep } from './local/restore.ts';

export interface ProviderSettings { local?: LocalProviderConfig }

/** Secure by default: the tenant boundary is enforced unless a single-tenant setup turns it off. */
export const DEFAULT_POLICY: ServicePolicy = { tenancy: 'enforce', maxConcurrentPerProject: 2, maxConcurrentGlobal: 20 };

const unavailable = (provider: string) => ({
  unavailable: provider === 'local'
    ? 'the local provider is not configured on this hook server: set LC2_STORAGE_URL (and LC2_TOOLS_IMAGE for your image)'
    : `provider "${provider}" is not available in this release; use "local"`,
});

export function backupShell(settings: ProviderSettings, store: ObjectStore, now: () => string = () => new Date().toISOString(), policy: ServicePolicy = DEFAULT_POLICY, archive?: Archive): BackupShell {
  const local = settings.local;
  const planner: BackupPlanner | undefined = local && {
    problems: localBackupProblems,
    steps: (ctx) => localBackupSteps(ctx, local),
  };
  return {
    planner: (provider) => (provider === 'local' && planner ? planner : unavailable(provider)),
    observeStep: (step, ctx, job) => observeBackupStep(step, ctx, job, store),
    store, now, deleteBudgetMs: 5000, policy, ...(archive ? { archive } : {}),
  };
}

export function restoreShell(settings: ProviderSettings, store: ObjectStore, now: () => string = () => new Date().toISOString(), policy: ServicePolicy = DEFAULT_POLICY, archive?: Archive): RestoreShell {
  const local = settings.local;
  const planner: RestorePlanner | undefined = local && {
    problems: localRestoreProblems,
    steps: (ctx) => localRestoreSteps(ctx, local),
  };
  return {
    planner: (provider) => (provider === 'local' && planner ? planner : unavailable(provider)),
    observeStep: (step, source, job) => observeRestoreStep(step, source, job, store),
    store, now, policy, ...(archive ? { archive } : {}),
  };
}
