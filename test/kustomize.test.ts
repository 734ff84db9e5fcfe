// The deployment manifests render with `kubectl kustomize`, follow the contract's rules (OnDelete
// children, no rolling strategies, hook v2) and point at routes the hook server really serves.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import YAML from 'yaml';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHook, post, type Hook } from './support/inProcessHook.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';

type Doc = { kind: string; metadata: { name: string }; spec: Record<string, unknown> };
const render = (dir: string): Doc[] => YAML.parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })).map((d) => d.toJSON() as Doc);

let hook: Hook;
before(async () => { hook = await startHook(); });
after(async () => { await hook.close(); });

describe('kustomize', () => {
  for (const dir of ['kustomize/base', 'kustomize/overlays/local', 'kustomize/overlays/aws', 'kustomize/overlays/gcp', 'kustomize/overlays/azure']) {
    it(`${dir} renders CRDs, CompositeControllers and a locked-down hook Deployment`, () => {
      const docs = render(dir);
      const kinds = docs.map((d) => d.kind);
      assert.equal(kinds.filter((k) => k === 'CustomResourceDefinition').length, 4);
      assert.equal(kinds.filter((k) => k === 'CompositeController').length, 4);
      const deploy = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'lc2-backup-hooks')!;
      const pod = (deploy.spec.template as { spec: { automountServiceAccountToken: boolean; securityContext: { runAsNonRoot: boolean }; containers: Array<{ securityContext: { readOnlyRootFilesystem: boolean }; resources: { limits: object }; readinessProbe: object; livenessProbe: object }> } }).spec;
      assert.equal(pod.automountServiceAccountToken, true, 'the REST API uses TokenReview');
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(pod.containers[0]!.securityContext.readOnlyRootFilesystem, true);
      assert.ok(pod.containers[0]!.resources.limits && pod.containers[0]!.readinessProbe && pod.containers[0]!.livenessProbe);
      assert.ok(!kinds.includes('Secret'), 'no credential is committed');
      // Hooks and REST API: two listeners, two Services, two NetworkPolicy rules; hook calls need Metacontroller's token.
      const env = (pod.containers[0] as unknown as { env: Array<{ name: string; valueFrom?: { secretKeyRef?: { name: string } } }> }).env;
      assert.equal(env.find((e) => e.name === 'LC2_HOOK_TOKEN')?.valueFrom?.secretKeyRef?.name, 'lc2-hook-token');
      const services = docs.filter((d) => d.kind === 'Service' && d.metadata.name.startsWith('lc2-backup-'));
      assert.deepEqual(services.map((d) => (d.spec.ports as Array<{ targetPort: string }>)[0]!.targetPort).sort(), ['api', 'http']);
      const policy = docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === 'lc2-backup-hooks')!;
      const rules = (policy.spec.ingress as Array<{ ports: Array<{ port: number }> }>).map((r) => r.ports.map((p) => p.port));
      assert.deepEqual(rules, [[8080], [8081]], 'the hook port and the API port are admitted separately');
    });
  }

  for (const overlay of ['aws', 'gcp', 'azure']) {
    it(`overlays/${overlay} turns the history and its REST API on with one line (components/archive)`, () => {
      const envOf = (docs: Doc[]) => ((docs.find((d) => d.kind === 'Deployment')!.spec.template as { spec: { containers: Array<{ env: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }> }> } }).spec.containers[0]!.env);
      assert.equal(envOf(render(`kustomize/overlays/${overlay}`)).find((e) => e.name === 'LC2_ARCHIVE')?.value, 'off', 'off until a shared PostgreSQL is given');
      const dir = mkdtempSync(join('kustomize', '.with-archive-'));
      try {
        const text = readFileSync(`kustomize/overlays/${overlay}/kustomization.yaml`, 'utf8');
        assert.match(text, /^# components: \[\.\.\/\.\.\/components\/archive\]$/m, 'the line to uncomment is there');
        writeFileSync(join(dir, 'kustomization.yaml'), `resources: [../overlays/${overlay}]\ncomponents: [../components/archive]\n`);
        const env = envOf(render(dir));
        assert.equal(env.find((e) => e.name === 'LC2_ARCHIVE'), undefined);
        assert.deepEqual(env.find((e) => e.name === 'LC2_ARCHIVE_URL')?.valueFrom?.secretKeyRef, { name: 'lc2-archive', key: 'url' });
      } finally { rmSync(dir, { recursive: true, force: true }); }
    });
  }

  it('every hook call carries Metacontroller\'s bearer token (webhook.authorization), and the hook server refuses calls without it', async () => {
    const controllers = render('metacontroller').filter((d) => d.kind === 'CompositeController' || d.kind === 'DecoratorController');
    assert.ok(controllers.some((d) => d.kind === 'DecoratorController'), 'the labelling DecoratorController is shipped');
    for (const cc of controllers) {
      for (const h of Object.values(cc.spec.hooks as Record<string, { webhook: { authorization?: { secretRef: { name: string; key: string } } } }>)) {
        assert.deepEqual(h.webhook.authorization?.secretRef, { name: 'lc2-hook-token', namespace: 'lc2-system', key: 'token' });
      }
    }
    const guarded = await startHook({ hookToken: 'x'.repeat(40) });
    try {
      assert.equal((await post(`${guarded.url}/backuprequest/sync`, { parent: backupRequest('x'), children: {}, related: {} })).status, 401);
      assert.equal((await fetch(`${guarded.url}/healthz`)).status, 200, 'health stays open for the kubelet');
    } finally { await guarded.close(); }
  });

  it('CompositeControllers: OnDelete children, no rolling strategy, every hook URL served by the hook server', async () => {
    const controllers = render('metacontroller').filter((d) => d.kind === 'CompositeController');
    for (const cc of controllers) {
      for (const child of cc.spec.childResources as Array<{ updateStrategy: { method: string } }>) assert.equal(child.updateStrategy.method, 'OnDelete');
      assert.equal(cc.spec.generateSelector, true);
      for (const [name, h] of Object.entries(cc.spec.hooks as Record<string, { version: string; webhook: { url: string } }>)) {
        assert.equal(h.version, 'v2');
        const path = new URL(h.webhook.url).pathname;
        const parent = path.startsWith('/backuprequest') ? backupRequest('x')
          : path.startsWith('/backupschedule') ? { apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupSchedule', metadata: { name: 'x', namespace: 'n' }, spec: { schedule: '@daily', template: { spec: backupRequest('x').spec } } }
            : path.startsWith('/backuptenant') ? { apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupTenant', metadata: { name: 'x', uid: 'u', generation: 1 }, spec: { namespaces: ['n'] } }
              : restoreRequest('x', {});
        const res = await post(`${hook.url}${path}`, { parent, children: {}, related: {}, finalizing: name === 'finalize' });
        assert.equal(res.status, 200, `${cc.metadata.name} ${name} → ${path}`);
      }
    }
    for (const dc of render('metacontroller').filter((d) => d.kind === 'DecoratorController')) {
      for (const h of Object.values(dc.spec.hooks as Record<string, { version: string; webhook: { url: string } }>)) {
        assert.equal(h.version, 'v2');
        const res = await post(`${hook.url}${new URL(h.webhook.url).pathname}`, { object: backupRequest('x'), attachments: {}, related: {}, finalizing: false });
        assert.equal(res.status, 200, `${dc.metadata.name} → ${h.webhook.url}`);
        assert.equal((res.body.labels as Record<string, string>)['backup.liferay.cloud/active'], 'true');
      }
    }
  });
});
