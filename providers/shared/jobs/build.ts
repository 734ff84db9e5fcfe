// Pure builders of the batch/v1 Jobs a provider runs (the local provider's every step, a cloud
// provider's consistency check). The Job carries its whole script (scripts/*.sh) inline, so what a
// test runs is exactly what the cluster runs. Credentials are only ever secretKeyRefs (or the
// workload identity of a service account); no secret value is ever part of a Job spec.
import { readFileSync } from 'node:fs';
import type { KubeObject } from '../../../core/kube.ts';
import type { SecretRef } from '../../../core/crd.ts';
import type { StorageConfig } from '../../../core/provider.ts';

export type ScriptName = 'backup-database' | 'copy-document-library' | 'restore-database' | 'restore-document-library' | 'drill-cleanup' | 'list-expected-keys' | 'check-consistency';

const script = (name: string): string => readFileSync(new URL(`./scripts/${name}.sh`, import.meta.url), 'utf8');
const LIB = script('lib');
// Whole Job scripts, assembled once: the prelude plus the step's script.
const SCRIPTS: Record<ScriptName, string> = Object.fromEntries(
  (['backup-database', 'copy-document-library', 'restore-database', 'restore-document-library', 'drill-cleanup', 'list-expected-keys', 'check-consistency'] as const)
    .map((name) => [name, `${LIB}\n${script(name)}`]),
) as Record<ScriptName, string>;

export const REFUSED_EXIT_CODE = 3;

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}

/** Job names: readable, ≤ 63 characters (the job-name label limit), unique per parent UID. */
export function jobName(parentName: string, step: string, uid: string): string {
  const head = parentName.slice(0, 40).replace(/[-.]+$/, '');
  return `${head}-${step}-${uid.replace(/-/g, '').slice(0, 8)}`;
}

/** How a provider's Jobs run: the tools image, their limits, and how they reach the backup bucket. */
export interface JobSettings {
  /** Image with bash, pg_dump/pg_restore, mariadb-dump/mariadb, zstd and rclone (images/tools/Dockerfile). */
  image: string;
  backoffLimit: number;
  /** Hard limit for one Job; a stuck Job must not hold a project's concurrency slot forever. */
  activeDeadlineSeconds: number;
  transfers: number;
  zstdLevel?: number;
  /** The rclone remote "store:" (storageEnv, or a cloud provider's own). */
  storage: EnvVar[];
  /** A workload identity (e.g. IRSA) the Pod runs as, in the request's namespace. */
  serviceAccountName?: string;
}

/** rclone remote "store:" for the configured storage. */
export function storageEnv(s: StorageConfig): EnvVar[] {
  if (s.kind === 'file') {
    return [{ name: 'RCLONE_CONFIG_STORE_TYPE', value: 'alias' }, { name: 'RCLONE_CONFIG_STORE_REMOTE', value: s.root }];
  }
  return [
    { name: 'RCLONE_CONFIG_STORE_TYPE', value: 's3' },
    { name: 'RCLONE_CONFIG_STORE_PROVIDER', value: 'Other' },
    { name: 'RCLONE_CONFIG_STORE_ENDPOINT', value: s.endpoint },
    { name: 'RCLONE_CONFIG_STORE_REGION', value: s.region },
    { name: 'RCLONE_CONFIG_STORE_FORCE_PATH_STYLE', value: 'true' },
    // Buckets exist (the platform team creates them); a project's key may not create or probe them.
    { name: 'RCLONE_CONFIG_STORE_NO_CHECK_BUCKET', value: 'true' },
    { name: 'RCLONE_CONFIG_STORE_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: s.secretName, key: s.accessKeyIdKey } } },
    { name: 'RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: s.secretName, key: s.secretAccessKeyKey } } },
  ];
}

export function databaseEnv(engine: string, instanceId: string, databaseName: string, secret: SecretRef): EnvVar[] {
  const [host, port] = instanceId.split(':');
  return [
    { name: 'LC2_DB_ENGINE', value: engine },
    { name: 'LC2_DB_HOST', value: host ?? instanceId },
    { name: 'LC2_DB_PORT', value: port ?? (engine === 'postgresql' ? '5432' : '3306') },
    { name: 'LC2_DB_NAME', value: databaseName },
    { name: 'LC2_DB_USER', valueFrom: { secretKeyRef: { name: secret.name, key: secret.usernameKey ?? 'username' } } },
    { name: 'LC2_DB_PASSWORD', valueFrom: { secretKeyRef: { name: secret.name, key: secret.passwordKey ?? 'password' } } },
  ];
}

/** A whole Secret as env vars `<prefix><key>` (a missing Secret gives none: the script says what is missing). */
export interface EnvFromSecret { prefix: string; secretRef: { name: string; optional: true } }

export interface JobParams {
  name: string;
  step: string;
  script: ScriptName;
  env: EnvVar[];
  envFrom?: EnvFromSecret[];
  labels: Record<string, string>;
  /** A shorter hard limit than the settings' for this Job. */
  deadlineSeconds?: number;
}

export function buildJob(p: JobParams, config: JobSettings): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: p.name,
      labels: { 'app.kubernetes.io/name': 'lc2-backup', 'app.kubernetes.io/component': p.step, ...p.labels },
    },
    spec: {
      backoffLimit: config.backoffLimit,
      activeDeadlineSeconds: Math.min(config.activeDeadlineSeconds, p.deadlineSeconds ?? Infinity),
      // Refusals and corrupt artifacts exit 3: fail at once instead of retrying a hopeless run.
      podFailurePolicy: {
        rules: [{ action: 'FailJob', onExitCodes: { containerName: 'lc2', operator: 'In', values: [REFUSED_EXIT_CODE] } }],
      },
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'lc2-backup', 'app.kubernetes.io/component': p.step } },
        spec: {
          restartPolicy: 'Never',
          // The Pod never talks to the Kubernetes API; a workload identity is injected by its own webhook.
          automountServiceAccountToken: false,
          ...(config.serviceAccountName ? { serviceAccountName: config.serviceAccountName } : {}),
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name: 'lc2',
            image: config.image,
            command: ['/bin/bash', '-c', SCRIPTS[p.script], p.script],
            env: [
              { name: 'LC2_STEP', value: p.step }, { name: 'LC2_TRANSFERS', value: String(config.transfers) },
              ...(config.zstdLevel ? [{ name: 'LC2_ZSTD_LEVEL', value: String(config.zstdLevel) }] : []), ...p.env, ...config.storage,
            ],
            ...(p.envFrom?.length ? { envFrom: p.envFrom } : {}),
            resources: { requests: { cpu: '500m', memory: '256Mi' }, limits: { memory: '1Gi' } },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          }],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '1Gi' } }],
        },
      },
    },
  };
}
