// The Azure provider as the shells use it. The Azure SDKs (ARM, Blob, identity) load on the first
// call that needs them (clients.ts, a dynamic import): a hook server without Azure never loads them.
import type { BackupRuntime, ObjectInfo, ObjectStore, RestoreRuntime } from '../../core/provider.ts';
import type { AzureProviderConfig } from './config.ts';
import { AzureBlobStore } from './blobStore.ts';
import { azureBackupProblems, azureBackupSteps, deleteAzureExternal, observeAzureBackupStep, quiesceAzure, verifyAzureBackup, type AzureRuntime } from './backup.ts';
import { azureRestorePreflight, azureRestoreProblems, azureRestoreSteps, observeAzureRestoreStep } from './restore.ts';

export const AZURE_NOT_CONFIGURED = 'the azure provider is not configured on this hook server: set LC2_AZURE_SUBSCRIPTION_ID and LC2_AZURE_RESOURCE_GROUP (and LC2_AZURE_STORAGE_ACCOUNT for bare container names); credentials come from Azure Workload Identity';

/** The object store of the backups (manifests, folders), reaching the SDK only when first used. */
class LazyStore implements ObjectStore {
  private readonly runtime: () => Promise<AzureRuntime>;
  constructor(runtime: () => Promise<AzureRuntime>) { this.runtime = runtime; }
  async get(bucket: string, key: string, maxBytes?: number): Promise<Buffer | null> { return (await this.runtime()).store.get(bucket, key, maxBytes); }
  async put(bucket: string, key: string, body: string, contentType: string): Promise<void> { return (await this.runtime()).store.put(bucket, key, body, contentType); }
  async head(bucket: string, key: string): Promise<ObjectInfo | null> { return (await this.runtime()).store.head(bucket, key); }
  async list(bucket: string, prefix: string, after?: string, limit?: number): Promise<ObjectInfo[]> { return (await this.runtime()).store.list(bucket, prefix, after, limit); }
  async deleteMany(bucket: string, keys: string[]): Promise<void> { return (await this.runtime()).store.deleteMany(bucket, keys); }
  async sha256(bucket: string, key: string): Promise<string | null> { return (await this.runtime()).store.sha256(bucket, key); }
}

export function createAzureProvider(config: AzureProviderConfig): { backup: BackupRuntime; restore: RestoreRuntime } {
  let loading: Promise<AzureRuntime> | undefined;
  const runtime = () => (loading ??= import('./clients.ts').then((m) => {
    const clients = m.azureClients(config);
    return { clients, config, store: new AzureBlobStore(clients, config.storageAccount) };
  }));
  const store = new LazyStore(runtime);
  return {
    backup: {
      planner: { problems: azureBackupProblems(config), steps: azureBackupSteps },
      store,
      observeStep: async (step, ctx, _job, op) => observeAzureBackupStep(step, ctx, op, await runtime()),
      quiesce: async (parent) => quiesceAzure(parent, await runtime()),
      deleteExternal: async (parent) => deleteAzureExternal(parent, await runtime()),
      verifyExternal: async (ctx) => verifyAzureBackup(ctx, await runtime()),
    },
    restore: {
      planner: { problems: azureRestoreProblems(config), steps: azureRestoreSteps },
      store,
      preflight: async (ctx) => azureRestorePreflight(ctx, await runtime()),
      observeStep: async (step, ctx, _job, op) => observeAzureRestoreStep(step, ctx, op, await runtime()),
    },
  };
}
