// The GCP provider's configuration: LC2_GCP_* from the environment (ranges and formats checked), the
// gcp overlay turning it on, and the pure identifier rules (Storage Transfer job names, restored
// instance names) the provider derives from resource UIDs. No cloud is involved.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import YAML from 'yaml';
import { gcpConfigFromEnv } from '../providers/gcp/config.ts';
import { loadConfig } from '../app/config.ts';
import { restoredInstanceName, transferJobName } from '../providers/gcp/ids.ts';
import { gcpBackupProblems } from '../providers/gcp/backup.ts';
import { gcpRestoreProblems } from '../providers/gcp/restore.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';

describe('GCP provider configuration and identifiers', () => {
  it('is off without LC2_GCP_PROJECT and validates what it reads', () => {
    assert.equal(gcpConfigFromEnv({}), undefined);
    const c = gcpConfigFromEnv({ LC2_GCP_PROJECT: 'my-project', LC2_GCP_CALL_TIMEOUT_MS: '5000' })!;
    assert.deepEqual([c.project, c.callTimeoutMs, c.defaultDatabase, c.sqlAdminEndpoint], ['my-project', 5000, 'lportal', undefined]);
    assert.throws(() => gcpConfigFromEnv({ LC2_GCP_PROJECT: 'My Project' }), /LC2_GCP_PROJECT must be a Google Cloud project ID/);
    assert.throws(() => gcpConfigFromEnv({ LC2_GCP_PROJECT: 'my-project', LC2_GCP_CALL_TIMEOUT_MS: '60000' }), /between 500 and 20000/);
    assert.throws(() => gcpConfigFromEnv({ LC2_GCP_PROJECT: 'my-project', LC2_GCP_TRANSFER_ENDPOINT: 'localhost:1' }), /http\(s\) URL/);
  });

  it('the gcp overlay sets LC2_GCP_PROJECT, so the hook server it deploys has the provider on', () => {
    const docs = YAML.parseAllDocuments(execFileSync('kubectl', ['kustomize', 'kustomize/overlays/gcp'], { encoding: 'utf8' })).map((d) => d.toJSON() as { kind: string; spec: { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } } });
    const env = docs.find((d) => d.kind === 'Deployment')!.spec.template.spec.containers[0]!.env;
    const plain = Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
    assert.equal(loadConfig({ ...plain, LC2_HOOK_AUTH: 'off' }).gcp?.project, 'my-project');
  });

  it('derives Storage Transfer job names and NEW instance names within the APIs\' rules', () => {
    const uid = '0b7e5c1a-3f2d-4e8b-9a6c-5d4e3f2a1b0c';
    const job = transferJobName(uid, 'dl');
    assert.equal(job, `transferJobs/lc2-${uid}-dl`);
    assert.match(job, /^transferJobs\/(?!OPI)[A-Za-z0-9._~-]{0,114}[A-Za-z0-9]$/);
    assert.equal(restoredInstanceName('retail-prd-db', uid), 'retail-prd-db-r0b7e5c1a');
    const long = restoredInstanceName(`a${'-b'.repeat(40)}`, uid);
    assert.ok(long.length <= 60 && /^[a-z][a-z0-9-]*[a-z0-9]$/.test(long) && !long.includes('--r'), long);
  });

  it('refuses specs it cannot honour with the field and what to write instead', () => {
    const bad = backupRequest('x', { provider: 'gcp', database: { type: 'dump', instanceId: 'db.example.com:5432', export: { iamRoleArn: 'arn:aws:iam::1:role/x' } },
      documentLibrary: { sourceBucket: 'a', destinationBucket: 'b', incremental: true, excludePatterns: ['*.tmp'] } }).spec!;
    assert.deepEqual(gcpBackupProblems(bad).map((p) => p.field), ['spec.database.type', 'spec.database.instanceId', 'spec.database.export', 'spec.documentLibrary.incremental', 'spec.documentLibrary.excludePatterns']);
    const good = backupRequest('y', { provider: 'gcp', database: { type: 'snapshot', instanceId: 'retail-prd-db', export: {} } }).spec!;
    assert.deepEqual(gcpBackupProblems(good), []);
    // A project that requires encryption (any key: age or KMS) is refused, never backed up in the clear.
    for (const encryption of [{ awsKmsKeyArn: 'arn:aws:kms:eu-west-1:1:key/k' }, { keyVersion: 'v1', recipient: 'age1xyz' }]) {
      const refused = gcpBackupProblems(good, encryption);
      assert.deepEqual(refused.map((p) => p.field), [`BackupTenant ${good.projectId} spec.encryption`]);
      assert.match(refused[0]!.message, /cannot apply one yet/);
    }
    const r = restoreRequest('r', { provider: 'gcp', database: { instanceId: 'Retail_DB', databaseName: 'lportal' } }).spec!;
    assert.deepEqual(gcpRestoreProblems(r).map((p) => p.field), ['spec.database.instanceId']);
  });
});
