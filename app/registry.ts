// Which providers this build can run, wired to their configuration and object store. A provider
// that is not configured (or not built yet) fails a request for it with a clear reason.
import type { ServicePolicy, BackupShell } from '../hooks/backup/sync.ts';
import type { RestoreShell } from '../hooks/restore/sync.ts';
import type { ObjectStore, BackupRuntime, RestoreRuntime } from '../core/provider.ts';
import type { Archive } from '../hooks/archive/store.ts';
import { DEFAULT_TOOLS_IMAGE, type LocalProviderConfig } from '../providers/local/config.ts';
import type { AwsProviderConfig } from '../providers/aws/config.ts';
import { AWS_NOT_CONFIGURED, createAwsProvider } from '../providers/aws/index.ts';
import { GCP_NOT_CONFIGURED, type GcpProviderConfig } from '../providers/gcp/config.ts';
import { createGcpProvider } from '../providers/gcp/index.ts';
import type { AzureProviderConfig } from '../providers/azure/config.ts';
import { AZURE_NOT_CONFIGURED, createAzureProvider } from '../providers/azure/index.ts';
import { localBackupProblems, localBackupSteps, observeBackupStep } from '../providers/local/backup.ts';
import { localDrillCleanup, localRestorePreflight, localRestoreProblems, localRestoreSteps, observeRestoreStep } from '../providers/local/restore.ts';

export interface ProviderSettings {
  local?: LocalProviderConfig;
  aws?: AwsProviderConfig;
  gcp?: GcpProviderConfig;
  azure?: AzureProviderConfig;
}

/** Secure by default: the tenant boundary is enforced unless a single-tenant setup turns it off. */
export const DEFAULT_POLICY: ServicePolicy = { tenancy: 'enforce', maxConcurrentPerProject: 2, maxConcurrentGlobal: 20 };

const unavailable = (provider: string) => ({
  unavailable: provider === 'local'
    ? 'the local provider is not configured on this hook server: set LC2_STORAGE_URL (and LC2_TOOLS_IMAGE for your image)'
    : provider === 'aws'
      ? AWS_NOT_CONFIGURED
      : provider === 'gcp'
        ? GCP_NOT_CONFIGURED
        : provider === 'azure'
          ? AZURE_NOT_CONFIGURED
          : `provider "${provider}" is not available in this release; use "local", "aws", "gcp" or "azure"`,
});

interface Runtimes { backup: Map<string, BackupRuntime>; restore: Map<string, RestoreRuntime> }

const built = new WeakMap<ProviderSettings, WeakMap<ObjectStore, Runtimes>>();

/** Built once per server (per settings and store): cloud clients are shared by every sync, backups and restores. */
export function runtimes(settings: ProviderSettings, localStore: ObjectStore): Runtimes {
  const cached = built.get(settings)?.get(localStore);
  if (cached) return cached;
  const made = buildRuntimes(settings, localStore);
  built.set(settings, (built.get(settings) ?? new WeakMap()).set(localStore, made));
  return made;
}

function buildRuntimes(settings: ProviderSettings, localStore: ObjectStore): Runtimes {
  const backup = new Map<string, BackupRuntime>();
  const restore = new Map<string, RestoreRuntime>();
  const local = settings.local;
  if (local) {
    backup.set('local', {
      planner: { problems: localBackupProblems, steps: (ctx) => localBackupSteps(ctx, local) },
      store: localStore,
      observeStep: (step, ctx, job) => observeBackupStep(step.name, ctx, job, localStore),
    });
    restore.set('local', {
      planner: { problems: localRestoreProblems, steps: (ctx) => localRestoreSteps(ctx, local), drillCleanup: (ctx, scope) => localDrillCleanup(ctx, scope, local) },
      store: localStore,
      preflight: (ctx) => localRestorePreflight(ctx, localStore),
      observeStep: (step, ctx, job) => observeRestoreStep(step.name, ctx.source, job, localStore),
    });
  }
  if (settings.aws) {
    // The AWS SDKs load on the provider's first call (providers/aws/index.ts).
    const aws = createAwsProvider(settings.aws);
    backup.set('aws', aws.backup);
    restore.set('aws', aws.restore);
  }
  if (settings.gcp) {
    const gcp = createGcpProvider(settings.gcp);
    backup.set('gcp', gcp.backup);
    restore.set('gcp', gcp.restore);
  }
  if (settings.azure) {
    // The Azure SDKs load on the provider's first call (providers/azure/index.ts).
    const azure = createAzureProvider(settings.azure);
    backup.set('azure', azure.backup);
    restore.set('azure', azure.restore);
  }
  return { backup, restore };
}

export function backupShell(settings: ProviderSettings, store: ObjectStore, now: () => string = () => new Date().toISOString(), policy: ServicePolicy = DEFAULT_POLICY, archive?: Archive): BackupShell {
  const { backup } = runtimes(settings, store);
  return {
    runtime: (provider) => backup.get(provider) ?? unavailable(provider),
    now, deleteBudgetMs: 5000, policy, ...(archive ? { archive } : {}),
  };
}

export function restoreShell(settings: ProviderSettings, store: ObjectStore, now: () => string = () => new Date().toISOString(), policy: ServicePolicy = DEFAULT_POLICY, archive?: Archive): RestoreShell {
  const { restore } = runtimes(settings, store);
  return {
    runtime: (provider) => restore.get(provider) ?? unavailable(provider),
    toolsImage: settings.local?.image ?? DEFAULT_TOOLS_IMAGE,
    now, policy, ...(archive ? { archive } : {}),
  };
}
