// The Kubernetes surface on a real kube-apiserver (+ etcd): CRDs, CEL rules, the status
// subresource, printer columns, kubectl explain, and every kustomize overlay by server-side dry run.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { startKube, apiServerAvailable, type Kube } from './support/kube.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';
import { crdSchema } from '../core/validation/schema.ts';
import { KubeMetacontroller } from './support/kubeMetacontroller.ts';
import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { connect, type Sql } from '../hooks/archive/db.ts';
import { Archive } from '../hooks/archive/store.ts';
import { backupRecord } from '../hooks/archive/records.ts';
import { createApiApp } from '../hooks/server/app.ts';
import { kubernetesCreator, tokenReview } from '../hooks/rest/kubernetes.ts';
import { liveBackupUidsReader, liveRestoreUidsReader, parentReader, scheduleReader } from '../hooks/server/parents.ts';
import { TestEnv, uniqueName } from './support/env.ts';
import { createSampleDatabase, dropDatabase, localPostgres, sampleDocumentLibrary, tableFingerprint } from '../demo/sample.ts';
import type { BackupRequest, BackupRequestStatus, BackupSchedule } from '../core/crd.ts';
import { decideSchedule } from '../hooks/schedule/machine.ts';

let kube: Kube;
const NS = 'proj-retail-prd';

before(async () => {
  assert.ok(apiServerAvailable(), 'kube-apiserver is not built: run bash scripts/bootstrap.sh');
  kube = await startKube({
    'alice-token': { name: 'alice', groups: ['lc2:project:retail'] },
    'bob-token': { name: 'bob', groups: ['lc2:project:outlet'] },
  });
  kube.kubectl(['apply', '--server-side', '-k', 'crds/']);
  kube.kubectl(['wait', '--for', 'condition=Established', '--timeout=60s', 'crd/backuprequests.backup.liferay.cloud', 'crd/restorerequests.backup.liferay.cloud', 'crd/backupschedules.backup.liferay.cloud']);
  kube.kubectl(['create', 'namespace', NS]);
});
after(async () => { await kube?.stop(); });

const apply = (obj: object, extra: string[] = []) => kube.kubectl(['apply', '-n', NS, ...extra, '-f', '-'], JSON.stringify(obj));
function rejected(obj: object): string {
  try { apply(obj, ['--dry-run=server']); } catch (e) { return (e as Error).message; }
  return '';
}

describe('CRDs on a real API server', () => {
  it('every example is accepted by a server-side dry run', () => {
    const out = kube.kubectl(['apply', '-n', NS, '--dry-run=server', '-f', 'examples/']);
    assert.match(out, /backuprequest\.backup\.liferay\.cloud\/\S+ created \(server dry run\)/);
    assert.match(out, /restorerequest\.backup\.liferay\.cloud\/\S+ created \(server dry run\)/);
  });

  const invalid: Array<[string, object, RegExp]> = [
    ['engine enum', backupRequest('x', { database: { engine: 'oracle', type: 'dump', instanceId: 'db' } } as never), /spec\.database\.engine: Unsupported value: "oracle"/],
    ['prefix traversal', backupRequest('x', { documentLibrary: { sourceBucket: 'liferay-dl', sourcePrefix: '../other', destinationBucket: 'lc2-backups' } }), /spec\.documentLibrary\.sourcePrefix: Invalid value: "\.\.\/other"/],
    ['other project\'s prefix (CEL)', backupRequest('x', { documentLibrary: { sourceBucket: 'liferay-dl', destinationBucket: 'lc2-backups', destinationPrefix: 'other/prd' } }), /spec\.documentLibrary\.destinationPrefix: Invalid value: .*must be the environment's own path/],
    ['retention bound', backupRequest('x', { retentionDays: 100000 }), /spec\.retentionDays: Invalid value: 100000: spec\.retentionDays in body should be less than or equal to 3650/],
    ['missing database', { ...backupRequest('x'), spec: { projectId: 'retail', environment: 'prd', provider: 'local', documentLibrary: { sourceBucket: 'aaa', destinationBucket: 'bbb' } } }, /spec\.database: Required value/],
    ['restore with two sources (CEL)', restoreRequest('x', { source: { backupRef: { name: 'a' }, manifest: { bucket: 'lc2-backups', key: 'retail/prd/a/manifest.json' } } }), /spec\.source: Invalid value: .*exactly one of backupRef or manifest/],
    ['schedule cron shape', { apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupSchedule', metadata: { name: 'x' }, spec: { schedule: 'every night', template: { spec: backupRequest('x').spec } } }, /spec\.schedule: Invalid value: "every night"/],
  ];
  for (const [title, obj, message] of invalid) {
    it(`rejects ${title} with a message naming the field`, () => assert.match(rejected(obj), message));
  }

  it('status subresource: printer columns show real values; kubectl get lc2 lists every kind', () => {
    apply(backupRequest('nightly-1'));
    const status = { phase: 'Succeeded', totalSize: '1.2 GiB', backupId: 'nightly-1-abc', conditions: [{ type: 'Ready', status: 'True', reason: 'BackupSucceeded', message: 'backup complete', lastTransitionTime: '2026-11-23T02:10:00Z' }] };
    kube.kubectl(['patch', '-n', NS, 'br', 'nightly-1', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
    const row = kube.kubectl(['get', '-n', NS, 'br', 'nightly-1', '--no-headers']).trim().split(/\s{2,}/);
    assert.deepEqual(row.slice(0, 6), ['nightly-1', 'Succeeded', 'retail', 'prd', 'local', '1.2 GiB']);
    const wide = kube.kubectl(['get', '-n', NS, 'backuprequests', '-o', 'wide']);
    assert.match(wide, /MESSAGE/);
    assert.match(wide, /backup complete/);
    apply(restoreRequest('restore-1', { source: { backupRef: { name: 'nightly-1' } } }));
    const all = kube.kubectl(['get', 'lc2', '-n', NS]);
    assert.match(all, /backuprequest\.backup\.liferay\.cloud\/nightly-1/);
    assert.match(all, /restorerequest\.backup\.liferay\.cloud\/restore-1/);
    assert.match(kube.kubectl(['get', 'backuprequests,backupschedules,restorerequests', '-n', NS]), /nightly-1\s+Succeeded/);
  });

  it('a status the hook did not declare is refused (schema covers status)', () => {
    assert.throws(() => kube.kubectl(['patch', '-n', NS, 'br', 'nightly-1', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Exploded"}}']), /status\.phase: Unsupported value: "Exploded"/);
  });

  it('spec is immutable once the backup started (CEL transition rule), editable while Pending', () => {
    apply(backupRequest('editable'));
    kube.kubectl(['patch', '-n', NS, 'br', 'editable', '--type=merge', '-p', '{"spec":{"retentionDays":7}}']);
    kube.kubectl(['patch', '-n', NS, 'br', 'editable', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"ExportInProgress"}}']);
    assert.throws(() => kube.kubectl(['patch', '-n', NS, 'br', 'editable', '--type=merge', '-p', '{"spec":{"retentionDays":30}}']), /spec is immutable once the backup has started/);
  });

  it('kubectl explain describes every spec field', () => {
    const fields = Object.keys((crdSchema('BackupRequest') as { properties: { spec: { properties: object } } }).properties.spec.properties);
    const explained = kube.kubectl(['explain', 'backuprequest.spec']);
    for (const f of fields) assert.match(explained, new RegExp(`^\\s+${f}\\t?\\s*<`, 'm'), f);
    assert.match(kube.kubectl(['explain', 'backuprequest.spec.documentLibrary.excludeGeneratedFiles']), /Skip Liferay's generated thumbnails/);
  });
});

describe('kustomize overlays on the API server (server-side dry run)', () => {
  before(() => {
    // Metacontroller is not installed here: a stand-in CRD lets CompositeControllers be validated for shape only.
    kube.kubectl(['apply', '-f', '-'], YAML.stringify({
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
      metadata: { name: 'compositecontrollers.metacontroller.k8s.io', annotations: { 'api-approved.kubernetes.io': 'unapproved, test stand-in for Metacontroller' } },
      spec: { group: 'metacontroller.k8s.io', scope: 'Cluster', names: { kind: 'CompositeController', plural: 'compositecontrollers', singular: 'compositecontroller' },
        versions: [{ name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
    }));
    kube.kubectl(['apply', '-f', '-'], YAML.stringify({
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
      metadata: { name: 'decoratorcontrollers.metacontroller.k8s.io', annotations: { 'api-approved.kubernetes.io': 'unapproved, test stand-in for Metacontroller' } },
      spec: { group: 'metacontroller.k8s.io', scope: 'Cluster', names: { kind: 'DecoratorController', plural: 'decoratorcontrollers', singular: 'decoratorcontroller' },
        versions: [{ name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
    }));
    kube.kubectl(['wait', '--for', 'condition=Established', '--timeout=60s', 'crd/compositecontrollers.metacontroller.k8s.io', 'crd/decoratorcontrollers.metacontroller.k8s.io']);
    kube.kubectl(['create', 'namespace', 'lc2-system']);
    kube.kubectl(['create', 'namespace', 'argocd']);
  });
  for (const overlay of ['base', 'overlays/local', 'overlays/aws', 'overlays/gcp', 'overlays/azure']) {
    it(`kustomize/${overlay} is accepted`, () => {
      const out = kube.kubectl(['apply', '--server-side', '--dry-run=server', '-k', `kustomize/${overlay}`]);
      assert.match(out, /deployment\.apps\/lc2-backup-hooks serverside-applied \(server dry run\)/);
      assert.match(out, /networkpolicy\.networking\.k8s\.io\/lc2-backup-hooks serverside-applied/);
      assert.match(out, /validatingadmissionpolicy\.admissionregistration\.k8s\.io\/lc2-object-size serverside-applied/);
    });
  }
  it('the admission policy keeps what a tenant writes small, and the service\'s labels the service\'s (a tenant cannot inflate or game every sync)', async () => {
    kube.kubectl(['apply', '-f', 'kustomize/base/admission-policy.yaml']);
    // A tenant: RBAC of the shipped edit role in its namespace (no cluster-admin, not Metacontroller).
    kube.kubectl(['apply', '-f', 'kustomize/base/rbac.yaml']);
    kube.kubectl(['create', 'rolebinding', 'mallory-lc2', '--clusterrole=lc2-backup-edit', '--user=mallory', '-n', NS]);
    const asTenant = (yaml: string) => kube.kubectl(['create', '--dry-run=server', '--as=mallory', '-n', NS, '-f', '-'], yaml);
    const br = (metadata: object) => YAML.stringify({ apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupRequest', metadata, spec: backupRequest('x').spec });
    // The policy is type-checked and loaded asynchronously: wait until it denies.
    const deadline = Date.now() + 30_000;
    let denied = '';
    while (!denied && Date.now() < deadline) {
      try { asTenant(br({ name: 'big', annotations: { note: 'x'.repeat(10_000) } })); await new Promise((r) => setTimeout(r, 300)); } catch (e) { denied = (e as Error).message; }
    }
    assert.match(denied, /annotation values on LC2 resources are limited to 1 KiB/);
    assert.throws(() => asTenant(br({ name: 'many-finalizers', finalizers: Array.from({ length: 20 }, (_, i) => `example.com/f${i}`) })), /at most 8 finalizers/);
    assert.throws(() => asTenant(br({ name: 'labelled', labels: { 'backup.liferay.cloud/active': 'false' } })), /labels backup\.liferay\.cloud\/\* are set by the service/);
    // A year as its schedule's interval would silence the environment's RPO alert.
    assert.throws(() => asTenant(br({ name: 'annotated', annotations: { 'backup.liferay.cloud/schedule-interval-seconds': '31622400' } })), /annotations backup\.liferay\.cloud\/\* are set by the service/);
    assert.match(asTenant(br({ name: 'small', annotations: { note: 'x'.repeat(100) } })), /created \(server dry run\)/);
    // Metacontroller (and a cluster admin) are never refused: labels, finalizers, long last-applied copies.
    assert.match(kube.kubectl(['create', '--dry-run=server', '-n', NS, '-f', '-'], br({ name: 'by-admin', labels: { 'backup.liferay.cloud/active': 'true' }, annotations: { 'metacontroller.k8s.io/last-applied-configuration': 'x'.repeat(5000), 'backup.liferay.cloud/schedule-interval-seconds': '3600' } })), /created \(server dry run\)/);
  });

  it('argocd/ (the health checks ConfigMap) is accepted', () => {
    assert.match(kube.kubectl(['apply', '--server-side', '--dry-run=server', '-k', 'argocd']), /configmap\/argocd-cm serverside-applied/);
  });
});


/** The hook's own identity, with exactly the rights kustomize/base/rbac.yaml gives its ServiceAccount. */
async function hookIdentity(): Promise<KubeConfig> {
  kube.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lc2-system' } }));
  kube.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'lc2-backup-hooks', namespace: 'lc2-system' } }));
  kube.kubectl(['apply', '-f', 'kustomize/base/rbac.yaml']);
  const as = ['--as', 'system:serviceaccount:lc2-system:lc2-backup-hooks'];
  const deadline = Date.now() + 15_000;
  for (;;) { // RBAC is eventually consistent
    try { kube.kubectl(['auth', 'can-i', 'get', 'backuptenants.backup.liferay.cloud', ...as]); break; } catch (e) { if (Date.now() > deadline) throw e; }
    await new Promise((r) => setTimeout(r, 200));
  }
  const token = kube.kubectl(['create', 'token', 'lc2-backup-hooks', '-n', 'lc2-system']).trim();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'lc2', server: kube.server, skipTLSVerify: true }], users: [{ name: 'hooks', token }],
    contexts: [{ name: 'hooks', cluster: 'lc2', user: 'hooks' }], currentContext: 'hooks',
  });
  return kc;
}

describe('end to end through the API server', () => {
  // A namespace of its own: the CRD tests above leave parents behind that the driver would also sync.
  const E2E_NS = 'proj-retail-e2e';
  const env = new TestEnv();
  const source = uniqueName('lc2_kube_src');
  const restored = uniqueName('lc2_kube_restored');
  const files = sampleDocumentLibrary(30);
  let mc: KubeMetacontroller;

  before(async () => {
    kube.kubectl(['create', 'namespace', E2E_NS]);
    // Deletions are confirmed against this real API server, with the hook's own RBAC, as in a cluster.
    const hookKc = await hookIdentity();
    env.readParent = parentReader(hookKc);
    env.readSchedule = scheduleReader(hookKc);
    await env.start();
    for (const b of ['liferay-dl', 'lc2-backups', 'restored-dl']) await env.createBucket(b);
    await env.upload('liferay-dl', files);
    createSampleDatabase(localPostgres, source, 300);
    mc = new KubeMetacontroller({
      kubeconfig: kube.kubeconfig, namespace: E2E_NS, hookUrl: env.hookUrl, secrets: env.secrets(localPostgres),
      controllers: [
        { name: 'lc2-backuprequest', kind: 'BackupRequest', plural: 'backuprequests', syncPath: '/backuprequest/sync', finalizePath: '/backuprequest/finalize', customizePath: '/backuprequest/customize' },
        { name: 'lc2-restorerequest', kind: 'RestoreRequest', plural: 'restorerequests', syncPath: '/restorerequest/sync', finalizePath: '/restorerequest/finalize', customizePath: '/restorerequest/customize' },
      ],
    });
    await mc.start();
  });
  after(async () => {
    mc?.stop();
    await env.stop();
    dropDatabase(localPostgres, source);
    dropDatabase(localPostgres, restored);
  });

  async function waitForPhase(resource: string, name: string, phases: string[], timeoutMs = 120_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let phase = '';
    while (Date.now() < deadline) {
      phase = kube.kubectl(['get', '-n', E2E_NS, resource, name, '-o', 'jsonpath={.status.phase}']);
      if (phases.includes(phase)) return phase;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${resource}/${name} stayed in phase "${phase}"; driver problems: ${mc.problems.join('; ')}`);
  }

  it('kubectl apply a BackupRequest → Succeeded in kubectl get; a RestoreRequest from it restores identical data', async () => {
    const br = backupRequest('kube-e2e', { database: { engine: 'postgresql', type: 'dump', instanceId: '127.0.0.1:5432', databaseName: source, credentialsSecretRef: { name: 'db-credentials' } } });
    kube.kubectl(['apply', '-n', E2E_NS, '-f', '-'], YAML.stringify({ apiVersion: br.apiVersion, kind: br.kind, metadata: { name: br.metadata.name }, spec: br.spec }));
    assert.equal(await waitForPhase('br', 'kube-e2e', ['Succeeded', 'Failed']), 'Succeeded');
    const row = kube.kubectl(['get', '-n', E2E_NS, 'br', 'kube-e2e', '--no-headers']).trim().split(/\s{2,}/);
    assert.equal(row[1], 'Succeeded');
    assert.match(row[5]!, /KiB|MiB/);
    const observed = JSON.parse(kube.kubectl(['get', '-n', E2E_NS, 'br', 'kube-e2e', '-o', 'json'])) as { metadata: { generation: number; finalizers: string[] }; status: { observedGeneration: number } };
    assert.equal(observed.status.observedGeneration, observed.metadata.generation);
    assert.deepEqual(observed.metadata.finalizers, ['metacontroller.io/compositecontroller-lc2-backuprequest']);
    const jobs = JSON.parse(kube.kubectl(['get', '-n', E2E_NS, 'jobs', '-o', 'json'])) as { items: Array<{ metadata: { name: string; ownerReferences: Array<{ kind: string; name: string; controller: boolean }> } }> };
    const owned = jobs.items.filter((j) => j.metadata.ownerReferences.some((o) => o.kind === 'BackupRequest' && o.name === 'kube-e2e' && o.controller));
    assert.equal(owned.length, 2, 'dump and copy Jobs, owned by the BackupRequest');

    const rr = restoreRequest('kube-e2e-restore', {
      source: { backupRef: { name: 'kube-e2e' } },
      database: { instanceId: '127.0.0.1:5432', databaseName: restored, credentialsSecretRef: { name: 'db-credentials' } },
      documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: 'document_library' },
    });
    kube.kubectl(['apply', '-n', E2E_NS, '-f', '-'], YAML.stringify({ apiVersion: rr.apiVersion, kind: rr.kind, metadata: { name: rr.metadata.name }, spec: rr.spec }));
    assert.equal(await waitForPhase('rr', 'kube-e2e-restore', ['Succeeded', 'Failed']), 'Succeeded');
    assert.deepEqual(tableFingerprint(localPostgres, restored), tableFingerprint(localPostgres, source));
    assert.deepEqual(await env.keys('restored-dl', 'document_library/'), files.filter((f) => !f.generated).map((f) => f.key).sort());
    const runs = new Map<string, number>();
    for (const r of mc.jobRuns) runs.set(r.job, (runs.get(r.job) ?? 0) + 1);
    assert.deepEqual([...runs.values()], [1, 1, 1, 1], 'each Job ran exactly once');
    assert.deepEqual(mc.problems, []);
  });

  it('deleting a BackupRequest with deletionPolicy Retain keeps its data and lets the object go', async () => {
    const manifestKey = JSON.parse(kube.kubectl(['get', '-n', E2E_NS, 'br', 'kube-e2e', '-o', 'jsonpath={.status.manifest}'])) as { key: string };
    kube.kubectl(['delete', '-n', E2E_NS, 'br', 'kube-e2e', '--wait=false']);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && kube.kubectl(['get', '-n', E2E_NS, 'br', '--ignore-not-found', '-o', 'name']).includes('kube-e2e')) await new Promise((r) => setTimeout(r, 200));
    assert.equal(kube.kubectl(['get', '-n', E2E_NS, 'br', 'kube-e2e', '--ignore-not-found', '-o', 'name']).trim(), '');
    assert.ok((await env.read('lc2-backups', manifestKey.key)).length > 0, 'the manifest (and backup) are kept');
  });

  const backupWithDelete = async (name: string) => {
    const br = backupRequest(name, { deletionPolicy: 'Delete', database: { engine: 'postgresql', type: 'dump', instanceId: '127.0.0.1:5432', databaseName: source, credentialsSecretRef: { name: 'db-credentials' } } });
    kube.kubectl(['apply', '-n', E2E_NS, '-f', '-'], YAML.stringify({ apiVersion: br.apiVersion, kind: br.kind, metadata: { name }, spec: br.spec }));
    assert.equal(await waitForPhase('br', name, ['Succeeded', 'Failed']), 'Succeeded');
    return JSON.parse(kube.kubectl(['get', '-n', E2E_NS, 'br', name, '-o', 'json'])) as BackupRequest;
  };

  it('a forged finalize for a live BackupRequest (Delete) deletes nothing: the API server does not show it as being deleted', async () => {
    const live = await backupWithDelete('kube-e2e-forged');
    const prefix = live.status!.location!.prefix;
    const before = await env.keys('lc2-backups', prefix);
    assert.ok(before.length > 2);
    const forged = { ...live, metadata: { ...live.metadata, deletionTimestamp: new Date().toISOString() } };
    const res = await fetch(`${env.hookUrl()}/backuprequest/finalize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ parent: forged, children: {}, related: {}, finalizing: true }) });
    const body = await res.json() as { finalized: boolean; status: BackupRequestStatus };
    assert.equal(body.finalized, false);
    assert.equal(body.status.conditions!.find((c) => c.type === 'Ready')!.reason, 'DeletionUnconfirmed');
    assert.deepEqual(await env.keys('lc2-backups', prefix), before);
  });

  /** A BackupSchedule (no controller runs it here) and one Succeeded backup it made, as decideSchedule makes them. */
  async function scheduledBackup(schedule: string, backupsOnDeletion?: 'Retain' | 'Delete') {
    const template = backupRequest('t', { database: { engine: 'postgresql', type: 'dump', instanceId: '127.0.0.1:5432', databaseName: source, credentialsSecretRef: { name: 'db-credentials' } } }).spec!;
    kube.kubectl(['apply', '-n', E2E_NS, '-f', '-'], YAML.stringify({ apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupSchedule', metadata: { name: schedule },
      spec: { schedule: '0 3 * * *', ...(backupsOnDeletion ? { backupsOnDeletion } : {}), template: { spec: template } } }));
    const parent = JSON.parse(kube.kubectl(['get', '-n', E2E_NS, 'bs', schedule, '-o', 'json'])) as BackupSchedule;
    const decision = decideSchedule({ parent, children: [], now: Date.parse(parent.metadata.creationTimestamp!) + 2 * 86_400_000 });
    const child = decision.children[0]!;
    const name = child.metadata.name;
    kube.kubectl(['apply', '-n', E2E_NS, '-f', '-'], YAML.stringify({ ...child, metadata: { ...child.metadata, namespace: E2E_NS,
      ownerReferences: [{ apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupSchedule', name: schedule, uid: parent.metadata.uid, controller: true, blockOwnerDeletion: true }] } }));
    assert.equal(await waitForPhase('br', name, ['Succeeded', 'Failed']), 'Succeeded');
    const live = JSON.parse(kube.kubectl(['get', '-n', E2E_NS, 'br', name, '-o', 'json'])) as BackupRequest;
    assert.equal(live.spec!.deletionPolicy, 'Delete', 'scheduled backups default to Delete (for retention)');
    return { name, prefix: live.status!.location!.prefix };
  }
  /** The garbage collector's part (no kube-controller-manager runs here): a child whose owner is gone or going is deleted. */
  async function collect(name: string) {
    kube.kubectl(['delete', '-n', E2E_NS, 'br', name, '--wait=false']);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && kube.kubectl(['get', '-n', E2E_NS, 'br', name, '--ignore-not-found', '-o', 'name']).trim() !== '') await new Promise((r) => setTimeout(r, 200));
  }

  it('deleting a BackupSchedule (background or foreground cascading) keeps its backups\' data; only a live schedule\'s retention deletes it', async () => {
    // Background: the schedule goes first, then the collector deletes its backups.
    const bg = await scheduledBackup('nightly-bg');
    kube.kubectl(['delete', '-n', E2E_NS, 'bs', 'nightly-bg', '--cascade=background']);
    await collect(bg.name);
    assert.ok((await env.keys('lc2-backups', bg.prefix)).length > 2, 'background: the data stays');
    // Foreground: the schedule waits (deletionTimestamp, foregroundDeletion) while its backups are deleted.
    const fg = await scheduledBackup('nightly-fg');
    kube.kubectl(['delete', '-n', E2E_NS, 'bs', 'nightly-fg', '--cascade=foreground', '--wait=false']);
    assert.match(kube.kubectl(['get', '-n', E2E_NS, 'bs', 'nightly-fg', '-o', 'jsonpath={.metadata.finalizers}']), /foregroundDeletion/);
    await collect(fg.name);
    assert.ok((await env.keys('lc2-backups', fg.prefix)).length > 2, 'foreground: the data stays');
    kube.kubectl(['patch', '-n', E2E_NS, 'bs', 'nightly-fg', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    // A live schedule's retention decision (it drops the child; Metacontroller deletes it): the data goes.
    const kept = await scheduledBackup('nightly-live');
    await collect(kept.name);
    assert.deepEqual(await env.keys('lc2-backups', kept.prefix), [], 'retention by a live schedule deletes the data');
    // A schedule that asked for it (backupsOnDeletion: Delete) takes its backups' data along.
    const along = await scheduledBackup('nightly-along', 'Delete');
    kube.kubectl(['delete', '-n', E2E_NS, 'bs', 'nightly-along', '--cascade=background']);
    await collect(along.name);
    assert.deepEqual(await env.keys('lc2-backups', along.prefix), []);
    assert.deepEqual(mc.problems, []);
  });

  it('kubectl delete of a BackupRequest with deletionPolicy Delete removes its folder once the API server confirms the deletion', async () => {
    const live = await backupWithDelete('kube-e2e-delete');
    const prefix = live.status!.location!.prefix;
    assert.ok((await env.keys('lc2-backups', prefix)).length > 2);
    kube.kubectl(['delete', '-n', E2E_NS, 'br', 'kube-e2e-delete', '--wait=false']);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && kube.kubectl(['get', '-n', E2E_NS, 'br', '--ignore-not-found', '-o', 'name']).includes('kube-e2e-delete')) await new Promise((r) => setTimeout(r, 200));
    assert.equal(kube.kubectl(['get', '-n', E2E_NS, 'br', 'kube-e2e-delete', '--ignore-not-found', '-o', 'name']).trim(), '');
    assert.deepEqual(await env.keys('lc2-backups', prefix), []);
    assert.deepEqual(mc.problems, []);
  });
});

describe('history REST API with Kubernetes identities', () => {
  let server: Server;
  let base = '';
  let sql: Sql;
  before(async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfig);
    sql = await connect(undefined, mkdtempSync(join(tmpdir(), 'lc2-api-pglite-')));
    const archive = new Archive(sql);
    await archive.upsert({ ...backupRecord({ ...backupRequest('r1'), status: { phase: 'Succeeded', completionTime: '2026-11-23T02:00:00Z' } }) });
    await archive.upsert({ ...backupRecord({ ...backupRequest('o1', { projectId: 'outlet' }), status: { phase: 'Succeeded', completionTime: '2026-11-23T02:00:00Z' } }) });
    // The platform team's mapping: project retail owns NS only; outlet has no BackupTenant.
    kube.kubectl(['wait', '--for', 'condition=Established', '--timeout=60s', 'crd/backuptenants.backup.liferay.cloud']);
    kube.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupTenant', metadata: { name: 'retail' }, spec: { namespaces: [NS] } }));
    server = createServer(createApiApp({ archive, authenticate: tokenReview(kc), create: kubernetesCreator(kc) }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => server?.close(() => r()));
    await sql?.close();
  });
  const call = async (method: string, path: string, token: string, body?: object) => {
    const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: await res.json() as Record<string, unknown> };
  };

  it('TokenReview: a user sees the projects of its lc2:project:<id> groups, an unknown token nothing', async () => {
    const alice = (await call('GET', '/backups', 'alice-token')).body.items as Array<{ projectId: string }>;
    assert.deepEqual(alice.map((x) => x.projectId), ['retail']);
    const bob = (await call('GET', '/backups', 'bob-token')).body.items as Array<{ projectId: string }>;
    assert.deepEqual(bob.map((x) => x.projectId), ['outlet']);
    assert.equal((await call('GET', '/backups', 'mallory-token')).status, 401);
  });

  it('POST /backups creates a BackupRequest through the API server, only for the caller\'s projects', async () => {
    const spec = backupRequest('x').spec;
    const created = await call('POST', '/backups', 'alice-token', { namespace: NS, spec });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(String(created.body.name), /^retail-prd-/);
    assert.match(kube.kubectl(['get', '-n', NS, 'br', String(created.body.name), '-o', 'jsonpath={.spec.projectId}']), /^retail$/);
    const forbidden = await call('POST', '/backups', 'bob-token', { namespace: NS, spec });
    assert.equal(forbidden.status, 403);
    const invalid = await call('POST', '/backups', 'alice-token', { namespace: NS, spec: { ...spec, provider: 'nope' } });
    assert.equal(invalid.status, 400);
    assert.match((invalid.body.error as { message: string }).message, /body\.spec\.provider: "nope" is not one of/);
    const duplicate = await call('POST', '/backups', 'alice-token', { namespace: NS, name: String(created.body.name), spec });
    assert.equal(duplicate.status, 409);
    const restore = await call('POST', '/restores', 'alice-token', { namespace: NS, spec: restoreRequest('r', { source: { backupRef: { name: String(created.body.name) } } }).spec });
    assert.equal(restore.status, 201, JSON.stringify(restore.body));
  });


  it('the design documents\' curl examples work as written (plus the bearer token): create, list by projectId and environment, get by UID', async () => {
    // ../shared/seeds/004_*: "Create a Backup (REST API)", body verbatim; the namespace is the documents' proj-<projectId>-<environment>.
    const documented = {
      projectId: 'retail', environment: 'prd', provider: 'aws',
      database: { type: 'snapshot', instanceId: 'retail-prd-db' },
      documentLibrary: { sourceBucket: 'retail-prd-liferay-dl', destinationBucket: 'liferay-backups', destinationPrefix: 'retail/prd/20251109/', excludeGeneratedFiles: true },
      retentionDays: 30,
    };
    const created = await call('POST', '/backups', 'alice-token', documented);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const metadata = created.body.metadata as { name: string; namespace: string; uid: string; generateName: string };
    assert.equal(metadata.namespace, NS);
    assert.equal(metadata.generateName, 'retail-prd-');
    assert.equal(created.body.kind, 'BackupRequest');
    assert.equal(kube.kubectl(['get', '-n', NS, 'br', metadata.name, '-o', 'jsonpath={.metadata.uid} {.spec.database.instanceId} {.spec.retentionDays}']), `${metadata.uid} retail-prd-db 30`);
    // Another project's caller sending the same body: 403, nothing more created.
    const before = kube.kubectl(['get', '-n', NS, 'br', '-o', 'name']).trim().split('\n').length;
    assert.equal((await call('POST', '/backups', 'bob-token', documented)).status, 403);
    assert.equal(kube.kubectl(['get', '-n', NS, 'br', '-o', 'name']).trim().split('\n').length, before);
    // List Backups: GET /api/v1/backups?projectId=retail&environment=prd; then one by its UID.
    const listed = (await call('GET', '/backups?projectId=retail&environment=prd', 'alice-token')).body.items as Array<{ uid: string; projectId: string }>;
    assert.ok(listed.length > 0 && listed.every((x) => x.projectId === 'retail'));
    const one = await call('GET', `/backups/${listed[0]!.uid}`, 'alice-token');
    assert.equal(one.status, 200);
    assert.equal(one.body.uid, listed[0]!.uid);
    assert.equal((await call('GET', `/backups/${listed[0]!.uid}`, 'bob-token')).status, 404);
    // The retention sweep's view, with the hook's own RBAC: the UIDs of the BackupRequests in the project's namespaces.
    assert.ok((await liveBackupUidsReader(await hookIdentity())([NS])).has(metadata.uid));
    // And of the RestoreRequests (the sweep forgets in-flight rows of deleted restores): listing them is allowed too.
    assert.ok((await liveRestoreUidsReader(await hookIdentity())([NS])) instanceof Set);
  });

  it('POST only into a namespace of the project\'s BackupTenant (read with the hook\'s own RBAC); a refused request creates nothing', async () => {
    const OTHER = 'proj-retail-other'; // exists, but BackupTenant retail does not list it
    kube.kubectl(['create', 'namespace', OTHER]);
    const kc = await hookIdentity();
    const hookServer = createServer(createApiApp({ archive: new Archive(sql), authenticate: tokenReview(kc), create: kubernetesCreator(kc) }));
    await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', () => r()));
    const at = `http://127.0.0.1:${(hookServer.address() as { port: number }).port}/api/v1`;
    const post = async (path: string, token: string, body: object) => {
      const res = await fetch(`${at}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: await res.json() as { error?: { code: string; message: string } } & Record<string, unknown> };
    };
    try {
      const spec = backupRequest('x').spec!;
      const forbidden = (res: Awaited<ReturnType<typeof post>>, message: RegExp) => {
        assert.equal(res.status, 403, JSON.stringify(res.body));
        assert.deepEqual(Object.keys(res.body), ['error']);
        assert.equal(res.body.error!.code, 'Forbidden');
        assert.match(res.body.error!.message, message);
        return res.body.error!.message;
      };
      const outside = forbidden(await post('/backups', 'alice-token', { namespace: OTHER, spec }), /namespace proj-retail-other is not one of project retail's namespaces/);
      forbidden(await post('/restores', 'alice-token', { namespace: OTHER, spec: restoreRequest('r', {}).spec! }), /not one of project retail's namespaces/);
      // A namespace that does not exist is refused the same way: the answer does not say which exist.
      const nowhere = forbidden(await post('/backups', 'alice-token', { namespace: 'proj-retail-nowhere', spec }), /not one of project retail's namespaces/);
      assert.equal(nowhere.replace('proj-retail-nowhere', OTHER), outside);
      forbidden(await post('/backups', 'bob-token', { namespace: NS, spec: { ...spec, projectId: 'outlet' } }), /project outlet has no BackupTenant/);
      assert.equal(kube.kubectl(['get', 'backuprequests,restorerequests', '-n', OTHER, '-o', 'name']).trim(), '', 'nothing was created');

      const inside = await post('/backups', 'alice-token', { namespace: NS, spec });
      assert.equal(inside.status, 201, JSON.stringify(inside.body));
      assert.equal(inside.body.namespace, NS);
      assert.equal(kube.kubectl(['get', '-n', NS, 'br', String(inside.body.name), '-o', 'jsonpath={.spec.projectId}']), 'retail');
    } finally {
      hookServer.closeAllConnections();
      await new Promise<void>((r) => hookServer.close(() => r()));
    }
  });
});
