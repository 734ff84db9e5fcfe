// The few Cloud SQL Admin, Storage Transfer and GCS calls the provider makes, as narrow interfaces
// over the real clients (@googleapis/sqladmin v1, @google-cloud/storage-transfer over its REST
// fallback, @google-cloud/storage). One set per hook server; every call has a deadline.
import { sqladmin, auth, type sqladmin_v1 } from '@googleapis/sqladmin';
import { StorageTransferServiceClient, protos } from '@google-cloud/storage-transfer';
import { Storage } from '@google-cloud/storage';
import type { GcpProviderConfig } from './config.ts';

export type SqlOperation = sqladmin_v1.Schema$Operation;
export type SqlBackup = sqladmin_v1.Schema$Backup;
export type SqlInstance = sqladmin_v1.Schema$DatabaseInstance;
export type TransferJob = protos.google.storagetransfer.v1.ITransferJob;
export type TransferOperation = protos.google.storagetransfer.v1.ITransferOperation;

export interface SqlAdmin {
  createBackup(instance: string, description: string): Promise<SqlOperation>;
  /** One page of the project's ON_DEMAND backups of an instance (of every instance when it is ''). */
  listBackups(instance: string, pageToken?: string): Promise<{ backups: SqlBackup[]; nextPageToken?: string }>;
  getBackup(name: string): Promise<SqlBackup>;
  deleteBackup(name: string): Promise<SqlOperation>;
  exportSql(instance: string, uri: string, databases: string[]): Promise<SqlOperation>;
  /** The instance's recent operations, newest first (one page). */
  listOperations(instance: string): Promise<SqlOperation[]>;
  getOperation(name: string): Promise<SqlOperation>;
  cancelOperation(name: string): Promise<void>;
  getInstance(instance: string): Promise<SqlInstance>;
  /** A restore of a backup into a NEW instance (restoreInstanceSettings: "new instances only"). */
  restoreBackupToNewInstance(instance: string, backup: string, settings: SqlInstance): Promise<SqlOperation>;
}

export interface Transfer {
  createJob(job: TransferJob): Promise<TransferJob>;
  getJob(name: string): Promise<TransferJob>;
  deleteJob(name: string): Promise<void>;
  /** The run's TransferOperation metadata and whether it is over. */
  getOperation(name: string): Promise<{ done: boolean; metadata: TransferOperation | undefined; error?: string }>;
  cancelOperation(name: string): Promise<void>;
}

export interface GcpClients { project: string; sql: SqlAdmin; transfer: Transfer; storage: Storage; callTimeoutMs: number }


function sqlAdminOf(config: GcpProviderConfig): SqlAdmin {
  const client = sqladmin({
    version: 'v1',
    ...(config.sqlAdminEndpoint ? { rootUrl: config.sqlAdminEndpoint } : { auth: new auth.GoogleAuth({ scopes: ['https://www.googleapis.com/auth/sqlservice.admin'] }) }),
  });
  const project = config.project;
  // gaxios retries GETs itself (never POSTs: a create is never sent twice by the client); the signal bounds all attempts.
  const opts = () => ({ timeout: config.callTimeoutMs, signal: AbortSignal.timeout(config.callTimeoutMs) });
  return {
    createBackup: async (instance, description) => (await client.Backups.CreateBackup({ parent: `projects/${project}`, requestBody: { instance, description } }, opts())).data,
    listBackups: async (instance, pageToken) => {
      // No instance known (a recovery point whose manifest is gone): the project's on-demand backups.
      const filter = instance ? `instance:${instance} AND type:ON_DEMAND` : 'type:ON_DEMAND';
      const { data } = await client.Backups.ListBackups({ parent: `projects/${project}`, filter, pageSize: 500, ...(pageToken ? { pageToken } : {}) }, opts());
      return { backups: data.backups ?? [], ...(data.nextPageToken ? { nextPageToken: data.nextPageToken } : {}) };
    },
    getBackup: async (name) => (await client.Backups.GetBackup({ name }, opts())).data,
    deleteBackup: async (name) => (await client.Backups.DeleteBackup({ name }, opts())).data,
    exportSql: async (instance, uri, databases) => (await client.instances.export({ project, instance, requestBody: { exportContext: { fileType: 'SQL', uri, databases } } }, opts())).data,
    listOperations: async (instance) => (await client.operations.list({ project, instance, maxResults: 100 }, opts())).data.items ?? [],
    getOperation: async (name) => (await client.operations.get({ project, operation: name }, opts())).data,
    cancelOperation: async (name) => { await client.operations.cancel({ project, operation: name }, opts()); },
    getInstance: async (instance) => (await client.instances.get({ project, instance }, opts())).data,
    restoreBackupToNewInstance: async (instance, backup, settings) =>
      (await client.instances.restoreBackup({ project, instance, requestBody: { backup, restoreInstanceSettings: settings } }, opts())).data,
  };
}

function transferOf(config: GcpProviderConfig): Transfer {
  const endpoint = config.transferEndpoint ? new URL(config.transferEndpoint) : undefined;
  // Tests: a fake on plain HTTP with a fake token (the fake checks the header is there).
  const testAuth = () => { const c = new auth.OAuth2(); c.setCredentials({ access_token: 'fake-token-for-tests', expiry_date: Date.now() + 3_600_000 }); return c; };
  const client = new StorageTransferServiceClient({
    fallback: true,
    ...(endpoint ? { apiEndpoint: endpoint.hostname, port: Number(endpoint.port || 80), protocol: endpoint.protocol.replace(':', ''), authClient: testAuth() } : {}),
  } as ConstructorParameters<typeof StorageTransferServiceClient>[0]);
  const project = config.project;
  const call = { timeout: config.callTimeoutMs, maxRetries: 1 };
  const decode = (meta: unknown): TransferOperation | undefined => {
    const m = meta as { value?: Uint8Array; type_url?: string } | null | undefined;
    if (m?.value && m.type_url?.endsWith('TransferOperation')) return protos.google.storagetransfer.v1.TransferOperation.toObject(protos.google.storagetransfer.v1.TransferOperation.decode(m.value), { longs: String, enums: String });
    return (m ?? undefined) as TransferOperation | undefined;
  };
  return {
    createJob: async (transferJob) => (await client.createTransferJob({ transferJob }, call))[0],
    getJob: async (name) => {
      const [job] = await client.getTransferJob({ jobName: name, projectId: project }, call);
      // Over REST the enum may come back as its number: the provider compares names.
      const status = typeof job.status === 'number' ? protos.google.storagetransfer.v1.TransferJob.Status[job.status] : job.status;
      return { ...job, ...(status !== undefined ? { status } : {}) } as TransferJob;
    },
    deleteJob: async (name) => { await client.deleteTransferJob({ jobName: name, projectId: project }, call); },
    getOperation: async (name) => {
      const [op] = await client.getOperation({ name } as Parameters<typeof client.getOperation>[0], call);
      return { done: !!op.done, metadata: decode(op.metadata), ...(op.error ? { error: `${op.error.code ?? ''} ${op.error.message ?? ''}`.trim() } : {}) };
    },
    cancelOperation: async (name) => { await client.cancelOperation({ name } as Parameters<typeof client.cancelOperation>[0], call); },
  };
}

export function gcpClients(config: GcpProviderConfig): GcpClients {
  const storage = new Storage({
    projectId: config.project,
    ...(config.storageEndpoint ? { apiEndpoint: config.storageEndpoint } : {}),
    retryOptions: { maxRetries: 2, totalTimeout: Math.ceil(config.callTimeoutMs / 1000) },
  });
  return { project: config.project, sql: sqlAdminOf(config), transfer: transferOf(config), storage, callTimeoutMs: config.callTimeoutMs };
}
