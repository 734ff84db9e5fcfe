// The Azure provider's pure parts: configuration from LC2_AZURE_*, how spec fields name Azure
// resources (servers, resource groups, storage accounts, containers), spec problems, error
// classification and the redaction of SAS tokens from messages.
import { describe, it } from 'node:test';
import { DefaultAzureCredential, WorkloadIdentityCredential } from '@azure/identity';
import { workloadIdentity } from '../providers/azure/clients.ts';
import assert from 'node:assert/strict';
import { azureConfigFromEnv } from '../providers/azure/config.ts';
import { containerRef, operationId, serverRef } from '../providers/azure/ids.ts';
import { classify, redact } from '../providers/azure/errors.ts';
import { azureBackupProblems } from '../providers/azure/backup.ts';
import { azureRestoreProblems } from '../providers/azure/restore.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';

const SUB = '00000000-0000-4000-8000-000000000001';
const config = azureConfigFromEnv({ LC2_AZURE_SUBSCRIPTION_ID: SUB, LC2_AZURE_RESOURCE_GROUP: 'rg-dbs', LC2_AZURE_STORAGE_ACCOUNT: 'lc2backups' })!;

describe('Azure provider configuration and names', () => {
  it('is off without a subscription; checks the subscription, resource group, account, template and ranges', () => {
    assert.equal(azureConfigFromEnv({}), undefined);
    assert.throws(() => azureConfigFromEnv({ LC2_AZURE_SUBSCRIPTION_ID: 'not-a-uuid', LC2_AZURE_RESOURCE_GROUP: 'rg' }), /UUID/);
    assert.throws(() => azureConfigFromEnv({ LC2_AZURE_SUBSCRIPTION_ID: SUB }), /LC2_AZURE_RESOURCE_GROUP/);
    assert.throws(() => azureConfigFromEnv({ LC2_AZURE_SUBSCRIPTION_ID: SUB, LC2_AZURE_RESOURCE_GROUP: 'rg', LC2_AZURE_STORAGE_ACCOUNT: 'Bad_Account' }), /LC2_AZURE_STORAGE_ACCOUNT/);
    assert.throws(() => azureConfigFromEnv({ LC2_AZURE_SUBSCRIPTION_ID: SUB, LC2_AZURE_RESOURCE_GROUP: 'rg', LC2_AZURE_BLOB_URL_TEMPLATE: 'https://example.net' }), /\{account\}/);
    assert.throws(() => azureConfigFromEnv({ LC2_AZURE_SUBSCRIPTION_ID: SUB, LC2_AZURE_RESOURCE_GROUP: 'rg', LC2_AZURE_STEP_BUDGET_MS: '25000' }), /LC2_AZURE_STEP_BUDGET_MS/);
    assert.throws(() => azureConfigFromEnv({ LC2_AZURE_SUBSCRIPTION_ID: SUB, LC2_AZURE_RESOURCE_GROUP: 'rg', LC2_AZURE_ASYNC_COPY_THRESHOLD_MB: '512' }), /256/);
    assert.equal(config.blobUrlTemplate, 'https://{account}.blob.core.windows.net');
    assert.equal(config.copy.asyncThreshold, 256 * 1024 ** 2);
    assert.equal(config.armEndpoint, undefined, 'production talks to management.azure.com with a bearer token');
  });

  it('names servers as <server> or <resourceGroup>.<server>, containers as <container> or <account>.<container>', () => {
    assert.deepEqual(serverRef('retail-prd-pg', 'rg-dbs'), { resourceGroup: 'rg-dbs', server: 'retail-prd-pg' });
    assert.deepEqual(serverRef('rg.team.a.retail-prd-pg', 'rg-dbs'), { resourceGroup: 'rg.team.a', server: 'retail-prd-pg' });
    for (const bad of ['Retail-PG', 'ab', '-pg-', 'pg_1', 'rg..']) assert.equal(serverRef(bad, 'rg-dbs'), undefined, bad);
    assert.deepEqual(containerRef('liferay-dl', 'lc2backups'), { account: 'lc2backups', container: 'liferay-dl' });
    assert.deepEqual(containerRef('other1.liferay-dl', 'lc2backups'), { account: 'other1', container: 'liferay-dl' });
    assert.equal(containerRef('liferay-dl', undefined), undefined, 'no default account: the account must be named');
    for (const bad of ['a.b.c', 'acct.double--hyphen', 'ACCT.dl', 'acct.x']) assert.equal(containerRef(bad, 'lc2backups'), undefined, bad);
    const id = operationId('C0FFEE00-1111-4222-8333-444455556666', 's');
    assert.equal(id, 'lc2-s-c0ffee00111142228333444455556666');
    assert.match(id, /^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/);
    assert.ok(id.includes('c0ffee00111142228333444455556666'), 'the whole UID is in the name (the ownership proof)');
  });

  it('refuses specs the provider cannot run, naming the field', () => {
    const problems = azureBackupProblems(config);
    const fields = (spec: Record<string, unknown>) => problems(backupRequest('b', { provider: 'azure', ...spec }).spec!).map((p) => p.field);
    assert.deepEqual(fields({ database: { type: 'snapshot', instanceId: 'retail-prd-pg' } }), []);
    assert.deepEqual(fields({ database: { type: 'dump', engine: 'mysql', instanceId: 'Retail_PG' } }), ['spec.database.type', 'spec.database.engine', 'spec.database.instanceId']);
    assert.deepEqual(fields({ database: { type: 'snapshot', instanceId: 'retail-prd-pg' }, documentLibrary: { sourceBucket: 'a.b.c', destinationBucket: 'lc2-backups', incremental: true } }),
      ['spec.documentLibrary.sourceBucket', 'spec.documentLibrary.incremental']);
    assert.deepEqual(fields({ database: { type: 'snapshot', instanceId: 'retail-prd-pg', export: {} } }), [], 'export: {} asks for a long-term backup');
    // A project that requires encryption with its own key is refused: never a silent backup in the clear.
    const spec = backupRequest('b', { provider: 'azure', database: { type: 'snapshot', instanceId: 'retail-prd-pg' } }).spec!;
    assert.deepEqual(problems(spec, { awsKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/x' }).map((p) => p.field), ['BackupTenant retail spec.encryption']);
    assert.deepEqual(fields({ database: { type: 'snapshot', instanceId: 'retail-prd-pg', export: { iamRoleArn: 'arn:aws:iam::123456789012:role/x' } } }), ['spec.database.export']);
    const restore = azureRestoreProblems(config);
    assert.deepEqual(restore(restoreRequest('r', { provider: 'azure', database: { instanceId: 'rg-x.new-pg', databaseName: 'lportal' } }).spec!), []);
    assert.deepEqual(restore(restoreRequest('r', { provider: 'azure', database: { instanceId: 'New_PG', databaseName: 'lportal' } }).spec!).map((p) => p.field), ['spec.database.instanceId']);
  });

  it('production credentials are Workload Identity only: never secrets in the environment, a managed identity or a CLI login', async () => {
    const cred = workloadIdentity({ AZURE_CLIENT_ID: '11111111-1111-4111-8111-111111111111', AZURE_TENANT_ID: '22222222-2222-4222-8222-222222222222', AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token' });
    assert.ok(cred instanceof WorkloadIdentityCredential);
    // A client secret in the environment (which DefaultAzureCredential would use first) is ignored: no Workload Identity, no token.
    const without = workloadIdentity({ AZURE_CLIENT_ID: '11111111-1111-4111-8111-111111111111', AZURE_TENANT_ID: '22222222-2222-4222-8222-222222222222', AZURE_CLIENT_SECRET: 'not-used' });
    assert.ok(!(without instanceof DefaultAzureCredential));
    await assert.rejects(without.getToken('https://management.azure.com/.default'), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'WorkloadIdentityMissing');
      assert.match(e.message, /AZURE_FEDERATED_TOKEN_FILE/);
      assert.doesNotMatch(e.message, /not-used/);
      return true;
    });
  });

  it('classifies: throttling, 5xx, conflicts and timeouts retry; missing resources, access and failed operations do not; SAS never in a message', () => {
    assert.equal(classify({ statusCode: 429, code: 'TooManyRequests', message: 'slow down' }).retryable, true);
    assert.equal(classify({ statusCode: 409, code: 'Conflict', message: 'busy' }).retryable, true);
    assert.equal(classify({ statusCode: 503, code: 'ServerBusy' }).retryable, true);
    assert.equal(classify(Object.assign(new Error('aborted'), { name: 'AbortError' })).retryable, true);
    const missing = classify({ statusCode: 404, code: 'ResourceNotFound', message: 'not found' });
    assert.equal(missing.retryable, false);
    assert.match(missing.message, /spec\.database\.instanceId/);
    assert.match(classify({ statusCode: 403, code: 'AuthorizationPermissionMismatch' }).message, /Storage Blob Data Contributor/);
    const failed = classify(new Error('The long-running operation has failed. InternalServerError. boom'));
    assert.deepEqual([failed.reason, failed.retryable], ['LongRunningOperationFailed', false]);
    const leaky = classify({ statusCode: 400, code: 'InvalidHeaderValue', message: 'bad source https://a.blob.core.windows.net/c/b?sv=2025-01-05&se=2026&sr=b&sp=r&sig=SECRETSIG%3D' });
    assert.doesNotMatch(leaky.message, /SECRETSIG/);
    assert.equal(redact('x?sig=abc&sp=r'), 'x?sig=…&sp=…');
  });
});
