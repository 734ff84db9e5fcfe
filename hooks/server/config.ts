// Hook server settings from the environment, with embedded defaults for a single machine.
import type { LocalProviderConfig } from '../../providers/local/config.ts';
import type { StorageConfig } from '../../providers/storage/objectStore.ts';
import type { ServicePolicy } from '../backup/sync.ts';

export interface ServerConfig {
  port: number;
  bodyLimit: string;
  storage: StorageConfig | undefined;
  local: LocalProviderConfig | undefined;
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
    bodyLimit: env.LC2_BODY_LIMIT ?? '32mb',
    storage,
    local: storage && {
      image: env.LC2_TOOLS_IMAGE ?? 'ghcr.io/liferay-cloud/lc2-backup-tools:0.1.0',
      storage,
      backoffLimit: int(env, 'LC2_JOB_BACKOFF_LIMIT', 2),
      activeDeadlineSeconds: int(env, 'LC2_JOB_DEADLINE_SECONDS', 86400),
      transfers: int(env, 'LC2_TRANSFERS', 32),
    },
  };
}
