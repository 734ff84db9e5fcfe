// Settings of the local provider, read from the hook server's environment (app/config.ts).
import type { StorageConfig } from '../../core/provider.ts';
import { storageEnv, type JobSettings } from '../shared/jobs/build.ts';

export interface LocalProviderConfig {
  /** Image with bash, pg_dump/pg_restore, mariadb-dump/mariadb, zstd and rclone (images/tools/Dockerfile). */
  image: string;
  storage: StorageConfig;
  backoffLimit: number;
  /** Hard limit for one Job; a stuck dump must not hold a project's concurrency slot forever. */
  activeDeadlineSeconds: number;
  transfers: number;
  /** The dumps' zstd level (1-19); unset: the Job's default, 1. */
  zstdLevel?: number;
  /** The dumps' chunk size in bytes (LC2_DUMP_CHUNK_MIB, 1-256 MiB); unset: 64 MiB. */
  chunkBytes?: number;
}

/** The tools image (images/tools/Dockerfile) unless LC2_TOOLS_IMAGE names another; also the reindex HTTP call's. */
export const DEFAULT_TOOLS_IMAGE = 'ghcr.io/liferay-cloud/lc2-backup-tools:0.2.0';

/** The local provider's Jobs reach the configured storage with the project's own key. */
export const localJobSettings = (c: LocalProviderConfig): JobSettings => ({
  image: c.image, backoffLimit: c.backoffLimit, activeDeadlineSeconds: c.activeDeadlineSeconds, transfers: c.transfers,
  ...(c.zstdLevel ? { zstdLevel: c.zstdLevel } : {}), storage: storageEnv(c.storage),
});
