// Settings of the Azure provider, read from the hook server's environment (LC2_AZURE_*). Credentials
// are never configured here in production: @azure/identity's WorkloadIdentityCredential uses the pod's
// Workload Identity (kustomize/overlays/azure). An account key is accepted for Azurite and tests only.
import { randomBytes } from 'node:crypto';
import { envInt } from '../shared/envInt.ts';

export interface AzureProviderConfig {
  subscriptionId: string;
  /** The resource group of a server named without one (spec.database.instanceId "<server>"). */
  resourceGroup: string;
  /** The storage account of a container named without one (a bucket "<container>"). */
  storageAccount?: string;
  /** Blob endpoint per account; "{account}" is replaced (Azurite: http://127.0.0.1:10000/{account}). */
  blobUrlTemplate: string;
  /** Tests only: ARM elsewhere than management.azure.com (an in-repo fake), plain HTTP allowed. */
  armEndpoint?: string;
  /** Tests (Azurite) and key-based accounts only: the account key; never logged or put in status. */
  accountKey?: string;
  copy: { parallelism: number; pageSize: number; asyncThreshold: number };
  /** Time one sync may spend copying before it records the cursor and asks to be called again. */
  stepBudgetMs: number;
  /** Deadline of one SDK call (copies get 2.5x), well under the 30 s webhook timeout. */
  callTimeoutMs: number;
  /**
   * How long a request whose answer was lost (a backup PUT, a long-term backup start) is waited for
   * by name before it counts as never made: longer than the service takes to show what it accepted.
   */
  unseenDeadlineMs: number;
  /**
   * Signs checkpoints beside the data (HMAC): the first key signs, every key verifies, so keys
   * retired by a rotation (LC2_CHECKPOINT_KEYS_OLD) keep earlier backups restorable. Shared by every replica.
   */
  checkpointSecret?: string | readonly string[];
  /** Set when LC2_CHECKPOINT_KEY is not: why the key is not a stable shared one (warned at start-up). */
  checkpointKeyWarning?: string;
}

/**
 * The checkpoint keys: LC2_CHECKPOINT_KEY (else LC2_HOOK_TOKEN, else a random key of this process)
 * signs; it and LC2_CHECKPOINT_KEYS_OLD (comma-separated) verify. Without LC2_CHECKPOINT_KEY a
 * token rotation or a replica with another key makes earlier signed records unreadable.
 */
export function checkpointKeys(env: NodeJS.ProcessEnv): Pick<AzureProviderConfig, 'checkpointSecret' | 'checkpointKeyWarning'> {
  const current = env.LC2_CHECKPOINT_KEY?.trim() || env.LC2_HOOK_TOKEN?.trim() || randomBytes(32).toString('base64url');
  const old = (env.LC2_CHECKPOINT_KEYS_OLD ?? '').split(',').map((k) => k.trim()).filter((k) => k && k !== current);
  const warning = env.LC2_CHECKPOINT_KEY?.trim() ? undefined
    : `LC2_CHECKPOINT_KEY is not set: the azure provider signs its records with ${env.LC2_HOOK_TOKEN?.trim() ? 'LC2_HOOK_TOKEN (rotating it' : 'a random key of this process (a restart'} or a replica with another key makes restores of earlier backups by manifest fail with SnapshotNotAllowed); set one key shared by every replica (docs/azure.md)`;
  return { checkpointSecret: old.length ? [current, ...old] : current, ...(warning ? { checkpointKeyWarning: warning } : {}) };
}

const MiB = 1024 ** 2;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RESOURCE_GROUP = /^[-\w._()]{1,89}[-\w_()]$/;

/** The provider's configuration, or undefined (off) when LC2_AZURE_SUBSCRIPTION_ID is unset. */
export function azureConfigFromEnv(env: NodeJS.ProcessEnv): AzureProviderConfig | undefined {
  const subscriptionId = env.LC2_AZURE_SUBSCRIPTION_ID?.trim();
  if (!subscriptionId) return undefined;
  if (!UUID.test(subscriptionId)) throw new Error('LC2_AZURE_SUBSCRIPTION_ID must be the subscription\'s UUID');
  const resourceGroup = env.LC2_AZURE_RESOURCE_GROUP?.trim() ?? '';
  if (!RESOURCE_GROUP.test(resourceGroup)) throw new Error('LC2_AZURE_RESOURCE_GROUP must name the default resource group of the database servers');
  const account = env.LC2_AZURE_STORAGE_ACCOUNT?.trim();
  if (account && !/^[a-z0-9]{3,24}$/.test(account)) throw new Error('LC2_AZURE_STORAGE_ACCOUNT must be a storage account name (3-24 lowercase letters and digits)');
  const template = env.LC2_AZURE_BLOB_URL_TEMPLATE?.trim() || 'https://{account}.blob.core.windows.net';
  if (!template.includes('{account}') || !/^https?:\/\//.test(template)) throw new Error('LC2_AZURE_BLOB_URL_TEMPLATE must be an http(s) URL containing {account}');
  const budget = envInt(env, 'LC2_AZURE_STEP_BUDGET_MS', 15_000, 50, 20_000);
  return {
    subscriptionId, resourceGroup, blobUrlTemplate: template.replace(/\/+$/, ''),
    ...(account ? { storageAccount: account } : {}),
    ...(env.LC2_AZURE_ARM_ENDPOINT ? { armEndpoint: env.LC2_AZURE_ARM_ENDPOINT.replace(/\/+$/, '') } : {}),
    ...(env.LC2_AZURE_STORAGE_ACCOUNT_KEY ? { accountKey: env.LC2_AZURE_STORAGE_ACCOUNT_KEY } : {}),
    copy: {
      parallelism: envInt(env, 'LC2_AZURE_COPY_PARALLELISM', 32, 1, 64),
      pageSize: envInt(env, 'LC2_AZURE_PAGE_SIZE', 250, 1, 5000),
      // Copy Blob From URL takes sources up to 256 MiB; larger ones go through the asynchronous Copy Blob.
      asyncThreshold: envInt(env, 'LC2_AZURE_ASYNC_COPY_THRESHOLD_MB', 256, 0, 256) * MiB,
    },
    stepBudgetMs: budget,
    callTimeoutMs: envInt(env, 'LC2_AZURE_CALL_TIMEOUT_MS', 8_000, 500, 20_000),
    unseenDeadlineMs: envInt(env, 'LC2_AZURE_UNSEEN_DEADLINE_MS', 30 * 60_000, 100, 24 * 60 * 60_000),
    ...checkpointKeys(env),
  };
}
