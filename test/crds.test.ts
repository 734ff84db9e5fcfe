// The CRDs are the single source of truth: structural basics, the generated BackupSchedule CRD is
// up to date, and every status the machines produce validates against them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { renderScheduleCrd, scheduleCrdPath } from '../scripts/gen-schedule-crd.ts';
import { crdSchema, statusErrors, validateSpec, CRD_FILES, type Kind } from '../core/validation/schema.ts';
import { backupRequest } from './support/resources.ts';

type Crd = { spec: { names: { shortNames: string[]; categories: string[] }; versions: Array<{ subresources: { status: object }; additionalPrinterColumns: Array<{ name: string; jsonPath: string }> }> } };
const load = (kind: Kind): Crd => YAML.parse(readFileSync(new URL(`../crds/${CRD_FILES[kind]}`, import.meta.url), 'utf8')) as Crd;

describe('CRDs', () => {
  it('BackupTenant: cluster-scoped, lc2 category, spec only (owned by the platform team)', () => {
    const crd = load('BackupTenant') as Crd & { spec: { scope: string } };
    assert.equal(crd.spec.scope, 'Cluster');
    assert.deepEqual(crd.spec.names.categories, ['lc2']);
    assert.ok(validateSpec('BackupTenant', { namespaces: ['proj-retail-prd'] }).ok);
    assert.equal(validateSpec('BackupTenant', { namespaces: [] }).ok, false);
  });

  for (const kind of (Object.keys(CRD_FILES) as Kind[]).filter((k) => k !== 'BackupTenant')) {
    it(`${kind}: status subresource, short name, lc2 category, Age column, schema compiles`, () => {
      const crd = load(kind);
      const v = crd.spec.versions[0]!;
      assert.deepEqual(v.subresources.status, {});
      assert.equal(crd.spec.names.shortNames.length, 1);
      assert.deepEqual(crd.spec.names.categories, ['lc2']);
      assert.ok(v.additionalPrinterColumns.some((c) => c.name === 'Age' && c.jsonPath === '.metadata.creationTimestamp'));
      assert.ok(crdSchema(kind));
      assert.deepEqual(statusErrors(kind, { observedGeneration: 3 }), []);
    });
  }

  it('backupschedules.yaml is exactly what scripts/gen-schedule-crd.ts generates (npm run gen:crds)', () => {
    assert.equal(readFileSync(scheduleCrdPath, 'utf8'), renderScheduleCrd());
  });

  it('a schedule template is validated with the BackupRequest spec schema', () => {
    const spec = { schedule: '0 2 * * *', template: { spec: { ...backupRequest('x').spec, provider: 'nope' } } };
    const result = validateSpec('BackupSchedule', spec);
    assert.equal(result.ok, false);
    assert.match((result as { errors: string[] }).errors.join(), /spec\.template\.spec\.provider: "nope" is not one of/);
  });

  it('defaults from the CRD are applied like the API server does', () => {
    const spec = backupRequest('x').spec!;
    const result = validateSpec<typeof spec>('BackupRequest', spec);
    assert.ok(result.ok);
    assert.equal(result.value.deletionPolicy, 'Retain');
    assert.equal(result.value.database.credentialsSecretRef?.passwordKey, 'password');
  });
});

describe('examples/', () => {
  it('every example validates against its CRD schema and the cross-field rules', async () => {
    const { readdirSync } = await import('node:fs');
    const dir = new URL('../examples/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length >= 2);
    for (const f of files) {
      const doc = YAML.parse(readFileSync(new URL(f, dir), 'utf8')) as { kind: Kind; spec: unknown };
      const result = validateSpec(doc.kind, doc.spec);
      assert.ok(result.ok, `${f}: ${JSON.stringify(result)}`);
    }
  });
});
