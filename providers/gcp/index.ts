// The GCP provider as the shells use it, built once per hook server from its configuration. The
// Google SDKs (googleapis, google-gax, @google-cloud/storage: several MiB of heap) are loaded on the
// first call, not at start-up, so a hook server that never serves a gcp request never loads them.
import type { BackupRuntime, RestoreRuntime } from '../../core/provider.ts';
import { lazyStore } from '../shared/storage/lazyStore.ts';
import type { GcpClients } from './clients.ts';
import type { GcpProviderConfig } from './config.ts';
import { GcsObjectStore } from './gcsStore.ts';
import { deleteGcpExternal, gcpBackupProblems, gcpBackupSteps, observeGcpBackupStep, quiesceGcp, verifyGcpExternal } from './backup.ts';
import { gcpRestorePreflight, gcpRestoreProblems, gcpRestoreSteps, observeGcpRestoreStep } from './restore.ts';

export function createGcpProvider(config: GcpProviderConfig): { backup: BackupRuntime; restore: RestoreRuntime } {
  let loaded: Promise<{ c: GcpClients; store: GcsObjectStore }> | undefined;
  const load = () => (loaded ??= import('./clients.ts').then(({ gcpClients }) => {
    const c = gcpClients(config);
    // Manifests live beside the data in the backup bucket, reached with the same credentials.
    return { c, store: new GcsObjectStore(c.storage, config.callTimeoutMs) };
  }));
  const clients = async () => (await load()).c;
  const store = lazyStore(async () => (await load()).store);
  return {
    backup: {
      planner: { problems: gcpBackupProblems, steps: gcpBackupSteps(config) },
      store,
      observeStep: async (step, ctx, _job, op) => observeGcpBackupStep(step, ctx, op, await clients(), config),
      quiesce: async (parent) => quiesceGcp(parent, await clients(), config),
      deleteExternal: async (parent) => deleteGcpExternal(parent, await clients(), config),
      verifyExternal: async (ctx) => verifyGcpExternal(ctx, await clients(), config),
    },
    restore: {
      planner: { problems: gcpRestoreProblems, steps: gcpRestoreSteps },
      store,
      preflight: async (ctx) => gcpRestorePreflight(ctx, await clients()),
      observeStep: async (step, ctx, _job, op) => observeGcpRestoreStep(step, ctx, op, await clients()),
    },
  };
}
