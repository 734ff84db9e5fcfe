// Plays Metacontroller's part for end-to-end tests (docs/metacontroller-contract.md §2): sends the
// hook exactly the documented request (children keyed Kind.apiVersion, v1 or v2 keys, related
// objects, finalizing), applies the answer (creates missing children, deletes omitted ones, never
// updates existing Jobs: OnDelete), replaces the status and adds observedGeneration. Nothing runs
// Jobs here, so the driver runs each Job's real command as a local process (bash + pg_dump/
// mysqldump/rclone against the machine's databases and storage) and writes the Job status.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject, ObjectGroups, SyncResponse } from '../../hooks/contract/types.ts';

export type HookVersion = 'v1' | 'v2';

interface Container { command: string[]; env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }> }
interface JobSpec {
  backoffLimit?: number;
  podFailurePolicy?: { rules: Array<{ action: string; onExitCodes: { values: number[] } }> };
  template: { spec: { containers: Container[] } };
}

export interface JobRun { job: string; exitCode: number; stderr: string }

export interface DriverOptions {
  hookUrl: () => string;
  /** Path of the sync hook, e.g. /backuprequest/sync. */
  syncPath: string;
  hookVersion?: HookVersion;
  /** Secrets of the namespace, by name (what the kubelet would resolve for secretKeyRefs). */
  secrets: Record<string, Record<string, string>>;
  /** Related objects by group key, as the customize hook would have Metacontroller fetch them. */
  related?: () => ObjectGroups;
  onProgress?: (line: string) => void;
}

export class MetacontrollerDriver {
  readonly parent: KubeObject;
  readonly children = new Map<string, KubeObject>();
  readonly jobRuns: JobRun[] = [];
  syncs = 0;
  private readonly options: DriverOptions;

  constructor(parent: KubeObject, options: DriverOptions) {
    this.parent = structuredClone(parent);
    this.parent.metadata.generation ??= 1;
    this.options = options;
  }

  get status(): Record<string, unknown> { return (this.parent.status ?? {}) as Record<string, unknown>; }
  get phase(): string | undefined { return this.status.phase as string | undefined; }

  request(finalizing = false): Record<string, unknown> {
    const version = this.options.hookVersion ?? 'v2';
    const jobs: Record<string, KubeObject> = {};
    for (const job of this.children.values()) {
      jobs[version === 'v2' ? `${this.parent.metadata.namespace}/${job.metadata.name}` : job.metadata.name] = job;
    }
    return {
      controller: { apiVersion: 'metacontroller.k8s.io/v1alpha1', kind: 'CompositeController', metadata: { name: 'lc2' } },
      parent: this.parent,
      children: { 'Job.batch/v1': jobs },
      related: this.options.related?.() ?? {},
      finalizing,
    };
  }

  /** One hook call and, on 200, Metacontroller's application of the answer. */
  async sync(finalizing = false): Promise<SyncResponse> {
    this.syncs += 1;
    const res = await fetch(`${this.options.hookUrl()}${this.options.syncPath}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(this.request(finalizing)),
    });
    const body = await res.json() as SyncResponse & { error?: string };
    if (res.status !== 200) throw new Error(`hook answered ${res.status}: ${body.error ?? ''}`);
    const desired = new Map(body.children.map((c) => [c.metadata.name, c]));
    for (const name of [...this.children.keys()]) if (!desired.has(name)) this.children.delete(name);
    for (const [name, child] of desired) {
      if (!this.children.has(name)) {
        this.children.set(name, { ...structuredClone(child), metadata: { ...child.metadata, namespace: this.parent.metadata.namespace, labels: { ...child.metadata.labels, 'controller-uid': this.parent.metadata.uid ?? '' } } });
      }
    }
    const before = this.phase;
    this.parent.status = { ...(body.status as object), observedGeneration: this.parent.metadata.generation };
    if (this.phase !== before) this.options.onProgress?.(`${this.parent.kind} ${this.parent.metadata.name}: ${before ?? '-'} -> ${this.phase}`);
    return body;
  }

  /** Run every Job that has no status yet, like the Job controller would (honours backoffLimit and podFailurePolicy). */
  async runPendingJobs(): Promise<number> {
    let ran = 0;
    for (const job of this.children.values()) {
      if (job.kind !== 'Job' || job.status) continue;
      const spec = job.spec as JobSpec;
      const attempts = (spec.backoffLimit ?? 6) + 1;
      const failFast = new Set(spec.podFailurePolicy?.rules.filter((r) => r.action === 'FailJob').flatMap((r) => r.onExitCodes.values) ?? []);
      let last: JobRun | undefined;
      for (let attempt = 0; attempt < attempts; attempt += 1) {
        this.options.onProgress?.(`  Job ${job.metadata.name}: running${attempt ? ` (retry ${attempt})` : ''}`);
        last = await this.runJob(job);
        this.jobRuns.push(last);
        if (last.exitCode === 0 || failFast.has(last.exitCode)) break;
      }
      const now = new Date().toISOString();
      job.status = last!.exitCode === 0
        ? { succeeded: 1, completionTime: now, conditions: [{ type: 'Complete', status: 'True' }] }
        : { failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: failFast.has(last!.exitCode) ? 'PodFailurePolicy' : 'BackoffLimitExceeded', message: failFast.has(last!.exitCode) ? `Container lc2 failed with exit code ${last!.exitCode}` : 'Job has reached the specified backoff limit' }] };
      this.options.onProgress?.(`  Job ${job.metadata.name}: ${last!.exitCode === 0 ? 'complete' : `failed (exit ${last!.exitCode})`}`);
      ran += 1;
    }
    return ran;
  }

  private runJob(job: KubeObject): Promise<JobRun> {
    const container = (job.spec as JobSpec).template.spec.containers[0]!;
    const home = mkdtempSync(join(tmpdir(), 'lc2-job-'));
    // A clean environment like a Pod's: only PATH, HOME and what the Job spec declares.
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, TMPDIR: home };
    for (const e of container.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom) {
        const v = this.options.secrets[e.valueFrom.secretKeyRef.name]?.[e.valueFrom.secretKeyRef.key];
        if (v === undefined) throw new Error(`Job ${job.metadata.name}: secret ${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key} not found (CreateContainerConfigError)`);
        env[e.name] = v;
      }
    }
    const [cmd, ...args] = container.command;
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

  /** Metacontroller's loop: sync, run Jobs, sync again ... until the parent is terminal. */
  async runToCompletion(options: { syncsPerStep?: number; beforeSync?: () => Promise<void>; maxRounds?: number } = {}): Promise<string | undefined> {
    const { syncsPerStep = 1, maxRounds = 30 } = options;
    for (let round = 0; round < maxRounds; round += 1) {
      for (let i = 0; i < syncsPerStep; i += 1) {
        await options.beforeSync?.();
        await this.sync();
      }
      if (this.phase === 'Succeeded' || this.phase === 'Failed') return this.phase;
      await this.runPendingJobs();
    }
    throw new Error(`${this.parent.kind} ${this.parent.metadata.name} did not finish in ${maxRounds} rounds (phase ${this.phase})`);
  }
}
