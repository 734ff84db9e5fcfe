// Metacontroller's part, played against a real API server (docs/metacontroller-contract.md §2):
// watches parents and Jobs with @kubernetes/client-node, sends the hook the documented request
// (children owned by the parent and labelled controller-uid, keyed namespace/name as in hook v2;
// related objects from the customize hook), then deletes omitted children, creates missing ones
// with a controller ownerReference (OnDelete: existing ones are never updated), adds/removes the
// finalizer around the finalize hook, replaces status through the /status subresource with
// observedGeneration, honours resyncAfterSeconds, and re-syncs every parent whose related rules
// select an object that changed. No kubelet runs here, so the Jobs' commands
// run as local processes (jobRunner.ts) and their status is written through Job /status.
import { KubeConfig, Watch, CustomObjectsApi, BatchV1Api, CoreV1Api, type V1Job } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { LabelSelector } from '../../hooks/contract/types.ts';
import type { KubeObject } from '../../core/kube.ts';
import { matchesSelector, selectorString } from './labelSelector.ts';
import { API_VERSION, GROUP } from '../../hooks/contract/objects.ts';
import { runJobToCompletion, type JobRun, type Secrets } from './jobRunner.ts';

export interface ControllerSpec {
  name: string;
  kind: string;
  plural: string;
  syncPath: string;
  finalizePath?: string;
  customizePath?: string;
}

interface RelatedRule { resource: string; names?: string[]; namespace?: string; labelSelector?: LabelSelector; namespaceSelector?: LabelSelector }

interface Parent extends KubeObject { metadata: KubeObject['metadata'] & { finalizers?: string[]; resourceVersion?: string } }

export class KubeMetacontroller {
  readonly jobRuns: JobRun[] = [];
  syncs = 0;
  private readonly objects: CustomObjectsApi;
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly watch: Watch;
  private readonly aborts: AbortController[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly queue = new Map<string, ControllerSpec>();
  private readonly running = new Set<string>();
  private readonly jobsStarted = new Set<string>();
  /** Each parent's related rules from its last customize answer (key: plural/name). */
  private readonly relatedRules = new Map<string, { c: ControllerSpec; rules: RelatedRule[] }>();
  private readonly errors: string[] = [];
  private stopped = false;
  private readonly options: { kubeconfig: string; namespace: string; hookUrl: () => string; secrets: Secrets; controllers: ControllerSpec[]; onProgress?: (line: string) => void };

  constructor(options: KubeMetacontroller['options']) {
    this.options = options;
    const kc = new KubeConfig();
    kc.loadFromFile(options.kubeconfig);
    this.objects = kc.makeApiClient(CustomObjectsApi);
    this.batch = kc.makeApiClient(BatchV1Api);
    this.core = kc.makeApiClient(CoreV1Api);
    this.watch = new Watch(kc);
  }

  async start(): Promise<void> {
    const ns = this.options.namespace;
    for (const c of this.options.controllers) {
      await this.watchForever(`/apis/${GROUP}/v1alpha1/namespaces/${ns}/${c.plural}`, (type, obj: Parent) => {
        if (type === 'ERROR') { this.errors.push(`watch ${c.plural}: ${JSON.stringify(obj)}`); return; }
        if (!obj?.metadata?.name) return;
        this.enqueue(c, obj.metadata.name);
        this.resyncRelating(c.plural, obj);
      });
    }
    await this.watchForever(`/apis/batch/v1/namespaces/${ns}/jobs`, (type, job: V1Job) => {
      if (type === 'ERROR') { this.errors.push(`watch jobs: ${JSON.stringify(job)}`); return; }
      if (!job?.spec) return;
      if (type !== 'DELETED') void this.maybeRunJob(job).catch((e: Error) => this.errors.push(`job ${job.metadata?.name}: ${e.message}`));
      const owner = job.metadata?.ownerReferences?.find((o) => o.controller);
      const c = this.options.controllers.find((x) => x.kind === owner?.kind);
      if (c && owner) this.enqueue(c, owner.name);
    });
  }

  /**
   * Like an informer: a watch that ends (the API server closes watches routinely, a slow machine
   * times one out) is started again, and the new watch's initial ADDED events re-sync everything
   * (a relist), so no change between the two watches is missed. Only a watch that cannot be
   * started again is a problem.
   */
  private async watchForever<T>(path: string, onEvent: (type: string, obj: T) => void): Promise<void> {
    const begin = async (): Promise<void> => {
      const abort = await this.watch.watch(path, {}, onEvent, (err) => {
        if (this.stopped) return;
        const retry = setTimeout(() => { this.timers.delete(retry); void begin().catch((e: unknown) => this.watchEnded(e ?? err)); }, 200);
        this.timers.add(retry);
      });
      this.aborts.push(abort);
    };
    await begin();
  }

  stop(): void {
    this.stopped = true;
    for (const a of this.aborts) a.abort();
    for (const t of this.timers) clearTimeout(t);
  }

  /** Problems met while syncing (the hook answering non-200, API errors): a test asserts none. */
  get problems(): readonly string[] { return this.errors; }

  private watchEnded(err: unknown): void {
    if (!this.stopped && err) this.errors.push(`watch ended: ${String(err)}`);
  }

  /**
   * Metacontroller re-syncs every parent whose related rules select an object that changed
   * (pkg/controller/composite: the related informers' handlers enqueue the parents that relate the
   * object). The rules are those the parent's last customize call answered.
   */
  private resyncRelating(plural: string, obj: Parent): void {
    for (const [key, { c, rules }] of this.relatedRules) {
      const name = key.slice(c.plural.length + 1);
      if (c.plural === plural && name === obj.metadata.name) continue;
      const selects = rules.some((r) => r.resource === plural
        && (r.names ? r.names.includes(obj.metadata.name) : matchesSelector(r.labelSelector, obj.metadata.labels)));
      if (selects) this.enqueue(c, name);
    }
  }

  private enqueue(c: ControllerSpec, name: string): void {
    if (this.stopped) return;
    this.queue.set(`${c.plural}/${name}`, c);
    setImmediate(() => void this.drain());
  }

  // Like client-go's workqueue: one sync per key at a time; events during a sync cause one more.
  private async drain(): Promise<void> {
    for (const [key, c] of [...this.queue]) {
      if (this.running.has(key)) continue;
      this.queue.delete(key);
      this.running.add(key);
      try { await this.sync(c, key.slice(c.plural.length + 1)); } catch (e) {
        this.errors.push(`${key}: ${(e as Error).message}`);
        this.later(c, key.slice(c.plural.length + 1), 1);
      } finally {
        this.running.delete(key);
        if (this.queue.has(key)) setImmediate(() => void this.drain());
      }
    }
  }

  private later(c: ControllerSpec, name: string, seconds: number): void {
    const t = setTimeout(() => { this.timers.delete(t); this.enqueue(c, name); }, seconds * 1000);
    this.timers.add(t);
  }

  private async post(path: string, body: object): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.options.hookUrl()}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = await res.json() as Record<string, unknown>;
    if (res.status !== 200) throw new Error(`hook ${path} answered ${res.status}: ${String(json.error)}`);
    return json;
  }

  private async sync(c: ControllerSpec, name: string): Promise<void> {
    const ns = this.options.namespace;
    let parent: Parent;
    try {
      parent = await this.objects.getNamespacedCustomObject({ group: GROUP, version: 'v1alpha1', namespace: ns, plural: c.plural, name }) as Parent;
    } catch (e) { if ((e as { code?: number }).code === 404) return; throw e; }
    const uid = parent.metadata.uid!;
    const finalizer = `metacontroller.io/compositecontroller-${c.name}`;
    const deleting = !!parent.metadata.deletionTimestamp;
    if (c.finalizePath && !deleting && !parent.metadata.finalizers?.includes(finalizer)) {
      parent = await this.objects.patchNamespacedCustomObject({ group: GROUP, version: 'v1alpha1', namespace: ns, plural: c.plural, name, body: [{ op: 'add', path: '/metadata/finalizers', value: [...(parent.metadata.finalizers ?? []), finalizer] }] }) as Parent;
    }
    if (deleting && !parent.metadata.finalizers?.includes(finalizer)) return;
    // The DecoratorController lc2-backuprequest-labels (metacontroller/backuprequest-labels.yaml):
    // its labels land on the object first; the label change is an event that syncs it again.
    if (c.kind === 'BackupRequest' && !deleting && await this.decorate(c, parent)) return;

    const jobs = (await this.batch.listNamespacedJob({ namespace: ns, labelSelector: `controller-uid=${uid}` })).items
      .filter((j) => j.metadata?.ownerReferences?.some((o) => o.uid === uid && o.controller));
    const related: Record<string, Record<string, KubeObject>> = {};
    if (c.customizePath) {
      const rules = (await this.post(c.customizePath, { controller: { metadata: { name: c.name } }, parent })).relatedResources as RelatedRule[];
      this.relatedRules.set(`${c.plural}/${name}`, { c, rules });
      for (const rule of rules) {
        for (const obj of await this.relatedObjects(rule, ns)) {
          (related[`${obj.kind}.${API_VERSION}`] ??= {})[obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name] = obj;
        }
      }
    }
    const request = {
      controller: { apiVersion: 'metacontroller.k8s.io/v1alpha1', kind: 'CompositeController', metadata: { name: c.name } },
      parent, children: { 'Job.batch/v1': Object.fromEntries(jobs.map((j) => [`${ns}/${j.metadata!.name}`, j])) }, related, finalizing: deleting,
    };
    this.syncs += 1;
    const answer = await this.post(deleting && c.finalizePath ? c.finalizePath : c.syncPath, request);
    const desired = answer.children as KubeObject[];
    if (typeof answer.resyncAfterSeconds === 'number' && answer.resyncAfterSeconds > 0) this.later(c, name, answer.resyncAfterSeconds);

    if (!deleting || c.finalizePath) {
      const wanted = new Set(desired.map((d) => d.metadata.name));
      for (const j of jobs) {
        if (!wanted.has(j.metadata!.name!) && !j.metadata!.deletionTimestamp) {
          await this.batch.deleteNamespacedJob({ name: j.metadata!.name!, namespace: ns, propagationPolicy: 'Background' });
        }
      }
      const have = new Set(jobs.map((j) => j.metadata!.name));
      for (const d of desired) {
        if (have.has(d.metadata.name)) continue; // OnDelete: never update an existing child
        const body = {
          ...d,
          metadata: {
            ...d.metadata, namespace: ns, labels: { ...d.metadata.labels, 'controller-uid': uid },
            ownerReferences: [{ apiVersion: parent.apiVersion, kind: parent.kind, name, uid, controller: true, blockOwnerDeletion: true }],
          },
        } as V1Job;
        try { await this.batch.createNamespacedJob({ namespace: ns, body }); } catch (e) { if ((e as { code?: number }).code !== 409) throw e; }
      }
    }
    if (deleting && answer.finalized === true) {
      await this.objects.patchNamespacedCustomObject({ group: GROUP, version: 'v1alpha1', namespace: ns, plural: c.plural, name, body: [{ op: 'replace', path: '/metadata/finalizers', value: (parent.metadata.finalizers ?? []).filter((f) => f !== finalizer) }] });
      return;
    }
    const status = { ...(answer.status as object), observedGeneration: parent.metadata.generation };
    const live = await this.objects.getNamespacedCustomObject({ group: GROUP, version: 'v1alpha1', namespace: ns, plural: c.plural, name }) as Parent;
    if (!isDeepStrictEqual(live.status, status)) {
      const before = (live.status as { phase?: string } | undefined)?.phase;
      await this.objects.replaceNamespacedCustomObjectStatus({ group: GROUP, version: 'v1alpha1', namespace: ns, plural: c.plural, name, body: { ...live, status } });
      const after = (status as { phase?: string }).phase;
      if (after !== before) this.options.onProgress?.(`${c.kind} ${name}: ${before ?? '-'} -> ${after}`);
    }
  }

  /** Applies the labels the decorator hook answers; true when something changed. */
  private async decorate(c: ControllerSpec, parent: Parent): Promise<boolean> {
    const { labels } = await this.post('/backuprequest/labels', { controller: { metadata: { name: 'lc2-backuprequest-labels' } }, object: parent, attachments: {}, related: {}, finalizing: false }) as { labels: Record<string, string> };
    const current = parent.metadata.labels ?? {};
    if (Object.entries(labels).every(([k, v]) => current[k] === v)) return false;
    await this.objects.patchNamespacedCustomObject({ group: GROUP, version: 'v1alpha1', namespace: parent.metadata.namespace ?? this.options.namespace, plural: c.plural, name: parent.metadata.name,
      body: [{ op: current && parent.metadata.labels ? 'replace' : 'add', path: '/metadata/labels', value: { ...current, ...labels } }] });
    return true;
  }

  /**
   * What Metacontroller v4.17 returns for one related rule (pkg/controller/common/customize/manager.go,
   * GetRelatedObjects): a names rule without a namespace lists EVERY namespace and keeps the objects
   * of those names; with a namespace (it must be the parent's), that namespace only; a selector rule
   * with a namespaceSelector spans the namespaces it selects ({} = all), without one the parent's
   * namespace; cluster-scoped resources are listed cluster-wide.
   */
  private async relatedObjects(rule: RelatedRule, parentNamespace: string): Promise<KubeObject[]> {
    const clusterScoped = rule.resource === 'backuptenants';
    if (rule.namespace && rule.namespace !== parentNamespace) throw new Error(`related rule namespace ${rule.namespace} differs from the parent's ${parentNamespace}`);
    const labelSelector = selectorString(rule.labelSelector);
    const listAll = async () => (await this.objects.listClusterCustomObject({ group: GROUP, version: 'v1alpha1', plural: rule.resource, ...(labelSelector ? { labelSelector } : {}) }) as { items: KubeObject[] }).items;
    const listIn = async (namespace: string) => (await this.objects.listNamespacedCustomObject({ group: GROUP, version: 'v1alpha1', namespace, plural: rule.resource, ...(labelSelector ? { labelSelector } : {}) }) as { items: KubeObject[] }).items;
    if (rule.names) {
      const pool = clusterScoped || !rule.namespace ? await listAll() : await listIn(rule.namespace);
      return pool.filter((o) => rule.names!.includes(o.metadata.name));
    }
    if (clusterScoped) return listAll();
    if (!rule.namespaceSelector) return listIn(parentNamespace);
    const wanted = Object.entries(rule.namespaceSelector.matchLabels ?? {});
    const namespaces = (await this.core.listNamespace()).items
      .filter((n) => wanted.every(([k, v]) => n.metadata?.labels?.[k] === v)).map((n) => n.metadata!.name!);
    return (await listAll()).filter((o) => namespaces.includes(o.metadata.namespace ?? ''));
  }

  private async maybeRunJob(job: V1Job): Promise<void> {
    const name = job.metadata!.name!;
    if (job.status?.conditions?.length || this.jobsStarted.has(name) || this.stopped) return;
    this.jobsStarted.add(name);
    const outcome = await runJobToCompletion(job as unknown as KubeObject, this.options.secrets, this.options.onProgress);
    this.jobRuns.push(...outcome.runs);
    const live = await this.batch.readNamespacedJob({ name, namespace: this.options.namespace });
    await this.batch.replaceNamespacedJobStatus({ name, namespace: this.options.namespace, body: { ...live, status: outcome.status as V1Job['status'] } });
  }
}
