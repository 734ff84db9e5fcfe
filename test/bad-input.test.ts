// Bad input through the real hook server: every malformed spec ends Failed with a condition whose
// message names the field and what is wrong, and no Job is created.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHook, post, type Hook } from './support/inProcessHook.ts';
import { backupRequest } from './support/resources.ts';

type Spec = { [field: string]: unknown; database: Record<string, unknown>; documentLibrary: Record<string, unknown> };
type Mutate = (spec: Spec) => void;

const cases: Array<[string, Mutate, RegExp]> = [
  ['missing projectId', (s) => { delete s.projectId; }, /spec\.projectId: required field is missing/],
  ['missing environment', (s) => { delete s.environment; }, /spec\.environment: required field is missing/],
  ['missing provider', (s) => { delete s.provider; }, /spec\.provider: required field is missing/],
  ['missing database', (s) => { delete (s as Record<string, unknown>).database; }, /spec\.database: required field is missing/],
  ['missing documentLibrary', (s) => { delete (s as Record<string, unknown>).documentLibrary; }, /spec\.documentLibrary: required field is missing/],
  ['unknown provider', (s) => { s.provider = 'oracle-cloud'; }, /spec\.provider: "oracle-cloud" is not one of local, aws, gcp, azure/],
  ['unknown engine', (s) => { s.database.engine = 'oracle'; }, /spec\.database\.engine: "oracle" is not one of postgresql, mysql/],
  ['unknown database type', (s) => { s.database.type = 'backup'; }, /spec\.database\.type: "backup" is not one of dump, snapshot/],
  ['upper-case project', (s) => { s.projectId = 'Retail'; }, /spec\.projectId: "Retail" is not valid: must be a lower-case DNS label/],
  ['path traversal in destinationPrefix', (s) => { s.documentLibrary.destinationPrefix = '../other-project'; }, /spec\.documentLibrary\.destinationPrefix: "\.\.\/other-project" is not valid/],
  ['traversal inside destinationPrefix', (s) => { s.documentLibrary.destinationPrefix = 'retail/../other'; }, /spec\.documentLibrary\.destinationPrefix: "retail\/\.\.\/other" is not valid/],
  ['absolute sourcePrefix', (s) => { s.documentLibrary.sourcePrefix = '/etc/passwd'; }, /spec\.documentLibrary\.sourcePrefix: "\/etc\/passwd" is not valid/],
  ['url-encoded traversal', (s) => { s.documentLibrary.destinationPrefix = 'retail/%2e%2e/x'; }, /spec\.documentLibrary\.destinationPrefix: "retail\/%2e%2e\/x" is not valid/],
  ['another environment\'s prefix', (s) => { s.documentLibrary.destinationPrefix = 'retail/uat/nightly'; }, /spec\.documentLibrary\.destinationPrefix: "retail\/uat\/nightly" is outside the environment's own path/],
  ['other project\'s prefix', (s) => { s.documentLibrary.destinationPrefix = 'other-project/prd'; }, /spec\.documentLibrary\.destinationPrefix: "other-project\/prd" is outside the environment's own path: it must be "retail\/prd" or start with "retail\/prd\/"/],
  ['bucket name with upper case', (s) => { s.documentLibrary.destinationBucket = 'My_Bucket'; }, /spec\.documentLibrary\.destinationBucket: "My_Bucket" is not valid: must be a bucket name/],
  ['retention far too long', (s) => { s.retentionDays = 1000000; }, /spec\.retentionDays: must be <= 3650 \(got 1000000\)/],
  ['retention zero', (s) => { s.retentionDays = 0; }, /spec\.retentionDays: must be >= 1 \(got 0\)/],
  ['retention not a number', (s) => { s.retentionDays = '30d'; }, /spec\.retentionDays: must be integer, got "30d"/],
  ['unknown field', (s) => { s.database.password = 'hunter2'; }, /spec\.database\.password: unknown field/],
  ['huge project name', (s) => { s.projectId = 'a'.repeat(5000); }, /spec\.projectId: must NOT have more than 40 characters/],
  ['too many exclude patterns', (s) => { s.documentLibrary.excludePatterns = Array.from({ length: 500 }, (_, i) => `x${i}/**`); }, /spec\.documentLibrary\.excludePatterns: must NOT have more than 50 items/],
  ['exclude pattern with shell characters', (s) => { s.documentLibrary.excludePatterns = ['$(rm -rf /)']; }, /spec\.documentLibrary\.excludePatterns\.0: "\$\(rm -rf \/\)" is not valid/],
  ['instance with a shell injection', (s) => { s.database.instanceId = 'db;curl evil'; }, /spec\.database\.instanceId: "db;curl evil" is not valid/],
  ['database name with a quote', (s) => { s.database.databaseName = "lportal'; drop"; }, /spec\.database\.databaseName: .* is not valid/],
  ['deletion policy typo', (s) => { s.deletionPolicy = 'Destroy'; }, /spec\.deletionPolicy: "Destroy" is not one of Retain, Delete/],
  ['snapshot on the local provider', (s) => { s.database.type = 'snapshot'; }, /spec\.database\.type: the local provider makes logical dumps/],
  ['dump without a database name', (s) => { delete s.database.databaseName; }, /spec\.database\.databaseName: required for a dump/],
  ['local without credentials', (s) => { delete s.database.credentialsSecretRef; }, /spec\.database\.credentialsSecretRef: required by the local provider/],
  ['databasesToIgnore on postgresql', (s) => { s.database.databasesToIgnore = ['mysql']; }, /spec\.database\.databasesToIgnore: only applies to mysql/],
  ['empty spec', (s) => { for (const k of Object.keys(s)) delete s[k]; }, /spec\.projectId: required field is missing/],
];

let hook: Hook;
before(async () => { hook = await startHook(); });
after(async () => { await hook.close(); });

describe('malformed BackupRequest specs', () => {
  for (const [title, mutate, expected] of cases) {
    it(`${title} → Failed, field named, no Job`, async () => {
      const parent = backupRequest('bad');
      mutate(parent.spec as unknown as Spec);
      const res = await post(`${hook.url}/backuprequest/sync`, { parent, children: { 'Job.batch/v1': {} }, related: {}, finalizing: false });
      assert.equal(res.status, 200);
      const status = res.body.status as { phase: string; conditions: Array<{ type: string; status: string; reason: string; message: string }> };
      assert.equal(status.phase, 'Failed');
      const ready = status.conditions.find((c) => c.type === 'Ready')!;
      assert.equal(ready.status, 'False');
      assert.match(ready.reason, /^(InvalidSpec)$/);
      assert.match(ready.message, expected);
      assert.deepEqual(res.body.children, []);
      assert.equal(res.body.resyncAfterSeconds, undefined, 'a bad spec is not retried');
    });
  }

  it('never echoes a value that looks like a secret back into status', async () => {
    const parent = backupRequest('bad');
    (parent.spec as unknown as Spec).database.password = 'hunter2';
    const res = await post(`${hook.url}/backuprequest/sync`, { parent, children: {}, related: {} });
    assert.ok(!JSON.stringify(res.body).includes('hunter2'));
  });

  it('a provider that is not configured (or not built yet) fails with a clear reason', async () => {
    const aws = backupRequest('aws', { provider: 'aws', database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-db' } });
    const awsAnswer = await post(`${hook.url}/backuprequest/sync`, { parent: aws, children: {}, related: {} });
    assert.match(JSON.stringify(awsAnswer.body.status), /the aws provider is not configured on this hook server: set LC2_AWS_REGION/);
    const gcp = backupRequest('gcp', { provider: 'gcp', database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-db' } });
    const gcpAnswer = await post(`${hook.url}/backuprequest/sync`, { parent: gcp, children: {}, related: {} });
    assert.match(JSON.stringify(gcpAnswer.body.status), /the gcp provider is not configured on this hook server: set LC2_GCP_PROJECT/);
    const parent = backupRequest('azure', { provider: 'azure', database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-prd-pg' } });
    const res = await post(`${hook.url}/backuprequest/sync`, { parent, children: {}, related: {} });
    const ready = (res.body.status as { conditions: Array<{ type: string; reason: string; message: string }> }).conditions.find((c) => c.type === 'Ready')!;
    assert.equal(ready.reason, 'ProviderUnavailable');
    assert.match(ready.message, /the azure provider is not configured on this hook server: set LC2_AZURE_SUBSCRIPTION_ID/);
    assert.deepEqual(res.body.children, []);
  });
});
