// The AWS provider as the shells use it, built once per hook server from its configuration. The
// planner (plan.ts) is pure; the AWS SDKs (about 40 MiB of RSS) are loaded on the first call that
// needs them, so a hook server that never serves an aws request never loads them.
import type { BackupRuntime, RestoreRuntime } from '../../core/provider.ts';
import { lazyStore } from '../shared/storage/lazyStore.ts';
import type { AwsProviderConfig } from './config.ts';
import { awsBackupProblems, awsBackupSteps, awsDrillCleanup, awsRestoreProblems, awsRestoreSteps } from './plan.ts';

export const AWS_NOT_CONFIGURED = 'the aws provider is not configured on this hook server: set LC2_AWS_REGION (credentials come from the default AWS chain, e.g. IRSA)';

async function loadAws(config: AwsProviderConfig) {
  const [{ awsClients }, backup, restore, { manualSnapshotQuota }, { S3ObjectStore }] = await Promise.all([
    import('./clients.ts'), import('./backup.ts'), import('./restore.ts'), import('./quota.ts'), import('../shared/storage/s3Store.ts'),
  ]);
  // Manifests live beside the data in the customer's AWS bucket, reached with the same credential chain.
  const s3Endpoint = config.s3Endpoint ?? config.endpoint;
  const store = new S3ObjectStore({ region: config.region, ...(s3Endpoint ? { endpoint: s3Endpoint } : {}), timeoutMs: config.callTimeoutMs });
  return { clients: awsClients(config), backup, restore, manualSnapshotQuota, store };
}

export function createAwsProvider(config: AwsProviderConfig): { backup: BackupRuntime; restore: RestoreRuntime } {
  let loaded: ReturnType<typeof loadAws> | undefined;
  const load = () => (loaded ??= loadAws(config));
  const store = lazyStore(async () => (await load()).store);
  return {
    backup: {
      planner: { problems: awsBackupProblems(config), steps: awsBackupSteps(config) },
      store,
      observeStep: async (step, ctx, job, op) => { const a = await load(); return a.backup.observeAwsBackupStep(step, ctx, job, op, a.clients, config, a.store); },
      quiesce: async (parent) => { const a = await load(); return a.backup.quiesceAws(parent, a.clients, config); },
      deleteExternal: async (parent) => { const a = await load(); return a.backup.deleteAwsExternal(parent, a.clients); },
      verifyExternal: async (ctx) => { const a = await load(); return a.backup.verifyAwsSnapshot(ctx, a.clients); },
      snapshotQuota: async () => { const a = await load(); return a.manualSnapshotQuota(a.clients.rds, config.manualSnapshotQuota ?? 100, a.clients.signal); },
    },
    restore: {
      planner: { problems: awsRestoreProblems, steps: awsRestoreSteps, drillCleanup: awsDrillCleanup },
      store,
      preflight: async (ctx) => { const a = await load(); return a.restore.awsRestorePreflight(ctx, a.clients); },
      observeStep: async (step, ctx, _job, op) => { const a = await load(); return a.restore.observeAwsRestoreStep(step, ctx, op, a.clients, config, a.store); },
    },
  };
}
