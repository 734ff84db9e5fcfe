// Runs a Job's real command as a local process, the way the Job controller and kubelet would run
// its Pod: a clean environment of the Job's env vars (secretKeyRefs resolved from the namespace's
// Secrets), retries up to backoffLimit, podFailurePolicy FailJob exit codes honoured.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../core/kube.ts';

export type Secrets = Record<string, Record<string, string>>;
export interface JobRun { job: string; exitCode: number; stderr: string }

interface Container {
  command: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }>;
  envFrom?: Array<{ prefix?: string; secretRef: { name: string; optional?: boolean } }>;
}
interface JobSpec {
  backoffLimit?: number;
  podFailurePolicy?: { rules: Array<{ action: string; onExitCodes: { values: number[] } }> };
  template: { spec: { containers: Container[] } };
}

export interface JobOutcome { runs: JobRun[]; status: Record<string, unknown> }

export async function runJobToCompletion(job: KubeObject, secrets: Secrets, onProgress?: (line: string) => void): Promise<JobOutcome> {
  const spec = job.spec as JobSpec;
  const attempts = (spec.backoffLimit ?? 6) + 1;
  const failFast = new Set(spec.podFailurePolicy?.rules.filter((r) => r.action === 'FailJob').flatMap((r) => r.onExitCodes.values) ?? []);
  const startTime = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const runs: JobRun[] = [];
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    onProgress?.(`  Job ${job.metadata.name}: running${attempt ? ` (retry ${attempt})` : ''}`);
    const run = await runJobCommand(job, secrets);
    runs.push(run);
    if (run.exitCode === 0 || failFast.has(run.exitCode)) break;
  }
  const last = runs[runs.length - 1]!;
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  onProgress?.(`  Job ${job.metadata.name}: ${last.exitCode === 0 ? 'complete' : `failed (exit ${last.exitCode})`}`);
  if (last.exitCode === 0) {
    return { runs, status: {
      startTime, completionTime: now, succeeded: 1,
      conditions: [
        { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastProbeTime: now, lastTransitionTime: now },
        { type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastProbeTime: now, lastTransitionTime: now },
      ],
    } };
  }
  const [reason, message] = failFast.has(last.exitCode)
    ? ['PodFailurePolicy', `Container lc2 for pod ${job.metadata.name} failed with exit code ${last.exitCode} matching FailJob rule at index 0`]
    : ['BackoffLimitExceeded', 'Job has reached the specified backoff limit'];
  return { runs, status: {
    startTime, failed: runs.length,
    conditions: [
      { type: 'FailureTarget', status: 'True', reason, message, lastProbeTime: now, lastTransitionTime: now },
      { type: 'Failed', status: 'True', reason, message, lastProbeTime: now, lastTransitionTime: now },
    ],
  } };
}

export function runJobCommand(job: KubeObject, secrets: Secrets): Promise<JobRun> {
  const container = (job.spec as JobSpec).template.spec.containers[0]!;
  const home = mkdtempSync(join(tmpdir(), 'lc2-job-'));
  // A clean environment like a Pod's: only PATH, HOME and what the Job spec declares.
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, TMPDIR: home };
  // As the kubelet: envFrom first, each key of the Secret as <prefix><key>; a missing optional Secret gives nothing.
  for (const from of container.envFrom ?? []) {
    const secret = secrets[from.secretRef.name];
    if (!secret && !from.secretRef.optional) throw new Error(`Job ${job.metadata.name}: secret ${from.secretRef.name} not found (CreateContainerConfigError)`);
    for (const [key, value] of Object.entries(secret ?? {})) env[`${from.prefix ?? ''}${key}`] = value;
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom) {
      const v = secrets[e.valueFrom.secretKeyRef.name]?.[e.valueFrom.secretKeyRef.key];
      if (v === undefined) throw new Error(`Job ${job.metadata.name}: secret ${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key} not found (CreateContainerConfigError)`);
      env[e.name] = v;
    }
  }
  // As the kubelet: the image's entrypoint is replaced by command, followed by args.
  const [cmd, ...args] = [...container.command, ...(container.args ?? [])];
  return new Promise((resolve) => {
    const child = spawn(cmd!, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => {
      rmSync(home, { recursive: true, force: true });
      resolve({ job: job.metadata.name, exitCode: code ?? 1, stderr });
    });
  });
}
