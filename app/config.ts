// Hook server settings from the environment, with embedded defaults for a single machine.
import { randomBytes } from 'node:crypto';
import { DEFAULT_TOOLS_IMAGE, type LocalProviderConfig } from '../providers/local/config.ts';
import type { AwsProviderConfig } from '../providers/aws/config.ts';
import { gcpConfigFromEnv, type GcpProviderConfig } from '../providers/gcp/config.ts';
import { azureConfigFromEnv, type AzureProviderConfig } from '../providers/azure/config.ts';
import { MAX_KEPT_UPLOADS } from '../providers/aws/config.ts';
import type { StorageConfig } from '../core/provider.ts';
import type { ServicePolicy } from '../hooks/backup/sync.ts';

export interface ServerConfig {
  /** The hook listener (Metacontroller, health, metrics). */
  port: number;
  /** The REST API listener, a separate port and Service (only when the archive is on). */
  apiPort: number;
  /** The bearer token Metacontroller sends (webhook.authorization); never logged. */
  hookToken: string | undefined;
  /** Confirm through the API server before deleting data (off only for a single tenant without a cluster). */
  confirmDeletions: boolean;
  bodyLimit: string;
  storage: StorageConfig | undefined;
  local: LocalProviderConfig | undefined;
  /** On when LC2_AWS_REGION is set. */
  aws: AwsProviderConfig | undefined;
  /** On when LC2_GCP_PROJECT is set. */
  gcp: GcpProviderConfig | undefined;
  /** On when LC2_AZURE_SUBSCRIPTION_ID is set. */
  azure: AzureProviderConfig | undefined;
  policy: ServicePolicy;
  /** PostgreSQL URL of the archive, or a PGlite directory when no URL is set; undefined = off. */
  archive: { url?: string; dir: string } | undefined;
  /** JSON: bearer token → projects it may read ("*" = all). Never logged. */
  apiTokens: string | undefined;
}

export function storageFromUrl(url: string | undefined, env: NodeJS.ProcessEnv): StorageConfig | undefined {
  if (!url) return undefined;
  if (url.startsWith('file://')) return { kind: 'file', root: new URL(url).pathname };
  if (/^https?:\/\//.test(url)) {
    return {
      kind: 's3', endpoint: url, region: env.LC2_STORAGE_REGION ?? 'us-east-1',
      secretName: env.LC2_STORAGE_SECRET ?? 'lc2-storage',
      accessKeyIdKey: env.LC2_STORAGE_SECRET_ACCESS_KEY_ID_KEY ?? 'accessKeyId',
      secretAccessKeyKey: env.LC2_STORAGE_SECRET_SECRET_ACCESS_KEY_KEY ?? 'secretAccessKey',
    };
  }
  throw new Error(`LC2_STORAGE_URL must be http(s)://host:port (S3-compatible) or file:///dir, got ${url}`);
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return n;
}

/** An integer setting within bounds, or a start-up error that names the setting and its range. */
function ranged(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got ${raw}`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const storage = storageFromUrl(env.LC2_STORAGE_URL, env);
  const tenancy = env.LC2_TENANCY ?? 'enforce';
  if (tenancy !== 'enforce' && tenancy !== 'off') throw new Error(`LC2_TENANCY must be enforce or off, got ${tenancy}`);
  return {
    apiTokens: env.LC2_API_TOKENS,
    archive: env.LC2_ARCHIVE === 'off' ? undefined : { ...(env.LC2_ARCHIVE_URL ? { url: env.LC2_ARCHIVE_URL } : {}), dir: env.LC2_ARCHIVE_DIR ?? '.lc2-archive' },
    policy: {
      tenancy,
      maxConcurrentPerProject: int(env, 'LC2_MAX_CONCURRENT_PER_PROJECT', 2),
      maxConcurrentGlobal: int(env, 'LC2_MAX_CONCURRENT_GLOBAL', 20),
    },
    port: int(env, 'PORT', 8080),
    apiPort: int(env, 'LC2_API_PORT', 8081),
    hookToken: hookTokenFrom(env),
    confirmDeletions: env.LC2_CONFIRM_DELETIONS !== 'off',
    bodyLimit: env.LC2_BODY_LIMIT ?? '32mb',
    storage,
    aws: awsFrom(env),
    gcp: gcpConfigFromEnv(env),
    azure: azureConfigFromEnv(env),
    local: storage && {
      image: env.LC2_TOOLS_IMAGE ?? DEFAULT_TOOLS_IMAGE,
      storage,
      backoffLimit: int(env, 'LC2_JOB_BACKOFF_LIMIT', 2),
      activeDeadlineSeconds: int(env, 'LC2_JOB_DEADLINE_SECONDS', 86400),
      transfers: int(env, 'LC2_TRANSFERS', 32),
      // The dump's zstd level (docs/decisions.md "Dumps compress with zstd level 1").
      ...(env.LC2_ZSTD_LEVEL ? { zstdLevel: ranged('LC2_ZSTD_LEVEL', env.LC2_ZSTD_LEVEL, 1, 19) } : {}),
      // The dumps' chunk size: a restore checks each chunk before using it and holds three in its /tmp.
      ...(env.LC2_DUMP_CHUNK_MIB ? { chunkBytes: ranged('LC2_DUMP_CHUNK_MIB', env.LC2_DUMP_CHUNK_MIB, 1, 256) * 1024 * 1024 } : {}),
    },
  };
}

/**
 * The hook token: required in a cluster (the hook endpoints can delete data and drive cloud calls),
 * unless LC2_HOOK_AUTH=off says this is a single-tenant setup behind other protection.
 */
function hookTokenFrom(env: NodeJS.ProcessEnv): string | undefined {
  const token = env.LC2_HOOK_TOKEN?.trim() || undefined;
  if (token && token.length < 32) throw new Error('LC2_HOOK_TOKEN must be at least 32 characters (e.g. openssl rand -hex 32)');
  if (!token && env.KUBERNETES_SERVICE_HOST && env.LC2_HOOK_AUTH !== 'off') {
    throw new Error('LC2_HOOK_TOKEN is not set: in a cluster the hook endpoints need the token Metacontroller sends (docs/security.md), or LC2_HOOK_AUTH=off');
  }
  return token;
}

const MiB = 1024 ** 2;

function awsFrom(env: NodeJS.ProcessEnv): AwsProviderConfig | undefined {
  const region = env.LC2_AWS_REGION;
  if (!region) return undefined;
  const threshold = int(env, 'LC2_AWS_MULTIPART_THRESHOLD_MB', 256) * MiB;
  const partSize = int(env, 'LC2_AWS_PART_SIZE_MB', 128) * MiB;
  // S3's limits: parts of 5 MiB to 5 GiB, a single CopyObject up to 5 GiB.
  if (partSize < 5 * MiB || partSize > 5 * 1024 * MiB) throw new Error('LC2_AWS_PART_SIZE_MB must be between 5 and 5120');
  if (threshold > 5 * 1024 * MiB) throw new Error('LC2_AWS_MULTIPART_THRESHOLD_MB must be at most 5120 (the CopyObject limit)');
  const budget = int(env, 'LC2_AWS_STEP_BUDGET_MS', 15_000);
  if (budget > 20_000) throw new Error('LC2_AWS_STEP_BUDGET_MS must stay well under the 30 s sync webhook timeout (at most 20000)');
  return {
    region,
    ...(env.LC2_AWS_ENDPOINT ? { endpoint: env.LC2_AWS_ENDPOINT } : {}),
    ...(env.LC2_AWS_S3_ENDPOINT ? { s3Endpoint: env.LC2_AWS_S3_ENDPOINT } : {}),
    ...(env.LC2_AWS_EXPORT_ROLE_ARN ? { exportRoleArn: env.LC2_AWS_EXPORT_ROLE_ARN } : {}),
    ...(env.LC2_AWS_EXPORT_KMS_KEY ? { exportKmsKeyId: env.LC2_AWS_EXPORT_KMS_KEY } : {}),
    copy: { parallelism: Math.min(MAX_KEPT_UPLOADS, Math.max(1, int(env, 'LC2_AWS_COPY_PARALLELISM', 32))), multipartThreshold: threshold, partSize, pageSize: Math.min(1000, Math.max(1, int(env, 'LC2_AWS_PAGE_SIZE', 250))) },
    stepBudgetMs: budget,
    callTimeoutMs: int(env, 'LC2_AWS_CALL_TIMEOUT_MS', 8_000),
    // Every replica must share it (a checkpoint from another replica is otherwise ignored, which is
    // safe - the copy resumes from status and finds its objects there - but slower).
    checkpointSecret: env.LC2_CHECKPOINT_KEY?.trim() || env.LC2_HOOK_TOKEN?.trim() || randomBytes(32).toString('base64url'),
    ...(env.LC2_AWS_MANUAL_SNAPSHOT_QUOTA ? { manualSnapshotQuota: Math.max(1, int(env, 'LC2_AWS_MANUAL_SNAPSHOT_QUOTA', 100)) } : {}),
    ...(env.LC2_AWS_JOB_SECRET || env.LC2_AWS_JOB_SERVICE_ACCOUNT ? { jobs: {
      image: env.LC2_TOOLS_IMAGE ?? DEFAULT_TOOLS_IMAGE,
      backoffLimit: int(env, 'LC2_JOB_BACKOFF_LIMIT', 2),
      activeDeadlineSeconds: int(env, 'LC2_JOB_DEADLINE_SECONDS', 86400),
      transfers: int(env, 'LC2_TRANSFERS', 32),
      ...(env.LC2_AWS_JOB_SECRET ? { credentialsSecret: env.LC2_AWS_JOB_SECRET } : {}),
      ...(env.LC2_AWS_JOB_SERVICE_ACCOUNT ? { serviceAccountName: env.LC2_AWS_JOB_SERVICE_ACCOUNT } : {}),
    } } : {}),
  };
}
