// Plays Metacontroller's part for end-to-end tests (docs/metacontroller-contract.md §2): sends the
// hook exactly the documented request (children keyed Kind.apiVersion, v1 or v2 keys, related
// objects, finalizing), applies the answer (creates missing children, deletes omitted ones, never
// updates existing Jobs: OnDelete), replaces the status and adds observedGeneration. Nothing runs
// Jobs here, so the driver runs each Job's real command as a local process (jobRunner.ts) and
// writes the Job status.
import { randomUUID } from 'node:crypto';
import type { ObjectGroups, SyncResponse } from '../../hooks/contract/types.ts';
import type { KubeObject } from '../../core/kube.ts';
import { runJobToCompletion, type JobRun, type Secrets } from './jobRunner.ts';

export type HookVersion = 'v1' | 'v2';

export interface DriverOptions {
  hookUrl: () => string;
  /** Path of the sync hook, e.g. /backuprequest/sync. */
  syncPath: string;
  hookVersion?: HookVersion;
  /** Secrets of the namespace, by name (what the kubelet would resolve for secretKeyRefs). */
  secrets: Secrets;
  /**
   * The controller's child resources as group keys (Kind.apiVersion), e.g. a BackupSchedule's
   * BackupRequests and RestoreRequests; default Jobs. Metacontroller sends each group, empty too.
   */
  childKinds?: readonly string[];
  /** Related objects by group key, as the customize hook would have Metacontroller fetch them. */
  related?: () => ObjectGroups;
  onProgress?: (line: string) => void;
  /** The API server's clock, for the creationTimestamp of created children (default Date.now). */
  clock?: () => number;
}

export class MetacontrollerDriver {
  readonly parent: KubeObject;
  readonly children = new Map<string, KubeObject>();
  readonly jobRuns: JobRun[] = [];
  /** Every status this parent had, oldest first: what a stale Metacontroller cache could still hold. */
  readonly history: Array<Record<string, unknown>> = [];
  syncs = 0;
  private readonly options: DriverOptions;

  constructor(parent: KubeObject, options: DriverOptions) {
    this.parent = structuredClone(parent);
    this.parent.metadata.generation ??= 1;
    this.options = options;
  }

  private now(): number { return (this.options.clock ?? Date.now)(); }
  get status(): Record<string, unknown> { return (this.parent.status ?? {}) as Record<string, unknown>; }
  get phase(): string | undefined { return this.status.phase as string | undefined; }

  request(finalizing = false): Record<string, unknown> {
    const version = this.options.hookVersion ?? 'v2';
    const groups: Record<string, Record<string, KubeObject>> = Object.fromEntries((this.options.childKinds ?? ['Job.batch/v1']).map((k) => [k, {}]));
    for (const child of this.children.values()) {
      const group = groups[`${child.kind}.${child.apiVersion}`];
      if (group) group[version === 'v2' ? `${this.parent.metadata.namespace}/${child.metadata.name}` : child.metadata.name] = child;
    }
    return {
      controller: { apiVersion: 'metacontroller.k8s.io/v1alpha1', kind: 'CompositeController', metadata: { name: 'lc2' } },
      parent: this.parent,
      children: groups,
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
    // Children are identified by kind and name (a BackupRequest and a RestoreRequest may share a name).
    const desired = new Map(body.children.map((c) => [`${c.kind}/${c.metadata.name}`, c]));
    for (const name of [...this.children.keys()]) if (!desired.has(name)) this.children.delete(name);
    for (const [name, child] of desired) {
      if (!this.children.has(name)) {
        this.children.set(name, { ...structuredClone(child), metadata: { ...child.metadata, namespace: this.parent.metadata.namespace, uid: randomUUID(), generation: 1, creationTimestamp: new Date(this.now()).toISOString(), labels: { ...child.metadata.labels, 'controller-uid': this.parent.metadata.uid ?? '' } } });
      }
    }
    const before = this.phase;
    this.history.push(structuredClone(this.status));
    this.parent.status = { ...(body.status as object), observedGeneration: this.parent.metadata.generation };
    if (this.phase !== before) this.options.onProgress?.(`${this.parent.kind} ${this.parent.metadata.name}: ${before ?? '-'} -> ${this.phase}`);
    return body;
  }

  /** Run every Job that has no status yet, like the Job controller would. */
  async runPendingJobs(): Promise<number> {
    let ran = 0;
    for (const job of this.children.values()) {
      if (job.kind !== 'Job' || job.status) continue;
      const outcome = await runJobToCompletion(job, this.options.secrets, this.options.onProgress);
      this.jobRuns.push(...outcome.runs);
      job.status = outcome.status;
      ran += 1;
    }
    return ran;
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
