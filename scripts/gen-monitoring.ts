// Generates kustomize/monitoring/prometheusrule.yaml (Prometheus Operator) from the plain rules
// file kustomize/monitoring/rules.yaml, so the two can never drift (test/alert-rules.test.ts checks it).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const dir = new URL('../kustomize/monitoring/', import.meta.url);

export function prometheusRule(rulesYaml: string): string {
  const rules = YAML.parse(rulesYaml) as { groups: unknown[] };
  const doc = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'lc2-backup', labels: { 'app.kubernetes.io/name': 'lc2-backup-hooks', role: 'alert-rules' } },
    spec: { groups: rules.groups },
  };
  return `# Generated from rules.yaml by \`npm run gen:monitoring\`: edit rules.yaml, not this file.\n${YAML.stringify(doc, { lineWidth: 0 })}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(new URL('prometheusrule.yaml', dir), prometheusRule(readFileSync(new URL('rules.yaml', dir), 'utf8')));
}
