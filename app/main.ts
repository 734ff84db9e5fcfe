// Entry point of the hook server: configuration from the environment, then listen.
import { createServer, type Server } from 'node:http';
import { loadConfig } from './config.ts';
import { createApiApp, createApp } from '../hooks/server/app.ts';
import { log } from '../hooks/server/log.ts';
import { backupShell, restoreShell } from './registry.ts';
import { trustRequest } from '../hooks/backup/sync.ts';
import { FileObjectStore } from '../providers/shared/storage/fileStore.ts';
import type { ObjectStore } from '../core/provider.ts';
import type { ServerConfig } from './config.ts';
import { connect } from '../hooks/archive/db.ts';
import { Archive } from '../hooks/archive/store.ts';
import { staticTokens } from '../hooks/rest/router.ts';
import type { KubeConfig } from '@kubernetes/client-node';

/** The cluster's API when running in a Pod (or with KUBECONFIG set): deletions are confirmed there, the REST API authenticates there. */
async function kubernetesApi(): Promise<KubeConfig | undefined> {
  if (!process.env.KUBERNETES_SERVICE_HOST && !process.env.KUBECONFIG) return undefined;
  const { KubeConfig: Config } = await import('@kubernetes/client-node');
  const kc = new Config();
  kc.loadFromDefault();
  return kc;
}

export async function storeFor(config: ServerConfig): Promise<ObjectStore> {
  const s = config.storage;
  if (!s) return new FileObjectStore('/nonexistent-lc2-storage');
  if (s.kind === 'file') return new FileObjectStore(s.root);
  // Loaded only when used: the AWS SDK is most of the server's memory.
  const { S3ObjectStore } = await import('../providers/shared/storage/s3Store.ts');
  // The local provider's store has keys of its own, so they never replace the AWS credential chain.
  const id = process.env.LC2_STORAGE_ACCESS_KEY_ID;
  const secret = process.env.LC2_STORAGE_SECRET_ACCESS_KEY;
  return new S3ObjectStore({ endpoint: s.endpoint, region: s.region, ...(id && secret ? { credentials: { accessKeyId: id, secretAccessKey: secret } } : {}) });
}

export interface RunningServer { port: number; apiPort?: number; close(): Promise<void> }

function listen(app: Parameters<typeof createServer>[1], port: number): Promise<{ server: Server; port: number }> {
  const server = createServer(app);
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) => server.listen(port, () => {
    const address = server.address();
    resolve({ server, port: typeof address === 'object' && address ? address.port : port });
  }));
}

const closeServer = (s: Server) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); });

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const store = await storeFor(config);
  const settings = { ...(config.local ? { local: config.local } : {}), ...(config.aws ? { aws: config.aws } : {}), ...(config.gcp ? { gcp: config.gcp } : {}), ...(config.azure ? { azure: config.azure } : {}) };
  const now = () => new Date().toISOString();
  const sql = config.archive ? await connect(config.archive.url, config.archive.dir) : undefined;
  const archive = sql ? new Archive(sql) : undefined;
  const kube = await kubernetesApi();
  // The Kubernetes client is most of a server's memory: loaded only when there is a cluster to talk to.
  const k8s = kube ? await import('../hooks/rest/kubernetes.ts') : undefined;
  // Data is deleted only after the API server confirmed the parent; without one, only when told to trust requests.
  const reads = kube ? await import('../hooks/server/parents.ts') : undefined;
  const readParent = kube && reads ? reads.parentReader(kube) : config.confirmDeletions ? undefined : trustRequest;
  const readSchedule = kube && reads ? reads.scheduleReader(kube) : undefined;
  const liveBackupUids = kube && reads ? reads.liveBackupUidsReader(kube) : undefined;
  const liveRestoreUids = kube && reads ? reads.liveRestoreUidsReader(kube) : undefined;
  const backup = backupShell(settings, store, now, config.policy, archive);
  const hooks = await listen(createApp({
    backup: { ...backup, ...(readParent ? { readParent } : {}), ...(readSchedule ? { readSchedule } : {}), ...(liveBackupUids ? { liveBackupUids } : {}), ...(liveRestoreUids ? { liveRestoreUids } : {}) }, restore: restoreShell(settings, store, now, config.policy, archive),
    bodyLimit: config.bodyLimit, ...(config.hookToken ? { hookToken: config.hookToken } : {}),
  }), config.port);
  // The REST API on its own port: reachable from the console, never sharing the hooks' listener.
  let api: { server: Server; port: number } | undefined;
  if (archive) {
    const authenticate = config.apiTokens || !kube || !k8s ? staticTokens(config.apiTokens) : k8s.tokenReview(kube);
    api = await listen(createApiApp({ archive, authenticate, ...(kube && k8s ? { create: k8s.kubernetesCreator(kube) } : {}) }), config.apiPort);
  }
  if (config.azure?.checkpointKeyWarning) log('warn', config.azure.checkpointKeyWarning);
  log('info', 'hook server listening', {
    port: hooks.port, apiPort: api?.port ?? null, hookAuth: !!config.hookToken, deletionsConfirmed: !!kube,
    storage: config.storage?.kind ?? 'none', localProvider: !!config.local, awsProvider: config.aws?.region ?? false, gcpProvider: config.gcp?.project ?? false, azureProvider: !!config.azure,
  });
  return {
    port: hooks.port, ...(api ? { apiPort: api.port } : {}),
    close: async () => {
      await Promise.all([closeServer(hooks.server), ...(api ? [closeServer(api.server)] : [])]);
      await (sql?.close() ?? Promise.resolve());
    },
  };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const config = loadConfig();
  const running = await startServer(config);
  const stop = () => { log('info', 'shutting down'); void running.close().then(() => process.exit(0)); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
