// The reindex phase of a restore (docs/recovery-points.md), end to end through the real hook server
// and the real Jobs: one local backup, then restores whose project (BackupTenant spec.reindex) calls a
// stand-in HTTP endpoint that records every call and answers what the test tells it, or runs a Job of
// its own. The restore is Succeeded only after the reindex; a refusal or an endpoint that keeps failing
// fails it, saying the data itself was restored.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { MetacontrollerDriver } from './support/driver.ts';
import { TestEnv, uniqueName } from './support/env.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';
import { createSampleDatabase, dropDatabase, localPostgres, sampleDocumentLibrary } from '../demo/sample.ts';
import { API_VERSION } from '../hooks/contract/objects.ts';
import type { BackupRequest, BackupTenant, RestoreRequestStatus, TenantReindex } from '../core/crd.ts';

const env = new TestEnv();
const dbs: string[] = [];
interface Call { method: string; url: string; authorization: string | undefined; body: string }
const calls: Call[] = [];
/** What the stand-in answers next, one status per call (then 200). */
let answers: number[] = [];
let endpoint: Server;
let endpointUrl = '';
let backup: BackupRequest;

const body = (req: IncomingMessage): Promise<string> => new Promise((resolve) => {
  let b = '';
  req.on('data', (d: Buffer) => { b += d.toString(); });
  req.on('end', () => resolve(b));
});

const tenant = (reindex?: TenantReindex): BackupTenant => ({
  apiVersion: API_VERSION, kind: 'BackupTenant', metadata: { name: 'retail' },
  spec: { namespaces: ['proj-retail-prd'], ...(reindex ? { reindex } : {}) },
});

async function restore(reindex: TenantReindex | undefined, extra: Record<string, unknown> = {}) {
  const databaseName = uniqueName('lc2_reindexed');
  dbs.push(databaseName);
  const driver = new MetacontrollerDriver(restoreRequest(uniqueName('reindex').replace(/_/g, '-'), {
    source: { backupRef: { name: backup.metadata.name } },
    database: { instanceId: `${localPostgres.host}:${localPostgres.port}`, databaseName, credentialsSecretRef: { name: 'db-credentials' } },
    documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: `${uniqueName('r').replace(/_/g, '-')}/document_library` },
    ...extra,
  }), {
    hookUrl: env.hookUrl, syncPath: '/restorerequest/sync',
    secrets: { ...env.secrets(localPostgres), 'liferay-admin': { authorization: 'Bearer s3cr3t-token' } },
    related: () => ({ [`BackupTenant.${API_VERSION}`]: { retail: tenant(reindex) }, [`BackupRequest.${API_VERSION}`]: { [`proj-retail-prd/${backup.metadata.name}`]: backup } }),
  });
  const phase = await driver.runToCompletion();
  const status = driver.status as RestoreRequestStatus;
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  return { phase, status, reason: ready?.reason, message: ready?.message ?? '', databaseName };
}

before(async () => {
  endpoint = createServer((req, res) => {
    void body(req).then((b) => {
      calls.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body: b });
      res.writeHead(answers.shift() ?? 200).end();
    });
  });
  await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', () => r()));
  const addr = endpoint.address();
  endpointUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  await env.start();
  for (const b of ['liferay-dl', 'lc2-backups', 'restored-dl']) await env.createBucket(b);
  const db = uniqueName('lc2_reindex_src');
  dbs.push(db);
  createSampleDatabase(localPostgres, db, 50);
  await env.upload('liferay-dl', sampleDocumentLibrary(6).map((f) => ({ ...f, key: `document_library/${f.key}` })));
  const driver = new MetacontrollerDriver(backupRequest(uniqueName('reindex-src').replace(/_/g, '-'), {
    database: { engine: 'postgresql', type: 'dump', instanceId: `${localPostgres.host}:${localPostgres.port}`, databaseName: db, credentialsSecretRef: { name: 'db-credentials' } },
    documentLibrary: { sourceBucket: 'liferay-dl', sourcePrefix: 'document_library/', destinationBucket: 'lc2-backups', excludeGeneratedFiles: true },
  }), { hookUrl: env.hookUrl, syncPath: '/backuprequest/sync', secrets: env.secrets(localPostgres) });
  assert.equal(await driver.runToCompletion(), 'Succeeded');
  backup = driver.parent as BackupRequest;
});
after(async () => {
  await env.stop();
  await new Promise<void>((r) => endpoint.close(() => r()));
  for (const n of dbs) dropDatabase(localPostgres, n);
});

describe('reindex phase of a restore', () => {
  it('calls the project\'s endpoint once after the document library, with its credential, and only then succeeds', async () => {
    calls.length = 0;
    const r = await restore({ http: { url: `${endpointUrl}/reindex/{projectId}/{environment}?db={databaseName}`, body: '{"mode":"full","env":"{environment}"}', authorizationSecret: { name: 'liferay-admin', key: 'authorization' } } });
    assert.equal(r.phase, 'Succeeded', r.message);
    assert.equal(calls.length, 1, 'exactly one call, however many syncs replayed the phase');
    assert.deepEqual(calls[0], { method: 'POST', url: `/reindex/retail/prd?db=${r.databaseName}`, authorization: 'Bearer s3cr3t-token', body: '{"mode":"full","env":"prd"}' });
    assert.equal(r.status.operations?.reindex?.state, 'Succeeded');
    // As instants: the hook's clock has milliseconds, a Job's result whole seconds ('…01.123Z' < '…01Z' as text).
    assert.ok(Date.parse(r.status.operations!.reindex!.startTime!) >= Date.parse(r.status.operations!.documentLibrary!.completionTime!), 'after the document library');
    assert.equal(r.status.completionTime, r.status.operations!.reindex!.completionTime, 'the restore ends when the reindex does');
    assert.match(r.message, /search reindexed/);
    assert.doesNotMatch(JSON.stringify(r.status), /s3cr3t/, 'the credential is never in status');
  });

  it('retries an endpoint that answers 5xx (the Job\'s backoff), and fails on one that keeps failing, saying the data was restored', async () => {
    calls.length = 0;
    answers = [503];
    const retried = await restore({ http: { url: `${endpointUrl}/flaky` } });
    assert.equal(retried.phase, 'Succeeded', retried.message);
    assert.equal(calls.length, 2);
    calls.length = 0;
    answers = [500, 502, 503];
    const failed = await restore({ http: { url: `${endpointUrl}/down` }, backoffLimit: 2 });
    assert.equal(failed.phase, 'Failed');
    assert.equal(calls.length, 3, 'the first try and backoffLimit retries');
    assert.equal(failed.reason, 'ReindexFailed');
    assert.match(failed.message, /The data was restored \(database lc2_reindexed/);
    assert.match(failed.message, /trigger a full reindex by hand/);
    assert.doesNotMatch(failed.message, /drop it/, 'the restored data is not called a leftover');
  });

  it('a 4xx or 3xx answer fails the restore at once with ReindexRefused (no retry, no redirect followed)', async () => {
    for (const code of [403, 302]) {
      calls.length = 0;
      answers = [code];
      const r = await restore({ http: { url: `${endpointUrl}/forbidden`, method: 'PUT' } });
      assert.equal(r.phase, 'Failed');
      assert.equal(r.reason, 'ReindexRefused');
      assert.equal(calls.length, 1);
      assert.equal(calls[0]!.method, 'PUT');
    }
  });

  it('reindex settings that cannot run fail the restore before anything is restored', async () => {
    const r = await restore({ job: { image: 'x', command: [] } } as TenantReindex);
    assert.equal(r.phase, 'Failed');
    assert.equal(r.reason, 'InvalidTenantConfig');
    assert.equal(r.status.operations, undefined, 'no step started');
  });

  it('runs a Job of the project\'s own with the restore\'s targets in its environment', async () => {
    calls.length = 0;
    const r = await restore({ job: {
      image: 'example/liferay-reindex:1', command: ['/bin/bash', '-c'], envFromSecret: 'liferay-admin',
      args: [`curl -g -fsS -X POST -H "Authorization: $LC2_SECRET_authorization" "${endpointUrl}/job/$LC2_PROJECT/$LC2_ENVIRONMENT/$LC2_DATABASE_NAME?prefix=$LC2_DL_PREFIX&raw={projectId}"`],
    } });
    assert.equal(r.phase, 'Succeeded', r.message);
    assert.equal(calls.length, 1);
    // Values reach a Job of one's own only through its environment (a placeholder is left as written).
    assert.match(calls[0]!.url, new RegExp(`^/job/retail/prd/${r.databaseName}\\?prefix=r-[^/]+/document_library&raw=%7BprojectId%7D$|^/job/retail/prd/${r.databaseName}\\?prefix=r-[^/]+/document_library&raw=\\{projectId\\}$`));
    assert.equal(calls[0]!.authorization, 'Bearer s3cr3t-token', 'the Secret\'s keys arrive prefixed LC2_SECRET_');
  });

  it('no reindex configured, or skipReindex: no phase, and the restore says to reindex by hand', async () => {
    calls.length = 0;
    const none = await restore(undefined);
    assert.equal(none.phase, 'Succeeded');
    assert.equal(none.status.operations?.reindex, undefined);
    assert.deepEqual(none.status.reindex, { skipped: 'NotConfigured' });
    assert.match(none.message, /no reindex configured for this project: reindex search after starting Liferay/);
    const skipped = await restore({ http: { url: `${endpointUrl}/never` } }, { skipReindex: true });
    assert.equal(skipped.phase, 'Succeeded');
    assert.deepEqual(skipped.status.reindex, { skipped: 'SkippedByRequest' });
    assert.equal(calls.length, 0);
  });
});
