// The AWS provider's consistency check, pure and at its result boundary: which specs it refuses, where
// its two Jobs go in the plan (the key list before the snapshot, the comparison after the copy), what
// the Jobs carry (references to Secrets, never values), and how a crafted result is refused. The Jobs
// themselves run end to end in test/aws-e2e.test.ts "AWS consistency check".
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awsBackupProblems, awsBackupSteps } from '../providers/aws/plan.ts';
import { observeCheckJob } from '../providers/aws/consistencyCheck.ts';
import type { AwsProviderConfig } from '../providers/aws/config.ts';
import { FileObjectStore } from '../providers/shared/storage/fileStore.ts';
import type { BackupContext } from '../core/provider.ts';
import type { BackupRequestSpec } from '../core/crd.ts';
import type { KubeObject } from '../core/kube.ts';
import { backupRequest } from './support/resources.ts';

const config: AwsProviderConfig = {
  region: 'eu-west-1', copy: { parallelism: 4, multipartThreshold: 1, partSize: 1, pageSize: 10 }, stepBudgetMs: 1000, callTimeoutMs: 1000,
  jobs: { image: 'tools:1', backoffLimit: 2, activeDeadlineSeconds: 600, transfers: 8, credentialsSecret: 'lc2-aws-job' },
};
const checked = (over: Partial<BackupRequestSpec['database']> = {}, dl: Partial<BackupRequestSpec['documentLibrary']> = {}): BackupRequestSpec => {
  const spec = backupRequest('b', { provider: 'aws' }).spec!;
  return { ...spec,
    database: { engine: 'postgresql', type: 'snapshot', instanceId: 'retail-db', endpoint: 'retail-db.abc.eu-west-1.rds.amazonaws.com:5432', databaseName: 'lportal', credentialsSecretRef: { name: 'retail-db' }, ...over },
    documentLibrary: { ...spec.documentLibrary, ...dl } };
};
const ctx = (spec: BackupRequestSpec, extra: Partial<BackupContext> = {}): BackupContext => ({ name: 'nightly', uid: '0f6c1a52-7d1e-4bb1-9a55-1d7c1c0e0001', spec, location: { bucket: 'lc2-backups', prefix: 'retail/prd/nightly-0f6c1a52/' }, ...extra });
const fields = (spec: BackupRequestSpec, c = config) => awsBackupProblems(c)(spec).map((p) => p.field);
type Container = { env: Array<{ name: string; value?: string; valueFrom?: unknown }> };
const containerOf = (job: KubeObject) => (job.spec as { template: { spec: { containers: Container[]; serviceAccountName?: string } } }).template.spec;
const envOf = (job: KubeObject) => Object.fromEntries(containerOf(job).containers[0]!.env.map((e) => [e.name, e.value ?? e.valueFrom]));

describe('AWS consistency check: plan', () => {
  it('a backup naming the database endpoint asks for it, and must say how to log in and what to read', () => {
    assert.deepEqual(fields(checked()), []);
    assert.deepEqual(fields(checked({ credentialsSecretRef: undefined, databaseName: undefined, engine: undefined })), ['spec.database.credentialsSecretRef', 'spec.database.databaseName', 'spec.database.engine']);
    // Specs from before the check may name credentials, which aws ignored: they go on as before.
    assert.deepEqual(fields(checked({ endpoint: undefined, databaseName: undefined })), []);
    assert.deepEqual(awsBackupSteps(config)(ctx(checked({ endpoint: undefined }))).map((s) => s.name), ['snapshot', 'transfer']);
    assert.deepEqual(fields(checked({}, { incremental: true })), ['spec.documentLibrary.incremental']);
    const { jobs: _none, ...noJobs } = config;
    assert.match(awsBackupProblems(noJobs)(checked()).map((p) => p.message).join(), /LC2_AWS_JOB_SECRET or LC2_AWS_JOB_SERVICE_ACCOUNT/);
  });

  it('the key list comes right before the snapshot, the comparison after the copy; without credentials the plan is as before', () => {
    assert.deepEqual(awsBackupSteps(config)(ctx(checked({ export: { iamRoleArn: 'arn:aws:iam::1:role/x' } }))).map((s) => [s.name, s.phase]), [
      ['keys', 'SnapshotInProgress'], ['snapshot', 'SnapshotInProgress'], ['export', 'ExportInProgress'], ['transfer', 'TransferInProgress'], ['consistency', 'TransferInProgress'],
    ]);
    assert.deepEqual(awsBackupSteps(config)(ctx(checked({ endpoint: undefined }))).map((s) => s.name), ['snapshot', 'transfer']);
  });

  it('the Jobs reach the database and the bucket through references to Secrets, write under the backup\'s folder, and under the project\'s KMS key', () => {
    const steps = awsBackupSteps(config)(ctx(checked(), { encryption: { awsKmsKeyArn: 'arn:aws:kms:eu-west-1:1:key/k' } }));
    const keys = envOf(steps[0]!.children[0]!);
    assert.equal(keys.LC2_DB_HOST, 'retail-db.abc.eu-west-1.rds.amazonaws.com');
    assert.equal(keys.LC2_DB_PORT, '5432');
    assert.deepEqual(keys.LC2_DB_PASSWORD, { secretKeyRef: { name: 'retail-db', key: 'password' } });
    assert.deepEqual(keys.RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY, { secretKeyRef: { name: 'lc2-aws-job', key: 'AWS_SECRET_ACCESS_KEY' } });
    assert.equal(keys.RCLONE_CONFIG_STORE_PROVIDER, 'AWS');
    assert.equal(keys.LC2_EXPECTED_KEYS, 'lc2-backups/retail/prd/nightly-0f6c1a52/results/expected-keys.zst');
    assert.equal(keys.RCLONE_CONFIG_STORE_SSE_KMS_KEY_ID, 'arn:aws:kms:eu-west-1:1:key/k');
    // The snapshot waits for the key list: its Job has a short hard limit of its own, the comparison the server's.
    const day = awsBackupSteps({ ...config, jobs: { ...config.jobs!, activeDeadlineSeconds: 86400 } })(ctx(checked()));
    assert.deepEqual([day[0]!, day.at(-1)!].map((s) => (s.children[0]!.spec as { activeDeadlineSeconds: number }).activeDeadlineSeconds), [3600, 86400]);
    const check = envOf(steps.at(-1)!.children[0]!);
    assert.equal(check.LC2_DL_DEST, 'lc2-backups/retail/prd/nightly-0f6c1a52/dl/');
    assert.equal(check.LC2_EXPECTED_KEYS, keys.LC2_EXPECTED_KEYS);
    // A workload identity instead of a key: the Pod runs as the service account, rclone takes the chain.
    const irsa = awsBackupSteps({ ...config, jobs: { ...config.jobs!, credentialsSecret: undefined, serviceAccountName: 'lc2-backup-job' } })(ctx(checked()));
    const pod = containerOf(irsa[0]!.children[0]!);
    assert.equal(pod.serviceAccountName, 'lc2-backup-job');
    assert.equal(envOf(irsa[0]!.children[0]!).RCLONE_CONFIG_STORE_ENV_AUTH, 'true');
    assert.equal(envOf(irsa[0]!.children[0]!).RCLONE_CONFIG_STORE_ACCESS_KEY_ID, undefined);
  });
});

describe('AWS consistency check: results are cross-checked', () => {
  const done = { status: { conditions: [{ type: 'Complete', status: 'True' }], succeeded: 1 } };
  const job = (name: string): KubeObject => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name }, ...done });
  const dl = { objectCount: 3, totalBytes: 30, tool: 'aws-sdk-js-v3', excludedPatterns: [] };
  const setup = (keys: Record<string, unknown> | undefined, consistency: Record<string, unknown> | undefined) => {
    const root = mkdtempSync(join(tmpdir(), 'lc2-aws-check-'));
    const c = ctx(checked(), { documentLibrary: dl });
    const dir = join(root, c.location.bucket, c.location.prefix, 'results');
    mkdirSync(dir, { recursive: true });
    const result = (step: string, extra: Record<string, unknown>) => JSON.stringify({ version: 1, step, status: 'succeeded', startedAt: '2026-11-30T01:00:00Z', completedAt: '2026-11-30T01:00:05Z', tool: 't', ...extra });
    if (keys) writeFileSync(join(dir, 'keys.json'), result('keys', keys));
    writeFileSync(join(dir, 'consistency.json'), result('consistency', consistency ? { consistency } : {}));
    return { store: new FileObjectStore(root), c };
  };
  const comparison = { expected: 5, missing: 1, orphans: 0, missingSample: ['1/2/3/1.0'], orphanSample: [] };

  it('a comparison of the list\'s keys is recorded with the copy\'s result', async () => {
    const { store, c } = setup({ expectedKeys: 5 }, comparison);
    const obs = await observeCheckJob('consistency', c, job('x'), store);
    assert.deepEqual(obs, { state: 'done', result: { documentLibrary: { ...dl, consistency: comparison } }, completedAt: '2026-11-30T01:00:05Z' });
  });

  it('a list that was made but not used, a comparison without a list, or a missing list result: refused', async () => {
    for (const [keys, consistency, message] of [
      [{ expectedKeys: 5 }, undefined, /the key list holds 5 keys, but the check reports no comparison/],
      [{}, comparison, /the check reports a comparison, but no key list was made/],
      [undefined, comparison, /is missing/],
      [{ expectedKeys: 4 }, comparison, /the check compared 5 keys, the key list holds 4/],
    ] as const) {
      const { store, c } = setup(keys, consistency);
      const obs = await observeCheckJob('consistency', c, job('x'), store);
      assert.equal(obs.state, 'failed');
      assert.match(obs.state === 'failed' ? `${obs.reason}: ${obs.message}` : '', message);
      assert.match(obs.state === 'failed' ? obs.reason : '', /ResultInvalid/);
    }
  });

  it('a result whose time the API server would refuse (month 13, or none) is invalid, never written into status', async () => {
    const { store, c } = setup({ expectedKeys: 5 }, comparison);
    const dir = join((store as unknown as { root: string }).root, c.location.bucket, c.location.prefix, 'results');
    writeFileSync(join(dir, 'consistency.json'), JSON.stringify({ version: 1, step: 'consistency', status: 'succeeded', startedAt: '2026-11-30T01:00:00Z', completedAt: '2026-13-45T25:61:61Z', tool: 't', consistency: comparison }));
    const obs = await observeCheckJob('consistency', c, job('x'), store);
    assert.equal(obs.state, 'failed');
    assert.match(obs.state === 'failed' ? obs.message : '', /is invalid \(2026-13-45T25:61:61Z is not a real UTC time\)/);
    // Without one at all (its completion time would be '' in status): the result schema requires it.
    writeFileSync(join(dir, 'consistency.json'), JSON.stringify({ version: 1, step: 'consistency', status: 'succeeded', tool: 't', consistency: comparison }));
    const none = await observeCheckJob('consistency', c, job('x'), store);
    assert.match(none.state === 'failed' ? none.message : '', /is invalid \(.*must have required property 'completedAt'/);
  });

  it('a database without Liferay\'s document tables: no list, no comparison, nothing said about consistency', async () => {
    const { store, c } = setup({}, undefined);
    const obs = await observeCheckJob('consistency', c, job('x'), store);
    assert.deepEqual(obs, { state: 'done', result: { documentLibrary: dl }, completedAt: '2026-11-30T01:00:05Z' });
  });
});
