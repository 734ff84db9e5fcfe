// The reindex phase of a restore (docs/recovery-points.md): after the database and the document
// library, one Job in the restore's namespace rebuilds the search index, the way the project's
// BackupTenant says (an HTTP call, or a Job of the platform team's own). Provider-independent: a
// cloud restore's new database needs its index rebuilt as much as a local one. Pure builders.
import { readFileSync } from 'node:fs';
import type { RestoreRequestSpec, RestoreRequestStatus, TenantReindex } from '../../core/crd.ts';
import type { KubeObject } from '../../core/kube.ts';
import { jobState } from '../../core/kube.ts';
import type { Observation, RestoreStep, RestoreStepResult } from '../../core/provider.ts';

const HTTP_SCRIPT = readFileSync(new URL('./scripts/reindex-http.sh', import.meta.url), 'utf8');
/** The exit code a refusal uses (a 4xx answer), as every LC2 Job: the Job fails at once. */
const REFUSED_EXIT_CODE = 3;

export interface ReindexContext { name: string; uid: string; namespace: string; spec: RestoreRequestSpec; backupId: string }

/** What a restore freezes when it starts: the project's settings, or why there is no reindex phase. */
export function reindexPlan(spec: RestoreRequestSpec, config: TenantReindex | undefined): NonNullable<RestoreRequestStatus['reindex']> {
  // A drill restores into scratch targets nothing serves: there is nothing to reindex.
  if (spec.skipReindex || spec.drill) return { skipped: 'SkippedByRequest' };
  return config ? { config } : { skipped: 'NotConfigured' };
}

/**
 * Why a BackupTenant's reindex settings cannot be run, or undefined. The CRD's schema says the same,
 * but a related object is checked again (an API server without the CEL rule, an older CRD): a bad
 * setting fails the restore with a reason instead of breaking every sync.
 */
export function reindexConfigProblem(config: TenantReindex): string | undefined {
  const http = config.http;
  const job = config.job;
  if (!!http === !!job) return 'BackupTenant spec.reindex needs exactly one of http or job';
  if (http && (typeof http.url !== 'string' || !/^https?:\/\/\S+$/.test(http.url))) return 'BackupTenant spec.reindex.http.url must be an http(s) URL';
  if (job && (typeof job.image !== 'string' || !job.image || !Array.isArray(job.command) || job.command.length === 0 || !job.command.every((c) => typeof c === 'string')
    || (job.args !== undefined && (!Array.isArray(job.args) || !job.args.every((a) => typeof a === 'string'))))) {
    return 'BackupTenant spec.reindex.job needs an image and a command (strings)';
  }
  return undefined;
}

export const reindexJobName = (name: string, uid: string): string =>
  `${name.slice(0, 40).replace(/[-.]+$/, '')}-rix-${uid.replace(/-/g, '').slice(0, 8)}`;

/** Placeholders a URL or body may hold: values the CRD restricts to characters that cannot break out of either. */
function fill(text: string, ctx: ReindexContext): string {
  const values: Record<string, string> = {
    projectId: ctx.spec.projectId, environment: ctx.spec.environment, namespace: ctx.namespace, databaseName: ctx.spec.database.databaseName,
  };
  return text.replace(/\{(projectId|environment|namespace|databaseName)\}/g, (_m, key: string) => values[key] ?? '');
}

export function reindexStep(ctx: ReindexContext, config: TenantReindex, toolsImage: string): RestoreStep {
  const name = reindexJobName(ctx.name, ctx.uid);
  const { spec } = ctx;
  // What the restore made, for a Job of one's own: where Liferay's new data is.
  const env = [
    { name: 'LC2_PROJECT', value: spec.projectId },
    { name: 'LC2_ENVIRONMENT', value: spec.environment },
    { name: 'LC2_RESTORE', value: ctx.name },
    { name: 'LC2_BACKUP_ID', value: ctx.backupId },
    { name: 'LC2_DATABASE_INSTANCE', value: spec.database.instanceId },
    { name: 'LC2_DATABASE_NAME', value: spec.database.databaseName },
    { name: 'LC2_DL_BUCKET', value: spec.documentLibrary.destinationBucket },
    { name: 'LC2_DL_PREFIX', value: spec.documentLibrary.destinationPrefix },
  ];
  const http = config.http;
  const container = http
    ? {
      name: 'lc2', image: toolsImage, command: ['/bin/bash', '-c', HTTP_SCRIPT, 'reindex-http'],
      env: [
        ...env,
        { name: 'LC2_REINDEX_URL', value: fill(http.url, ctx) },
        { name: 'LC2_REINDEX_METHOD', value: http.method ?? 'POST' },
        { name: 'LC2_REINDEX_BODY', value: fill(http.body ?? '', ctx) },
        { name: 'LC2_REINDEX_TIMEOUT', value: String(http.timeoutSeconds ?? 300) },
        ...(http.authorizationSecret ? [{ name: 'LC2_REINDEX_AUTHORIZATION', valueFrom: { secretKeyRef: { name: http.authorizationSecret.name, key: http.authorizationSecret.key } } }] : []),
      ],
    }
    : {
      // No placeholders in a command: a shell would expand a '$' in a tenant's value. The values
      // are in the environment; a Secret's keys get a prefix, so none can be BASH_ENV, PATH or the like.
      name: 'lc2', image: config.job!.image, command: config.job!.command,
      ...(config.job!.args ? { args: config.job!.args } : {}),
      env,
      ...(config.job!.envFromSecret ? { envFrom: [{ prefix: 'LC2_SECRET_', secretRef: { name: config.job!.envFromSecret } }] } : {}),
    };
  const job: KubeObject = {
    apiVersion: 'batch/v1', kind: 'Job',
    metadata: {
      name,
      labels: { 'app.kubernetes.io/name': 'lc2-backup', 'app.kubernetes.io/component': 'reindex', 'backup.liferay.cloud/project': spec.projectId, 'backup.liferay.cloud/environment': spec.environment },
    },
    spec: {
      backoffLimit: config.backoffLimit ?? 2,
      activeDeadlineSeconds: config.activeDeadlineSeconds ?? 7200,
      podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { containerName: 'lc2', operator: 'In', values: [REFUSED_EXIT_CODE] } }] },
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'lc2-backup', 'app.kubernetes.io/component': 'reindex' } },
        spec: {
          restartPolicy: 'Never',
          // Only a Job of one's own may need the API (e.g. to set index.on.startup on the Deployment).
          ...(config.job?.serviceAccountName ? { serviceAccountName: config.job.serviceAccountName } : { automountServiceAccountToken: false }),
          // The restricted Pod Security profile, as every LC2 Job: a Job of one's own runs as non-root too.
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            ...container,
            resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          }],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
        },
      },
    },
  };
  return { name: 'reindex', phase: 'Reindexing', operationId: name, children: [job] };
}

/** The reindex Job's outcome, from its own status (a Job of one's own writes no result object). */
export function observeReindex(job: KubeObject | undefined, config: TenantReindex, now: string): Observation<RestoreStepResult> {
  const state = jobState(job);
  if (state.state === 'missing') return { state: 'running', message: 'Job is being created' };
  if (state.state === 'running') return { state: 'running', message: 'Job is running' };
  if (state.state === 'failed') {
    const refused = state.reason === 'PodFailurePolicy' && !!config.http;
    return {
      state: 'failed', reason: refused ? 'ReindexRefused' : 'ReindexFailed', retryable: false,
      message: refused ? `the reindex endpoint refused the call (a 4xx answer); see the logs of Job ${job?.metadata.name}` : `Job ${job?.metadata.name}: ${state.message}; see its Pod logs`,
    };
  }
  return { state: 'done', result: { tool: config.http ? 'http' : 'job' }, completedAt: state.completionTime ?? now };
}
