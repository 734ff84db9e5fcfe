// Settings of the GCP provider, read from the hook server's environment (app/config.ts calls
// gcpConfigFromEnv). Credentials are never configured here: Application Default Credentials find
// them (GKE Workload Identity in the cluster). LC2_GCP_PROJECT turns the provider on.
import { envInt } from '../shared/envInt.ts';

export interface GcpProviderConfig {
  /** The Google Cloud project of the Cloud SQL instances, buckets and Storage Transfer jobs. */
  project: string;
  /** Tests only: the Cloud SQL Admin API root (a fake), e.g. http://127.0.0.1:PORT/. */
  sqlAdminEndpoint?: string;
  /** Tests only: the Storage Transfer API as http://host:port (REST fallback, fake token). */
  transferEndpoint?: string;
  /** Tests only: the GCS JSON API root (fake-gcs-server), e.g. http://127.0.0.1:PORT. */
  storageEndpoint?: string;
  /** Timeout of one API call, well under the 30 s webhook timeout. */
  callTimeoutMs: number;
  /** The database an export dumps when the spec names none (Liferay's default schema). */
  defaultDatabase: string;
  /** A lease (create-then-record) outlives a crashed holder by this much. */
  leaseTtlMs: number;
}

/** Where the hint for a provider that is not configured points. */
export const GCP_NOT_CONFIGURED = 'the gcp provider is not configured on this hook server: set LC2_GCP_PROJECT (credentials come from Application Default Credentials, e.g. GKE Workload Identity)';

const url = (env: NodeJS.ProcessEnv, name: string): string | undefined => {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (!/^https?:\/\/[^/\s]+/.test(raw)) throw new Error(`${name} must be an http(s) URL, got ${raw}`);
  return raw;
};

/** The provider's settings, or undefined (off) without LC2_GCP_PROJECT. */
export function gcpConfigFromEnv(env: NodeJS.ProcessEnv): GcpProviderConfig | undefined {
  const project = env.LC2_GCP_PROJECT?.trim();
  if (!project) return undefined;
  // Project IDs: 6-30 lowercase letters, digits, hyphens, starting with a letter (domain-scoped ones carry "domain:").
  if (!/^([a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(project)) throw new Error(`LC2_GCP_PROJECT must be a Google Cloud project ID, got ${project}`);
  const callTimeoutMs = envInt(env, 'LC2_GCP_CALL_TIMEOUT_MS', 8_000, 500, 20_000);
  const sqlAdminEndpoint = url(env, 'LC2_GCP_SQLADMIN_ENDPOINT');
  const transferEndpoint = url(env, 'LC2_GCP_TRANSFER_ENDPOINT');
  const storageEndpoint = url(env, 'LC2_GCP_STORAGE_ENDPOINT');
  return {
    project, callTimeoutMs,
    ...(sqlAdminEndpoint ? { sqlAdminEndpoint } : {}),
    ...(transferEndpoint ? { transferEndpoint } : {}),
    ...(storageEndpoint ? { storageEndpoint } : {}),
    defaultDatabase: env.LC2_GCP_EXPORT_DATABASE?.trim() || 'lportal',
    leaseTtlMs: 3 * callTimeoutMs + 10_000,
  };
}
