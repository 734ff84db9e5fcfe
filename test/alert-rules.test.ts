// The alert rules, their runbooks and the dashboard, checked without a cluster: `promtool test
// rules` on synthetic series (Debian's prometheus package), the PrometheusRule generated from the
// plain rules file, one runbook page per alert, every metric the rules and the dashboard use
// exported by the hook server, and the monitoring kustomization rendering.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import YAML from 'yaml';
import { prometheusRule } from '../scripts/gen-monitoring.ts';
import { startReplicas } from './support/replicas.ts';

const dir = new URL('../kustomize/monitoring/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, dir), 'utf8');
interface Rule { alert: string; expr: string; labels: Record<string, string>; annotations: Record<string, string> }
const rules = (YAML.parse(read('rules.yaml')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(read('dashboard.json')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
/** Metric names an expression reads (identifiers followed by a selector or an operator, not functions or keywords). */
const metricsIn = (expr: string) => [...expr.matchAll(/\b(lc2_[a-z0-9_]+)/g)].map((m) => m[1]!);

describe('alert rules', () => {
  it('pass `promtool test rules` on synthetic series (each alert firing and not firing)', () => {
    const run = spawnSync('promtool', ['test', 'rules', 'alert-rules.test.yaml'], { cwd: dir.pathname, encoding: 'utf8' });
    assert.equal(run.error, undefined, 'promtool is installed (Debian package prometheus; scripts/bootstrap.sh)');
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    const tests = read('alert-rules.test.yaml');
    for (const r of rules) assert.match(tests, new RegExp(`alertname: ${r.alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), `${r.alert} has a firing case`);
  });

  it('the PrometheusRule is generated from rules.yaml (npm run gen:monitoring)', () => {
    assert.equal(read('prometheusrule.yaml'), prometheusRule(read('rules.yaml')));
  });

  it('every alert has a severity and a runbook page that says what it means, how to confirm and how to fix', () => {
    assert.ok(rules.length >= 7);
    for (const r of rules) {
      assert.ok(['critical', 'warning'].includes(r.labels.severity ?? ''), `${r.alert} severity`);
      assert.ok(r.annotations.summary && r.annotations.description, `${r.alert} summary and description`);
      const page = `docs/runbooks/${r.alert}.md`;
      assert.ok(r.annotations.runbook_url?.endsWith(`/${page}`), `${r.alert} links ${page}`);
      const path = new URL(`../${page}`, import.meta.url);
      assert.ok(existsSync(path), `${page} exists`);
      const text = readFileSync(path, 'utf8');
      assert.ok(text.startsWith(`# ${r.alert}\n`), `${page} is titled ${r.alert}`);
      for (const section of ['## Meaning', '## Confirm', '## Fix']) assert.ok(text.includes(section), `${page} has ${section}`);
    }
    const index = readFileSync(new URL('../docs/runbooks/README.md', import.meta.url), 'utf8');
    for (const r of rules) assert.ok(index.includes(`(${r.alert}.md)`), `docs/runbooks/README.md lists ${r.alert}`);
  });

  it('every metric the rules and the dashboard read is exported by the hook server and documented', async () => {
    const hook = await startReplicas({ count: 1 });
    let text: string;
    try { text = await (await fetch(`${hook.urls[0]}/metrics`)).text(); } finally { await hook.close(); }
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap((m) => m[2] === 'histogram' ? [`${m[1]}_bucket`, `${m[1]}_count`, `${m[1]}_sum`] : [m[1]!]));
    const docs = readFileSync(new URL('../docs/metrics.md', import.meta.url), 'utf8');
    const used = new Set([...rules.map((r) => r.expr), ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))].flatMap(metricsIn));
    for (const m of used) {
      assert.ok(exported.has(m), `${m} is exported at /metrics`);
      assert.ok(docs.includes(`\`${m.replace(/_(bucket|count|sum)$/, '')}`), `${m} is described in docs/metrics.md`);
    }
  });

  it('kustomize/monitoring renders the PrometheusRule, the ServiceMonitor and the dashboard ConfigMap, selecting the hook Service', () => {
    const docs = YAML.parseAllDocuments(execFileSync('kubectl', ['kustomize', dir.pathname], { encoding: 'utf8' })).map((d) => d.toJSON() as { kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: { selector?: { matchLabels: Record<string, string> }; endpoints?: Array<{ port: string }> }; data?: Record<string, string> });
    assert.deepEqual(docs.map((d) => d.kind).sort(), ['ConfigMap', 'PrometheusRule', 'ServiceMonitor']);
    const monitor = docs.find((d) => d.kind === 'ServiceMonitor')!;
    const base = YAML.parseAllDocuments(execFileSync('kubectl', ['kustomize', new URL('../kustomize/base', import.meta.url).pathname], { encoding: 'utf8' })).map((d) => d.toJSON() as typeof docs[number] & { spec: { ports?: Array<{ name: string }> } });
    const service = base.find((d) => d.kind === 'Service' && d.metadata.name === 'lc2-backup-hooks')!;
    for (const [k, v] of Object.entries(monitor.spec!.selector!.matchLabels)) assert.equal(service.metadata.labels?.[k], v, `the hook Service carries ${k}=${v}`);
    assert.ok(service.spec.ports!.some((p) => p.name === monitor.spec!.endpoints![0]!.port), 'the ServiceMonitor scrapes a port the Service has');
    const configMap = docs.find((d) => d.kind === 'ConfigMap')!;
    assert.equal(configMap.metadata.labels?.grafana_dashboard, '1');
    assert.deepEqual(JSON.parse(configMap.data!['dashboard.json']!), dashboard);
  });
});
