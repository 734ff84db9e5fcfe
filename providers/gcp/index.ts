// The GCP provider as the shells use it: built once per hook server from its configuration.
import type { BackupRuntime, RestoreRuntime } from '../../core/provider.ts';
import { gcpClients } from './clients.ts';
import type { GcpProviderConfig } from './config.ts';
import { GcsObjectStore } from './gcsStore.ts';
import { deleteGcpExternal, gcpBackupProblems, gcpBackupSteps, observeGcpBackupStep, quiesceGcp, verifyGcpExternal } from './backup.ts';
import { gcpRestorePreflight, gcpRestoreProblems, gcpRestoreSteps, observeGcpRestoreStep } from './restore.ts';

export function createGcpProvider(config: GcpProviderConfig): { backup: BackupRuntime; restore: RestoreRuntime } {
  const c = gcpClients(config);
  // Manifests live beside the data in the backup bucket, reached with the same credentials.
  const store = new GcsObjectStore(c.storage, config.callTimeoutMs);
  return {
    backup: {
      planner: { problems: gcpBackupProblems, steps: gcpBackupSteps(config) },
      store,
      observeStep: (step, ctx, _job, op) => observeGcpBackupStep(step, ctx, op, c, config),
      quiesce: (parent) => quiesceGcp(parent, c),
      deleteExternal: (parent) => deleteGcpExternal(parent, c, config),
      verifyExternal: (ctx) => verifyGcpExternal(ctx, c, config),
    },
    restore: {
      planner: { problems: gcpRestoreProblems, steps: gcpRestoreSteps },
      store,
      preflight: (ctx) => gcpRestorePreflight(ctx, c),
      observeStep: (step, ctx, _job, op) => observeGcpRestoreStep(step, ctx, op, c),
    },
  };
}
