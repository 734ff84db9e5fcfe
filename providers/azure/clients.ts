// One ARM client (PostgreSQL Flexible Server) and one Blob client per storage account per hook
// server, behind narrow interfaces of the calls the provider makes. Credentials: Workload Identity
// through WorkloadIdentityCredential (nothing else); an account key only for Azurite and key-based accounts. The
// pipelines retry a throttled or failed call a couple of times themselves (honouring Retry-After);
// beyond that the machine backs off through resyncAfterSeconds. Every call gets a deadline.
import { PostgreSQLManagementFlexibleServerClient, type BackupAutomaticAndOnDemand, type BackupsLongTermRetentionOperation, type Server } from '@azure/arm-postgresql-flexible';
import {
  BlobSASPermissions, BlobServiceClient, ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential, type ContainerClient, type UserDelegationKey,
} from '@azure/storage-blob';
import { WorkloadIdentityCredential } from '@azure/identity';
import type { TokenCredential } from '@azure/identity';
import type { AzureProviderConfig } from './config.ts';

/** A long-running ARM operation after one PUT-and-poll or one resumed poll. `token` holds no secret (operation URLs only). */
export interface Lro<R> { done: boolean; status: string; token: string; result?: R }

export interface FlexibleServerApi {
  getBackup(resourceGroup: string, server: string, name: string, signal: AbortSignal): Promise<BackupAutomaticAndOnDemand>;
  /** PUT + one poll, or (resumeFrom) exactly one poll of the operation. */
  beginBackup(resourceGroup: string, server: string, name: string, resumeFrom: string | undefined, signal: AbortSignal): Promise<Lro<BackupAutomaticAndOnDemand>>;
  beginDeleteBackup(resourceGroup: string, server: string, name: string, signal: AbortSignal): Promise<Lro<unknown>>;
  getServer(resourceGroup: string, server: string, signal: AbortSignal): Promise<Server>;
  /** Long-term retention (pg_dump into a container): the operation by backup name, its prerequisites check, and its start (POST; polled by name, not by poller). */
  getLtr(resourceGroup: string, server: string, name: string, signal: AbortSignal): Promise<BackupsLongTermRetentionOperation>;
  checkLtr(resourceGroup: string, server: string, name: string, signal: AbortSignal): Promise<unknown>;
  startLtr(resourceGroup: string, server: string, name: string, sasUrl: string, signal: AbortSignal): Promise<unknown>;
  beginCreateServer(resourceGroup: string, server: string, parameters: Server, resumeFrom: string | undefined, signal: AbortSignal): Promise<Lro<Server>>;
}

export interface AzureClients {
  pg: FlexibleServerApi;
  /** The container client of an account (one service client per account, shared). */
  container(account: string, container: string): ContainerClient;
  /** A read-only, short-lived SAS URL of a source blob for server-side copies: used in one request, never stored or logged. */
  sourceUrl(account: string, container: string, blob: string): Promise<string>;
  /** A SAS URL of a whole container (`permissions` e.g. "racwl"), valid `validMs`: handed to Azure in one request, never stored or logged. */
  containerUrl(account: string, container: string, permissions: string, validMs: number): Promise<string>;
  signal(): AbortSignal;
  /**
   * Runs one call with a deadline whose timer ends with the call (the copy's hot path: a signal from
   * AbortSignal.timeout keeps its timer, and what it holds, alive for the whole timeout). `copy`:
   * 2.5x the deadline (a server-side copy of 256 MiB takes seconds).
   */
  call<T>(fn: (signal: AbortSignal) => Promise<T>, copy?: boolean): Promise<T>;
}

interface PollerLike<R> { isDone(): boolean; getOperationState(): { status: string }; getResult(): R | undefined; toString(): string }
const lro = <R>(p: PollerLike<R>): Lro<R> => {
  const result = p.getResult();
  return { done: p.isDone(), status: p.getOperationState().status, token: p.toString(), ...(result !== undefined ? { result } : {}) };
};

/** Every URL in a poller's serialized state; they must all be on the ARM endpoint. */
function urlsIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string' && /^[a-z]+:\/\//i.test(value)) out.push(value);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) urlsIn(v, out);
  return out;
}

/**
 * A handle to resume is believed only when every URL in it is on the ARM endpoint: the client sends
 * its bearer token with each poll, so a handle naming another host would hand the token over.
 */
export function checkHandle(token: string, endpoint: string): string {
  const host = new URL(endpoint).host;
  let parsed: unknown;
  try { parsed = JSON.parse(token); } catch { parsed = undefined; }
  const urls = urlsIn(parsed);
  if (!parsed || urls.length === 0 || urls.some((u) => { try { return new URL(u).host !== host; } catch { return true; } })) {
    throw Object.assign(new Error(`the recorded operation handle does not point at ${host}; not resuming it`), { name: 'HandleUntrusted', code: 'HandleUntrusted' });
  }
  return token;
}

export function flexibleServerApi(client: PostgreSQLManagementFlexibleServerClient, endpoint = 'https://management.azure.com'): FlexibleServerApi {
  const resume = (token: string | undefined) => (token ? { resumeFrom: checkHandle(token, endpoint) } : {});
  return {
    getBackup: (rg, server, name, abortSignal) => client.backupsAutomaticAndOnDemand.get(rg, server, name, { abortSignal }),
    beginBackup: async (rg, server, name, resumeFrom, abortSignal) =>
      lro(await client.backupsAutomaticAndOnDemand.beginCreate(rg, server, name, { abortSignal, ...resume(resumeFrom) })),
    beginDeleteBackup: async (rg, server, name, abortSignal) => lro(await client.backupsAutomaticAndOnDemand.beginDelete(rg, server, name, { abortSignal })),
    getServer: (rg, server, abortSignal) => client.servers.get(rg, server, { abortSignal }),
    getLtr: (rg, server, name, abortSignal) => client.backupsLongTermRetention.get(rg, server, name, { abortSignal }),
    checkLtr: (rg, server, name, abortSignal) => client.backupsLongTermRetention.checkPrerequisites(rg, server, { backupSettings: { backupName: name } }, { abortSignal }),
    // The POST and one poll; the poller is dropped (its request held the SAS): the operation is read by name afterwards.
    startLtr: async (rg, server, name, sasUrl, abortSignal) => (await client.backupsLongTermRetention.beginStart(rg, server, { backupSettings: { backupName: name }, targetDetails: { sasUriList: [sasUrl] } }, { abortSignal })).getOperationState().status,
    beginCreateServer: async (rg, server, parameters, resumeFrom, abortSignal) =>
      lro(await client.servers.beginCreateOrUpdate(rg, server, parameters, { abortSignal, ...resume(resumeFrom) })),
  };
}

/** The ARM client; against a test endpoint plain HTTP is allowed and the bearer policy removed (the fake takes no token). */
export function armClient(config: AzureProviderConfig, credential: TokenCredential): PostgreSQLManagementFlexibleServerClient {
  const retryOptions = { maxRetries: 2, retryDelayInMs: 250, maxRetryDelayInMs: 2_000 };
  if (!config.armEndpoint) return new PostgreSQLManagementFlexibleServerClient(credential, config.subscriptionId, { retryOptions });
  const client = new PostgreSQLManagementFlexibleServerClient(credential, config.subscriptionId, { endpoint: config.armEndpoint, allowInsecureConnection: true, retryOptions });
  client.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
  return client;
}

/**
 * Production credentials: Azure Workload Identity only, from what its webhook injects
 * (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE). Not DefaultAzureCredential: it
 * would silently fall back to secrets in the environment, the node's managed identity or a CLI
 * login - another identity than the one granted the roles in docs/azure.md.
 */
export function workloadIdentity(env: NodeJS.ProcessEnv = process.env): TokenCredential {
  const clientId = env.AZURE_CLIENT_ID, tenantId = env.AZURE_TENANT_ID, tokenFilePath = env.AZURE_FEDERATED_TOKEN_FILE;
  if (clientId && tenantId && tokenFilePath) return new WorkloadIdentityCredential({ clientId, tenantId, tokenFilePath });
  const missing = [['AZURE_CLIENT_ID', clientId], ['AZURE_TENANT_ID', tenantId], ['AZURE_FEDERATED_TOKEN_FILE', tokenFilePath]].filter(([, v]) => !v).map(([k]) => k).join(', ');
  const message = `Azure Workload Identity is not set up for this pod (${missing} not injected): label the pod azure.workload.identity/use and annotate its ServiceAccount (docs/azure.md); no other credential is used`;
  return { getToken: async () => { throw Object.assign(new Error(message), { name: 'CredentialUnavailableError', code: 'WorkloadIdentityMissing' }); } };
}

/** A token credential that is never asked (tests with the bearer policy removed and an account key). */
const unused: TokenCredential = { getToken: async () => { throw new Error('no Azure credential is configured'); } };

const DELEGATION_MS = 60 * 60_000;
const SAS_MS = 30 * 60_000;

export function azureClients(config: AzureProviderConfig): AzureClients {
  // Workload Identity (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE) in the cluster.
  const needsToken = !config.armEndpoint || !config.accountKey;
  const credential: TokenCredential = needsToken ? workloadIdentity() : unused;
  const services = new Map<string, { service: BlobServiceClient; key?: StorageSharedKeyCredential }>();
  const delegation = new Map<string, { key: UserDelegationKey; until: number }>();
  const service = (account: string) => {
    let s = services.get(account);
    if (!s) {
      const url = config.blobUrlTemplate.replace('{account}', account);
      const key = config.accountKey ? new StorageSharedKeyCredential(account, config.accountKey) : undefined;
      s = { service: new BlobServiceClient(url, key ?? credential, { retryOptions: { maxTries: 3, retryDelayInMs: 250, maxRetryDelayInMs: 2_000 } }), ...(key ? { key } : {}) };
      services.set(account, s);
    }
    return s;
  };
  const signal = () => AbortSignal.timeout(config.callTimeoutMs);
  return {
    pg: flexibleServerApi(armClient(config, credential), config.armEndpoint),
    container: (account, container) => service(account).service.getContainerClient(container),
    sourceUrl: async (account, container, blob) => {
      const s = service(account);
      const now = Date.now();
      const values = { containerName: container, blobName: blob, permissions: BlobSASPermissions.parse('r'), startsOn: new Date(now - 5 * 60_000), expiresOn: new Date(now + SAS_MS) };
      const client = s.service.getContainerClient(container).getBlobClient(blob);
      if (s.key) return `${client.url}?${generateBlobSASQueryParameters(values, s.key).toString()}`;
      // Entra ID: a user delegation SAS, from a key asked once an hour per account.
      let d = delegation.get(account);
      if (!d || d.until - now < SAS_MS + 5 * 60_000) {
        const key = await s.service.getUserDelegationKey(new Date(now - 5 * 60_000), new Date(now + DELEGATION_MS), { abortSignal: signal() });
        d = { key, until: now + DELEGATION_MS };
        delegation.set(account, d);
      }
      return `${client.url}?${generateBlobSASQueryParameters(values, d.key, account).toString()}`;
    },
    containerUrl: async (account, container, permissions, validMs) => {
      const s = service(account);
      const now = Date.now();
      const values = { containerName: container, permissions: ContainerSASPermissions.parse(permissions), startsOn: new Date(now - 5 * 60_000), expiresOn: new Date(now + validMs) };
      const url = s.service.getContainerClient(container).url;
      if (s.key) return `${url}?${generateBlobSASQueryParameters(values, s.key).toString()}`;
      // A delegation key of its own, valid as long as the SAS (a user delegation SAS cannot outlive its key; at most 7 days).
      const key = await s.service.getUserDelegationKey(new Date(now - 5 * 60_000), new Date(now + validMs), { abortSignal: signal() });
      return `${url}?${generateBlobSASQueryParameters(values, key, account).toString()}`;
    },
    signal,
    call: async (fn, copy) => {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new DOMException('The operation timed out.', 'TimeoutError')), copy ? Math.round(config.callTimeoutMs * 2.5) : config.callTimeoutMs);
      try { return await fn(controller.signal); } finally { clearTimeout(timer); }
    },
  };
}
