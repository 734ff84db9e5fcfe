// Per-project storage keys, proved on an S3 server that ENFORCES policies (MinIO; moto accepts any
// key for anything). Two projects, retail and bank, share the backup bucket lc2-backups and each has
// a document-library bucket; each gets a MinIO user whose policy is storagePolicyFor(its
// BackupTenant), made with the same mc commands as docs/deploy.md. With bank's key (what anyone with
// `edit` in bank's namespaces can read from Secret lc2-storage):
//   - every way of listing, reading, writing, copying and deleting retail's objects is AccessDenied,
//     and root's view of every bucket is byte-identical before and after the attempts;
//   - the same operations on bank's own objects succeed;
//   - bank's backup and restore through the real hook and the real Job scripts (rclone, pg_dump)
//     succeed with bank's key in lc2-storage while the hook keeps the root key;
//   - bank's own Jobs, forged to write into or read from retail, fail with AccessDenied and leave
//     retail's objects untouched.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  S3Client, ListObjectsV2Command, ListObjectVersionsCommand, ListMultipartUploadsCommand, ListPartsCommand, GetObjectCommand, HeadObjectCommand,
  PutObjectCommand, CopyObjectCommand, DeleteObjectCommand, DeleteObjectsCommand, CreateMultipartUploadCommand, UploadPartCommand,
  UploadPartCopyCommand, CompleteMultipartUploadCommand, AbortMultipartUploadCommand, ListBucketsCommand, CreateBucketCommand,
} from '@aws-sdk/client-s3';
import { MetacontrollerDriver } from '../support/driver.ts';
import { TestEnv, uniqueName } from '../support/env.ts';
import { runJobToCompletion } from '../support/jobRunner.ts';
import { startMinio, minioMissing, type MinioServer, type StorageKey } from '../support/minio.ts';
import { backupRequest, restoreRequest } from '../support/resources.ts';
import { createSampleDatabase, dropDatabase, localPostgres, sampleDocumentLibrary, tableFingerprint } from '../../demo/sample.ts';
import { PolicyError, storagePolicyFor } from '../../providers/local/storagePolicy.ts';
import { API_VERSION } from '../../hooks/contract/objects.ts';
import type { BackupRequestStatus, BackupTenantSpec } from '../../core/crd.ts';
import type { KubeObject } from '../../core/kube.ts';
import type { Manifest } from '../../hooks/backup/manifest.ts';

const BACKUPS = 'lc2-backups';
const TENANTS: Record<'retail' | 'bank', BackupTenantSpec> = {
  retail: { namespaces: ['proj-retail-prd'], databaseInstances: ['127.0.0.1:5432'], documentLibraryBuckets: ['retail-dl'], backupBuckets: [BACKUPS] },
  bank: { namespaces: ['proj-bank-prd'], databaseInstances: ['127.0.0.1:5432'], documentLibraryBuckets: ['bank-dl'], backupBuckets: [BACKUPS] },
};
const BUCKETS = [BACKUPS, 'retail-dl', 'bank-dl'];
const RETAIL = 'retail/prd/nightly-1a2b3c4d/';
const BANK = 'bank/prd/nightly-5e6f7a8b/';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

type S3Error = Error & { $metadata?: { httpStatusCode?: number } };
async function failure(op: Promise<unknown>): Promise<S3Error | undefined> {
  try { await op; return undefined; } catch (e) { return e as S3Error; }
}
/** The request is refused by policy: AccessDenied (403; a HEAD response has no body, so only its status). */
async function denied(what: string, op: Promise<unknown>): Promise<void> {
  const e = await failure(op);
  assert.ok(e, `${what}: succeeded, must be denied`);
  assert.equal(e.$metadata?.httpStatusCode, 403, `${what}: ${e.name} ${e.message}`);
  if (!what.startsWith('HEAD')) assert.equal(e.name, 'AccessDenied', what);
}

describe('storagePolicyFor', () => {
  it('allows exactly the project\'s prefix of each backup bucket and its document-library buckets', () => {
    const objects = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'];
    assert.deepEqual(storagePolicyFor('retail', { namespaces: ['proj-retail-prd'], backupBuckets: ['lc2-backups', 'lc2-archive', 'lc2-backups'], documentLibraryBuckets: ['retail-prd-dl'] }), {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'ListOwnProjectInBackupBuckets', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: ['arn:aws:s3:::lc2-archive', 'arn:aws:s3:::lc2-backups'],
          Condition: { StringLike: { 's3:prefix': ['retail/', 'retail/*'] } } },
        { Sid: 'ObjectsOfOwnProjectInBackupBuckets', Effect: 'Allow', Action: objects, Resource: ['arn:aws:s3:::lc2-archive/retail/*', 'arn:aws:s3:::lc2-backups/retail/*'] },
        { Sid: 'ListDocumentLibraryBuckets', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: ['arn:aws:s3:::retail-prd-dl'] },
        { Sid: 'ObjectsInDocumentLibraryBuckets', Effect: 'Allow', Action: objects, Resource: ['arn:aws:s3:::retail-prd-dl/*'] },
      ],
    });
  });

  it('narrows shared document-library buckets to documentLibraryPrefixes', () => {
    const policy = storagePolicyFor('retail', { namespaces: ['n'], documentLibraryBuckets: ['shared-dl'], documentLibraryPrefixes: ['retail/dl/'] });
    assert.deepEqual(policy.Statement.map((s) => [s.Resource, s.Condition?.StringLike['s3:prefix']]), [
      [['arn:aws:s3:::shared-dl'], ['retail/dl/', 'retail/dl/*']],
      [['arn:aws:s3:::shared-dl/retail/dl/*'], undefined],
    ]);
  });

  it('refuses whatever could widen the policy, and a tenant with nothing to allow', () => {
    const spec: BackupTenantSpec = { namespaces: ['n'], backupBuckets: ['lc2-backups'] };
    for (const projectId of ['*', 'ret*', 'ret?il', 'retail/..', 'a/b', '${aws:username}', '', 'Retail', 'x'.repeat(41)]) {
      assert.throws(() => storagePolicyFor(projectId, spec), PolicyError, projectId);
    }
    for (const bucket of ['*', 'lc2-*', 'lc2-backups/retail', 'lc2?backups', 'a', 'x..y', '${aws:username}']) {
      assert.throws(() => storagePolicyFor('retail', { ...spec, documentLibraryBuckets: [bucket] }), PolicyError, bucket);
      assert.throws(() => storagePolicyFor('retail', { ...spec, backupBuckets: [bucket] }), PolicyError, bucket);
    }
    for (const prefix of ['*', 'a/*/', 'a?/', '/abs/', 'a/../b/', 'a//', '${aws:username}/', 'no-slash']) {
      assert.throws(() => storagePolicyFor('retail', { ...spec, documentLibraryBuckets: ['dl-bucket'], documentLibraryPrefixes: [prefix] }), PolicyError, prefix);
    }
    assert.throws(() => storagePolicyFor('retail', { namespaces: ['n'] }), /nothing to allow/);
  });
});

const skip = minioMissing();

describe('per-project storage keys on MinIO, which enforces the generated policies', { skip }, () => {
  let minio: MinioServer;
  const env = new TestEnv({ startS3: async () => (minio = await startMinio()) });
  const keys = {} as Record<'retail' | 'bank', StorageKey>;
  let bank: S3Client;
  let root: S3Client;
  let retailUpload: string;
  const dl = sampleDocumentLibrary(24);
  const originals = dl.filter((f) => !f.generated);
  const dbs: string[] = [];

  /** Root's view of every bucket: each object with size, ETag, time and content hash, every multipart upload with its parts. */
  async function snapshot(): Promise<string> {
    const view: unknown[] = [];
    for (const Bucket of BUCKETS) {
      let token: string | undefined;
      do {
        const page = await root.send(new ListObjectsV2Command({ Bucket, ContinuationToken: token }));
        for (const o of page.Contents ?? []) {
          const body = await (await root.send(new GetObjectCommand({ Bucket, Key: o.Key! }))).Body!.transformToByteArray();
          view.push([Bucket, o.Key, o.Size, o.ETag, o.LastModified?.toISOString(), sha256(body)]);
        }
        token = page.NextContinuationToken;
      } while (token);
      for (const u of (await root.send(new ListMultipartUploadsCommand({ Bucket }))).Uploads ?? []) {
        const parts = await root.send(new ListPartsCommand({ Bucket, Key: u.Key!, UploadId: u.UploadId! }));
        view.push([Bucket, 'upload', u.Key, u.UploadId, (parts.Parts ?? []).map((p) => [p.PartNumber, p.ETag, p.Size])]);
      }
    }
    return JSON.stringify(view);
  }

  before(async () => {
    await env.start();
    root = env.s3;
    for (const b of BUCKETS) await env.createBucket(b);
    for (const project of ['retail', 'bank'] as const) keys[project] = await minio.addProjectUser(project, storagePolicyFor(project, TENANTS[project]));
    bank = new S3Client({ endpoint: minio.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: keys.bank });
    await env.upload('bank-dl', dl);
    await env.upload('retail-dl', dl.slice(0, 6));
    for (const [prefix, project] of [[RETAIL, 'retail'], [BANK, 'bank']] as const) {
      await env.upload(BACKUPS, [
        { key: `${prefix}manifest.json`, body: Buffer.from(`{"projectId":"${project}"}`), generated: false },
        { key: `${prefix}database.pgdump.zst`, body: Buffer.from(`${project} customer data`), generated: false },
        { key: `${prefix}dl/20097/20121/30001/1.0`, body: Buffer.from(`${project} document`), generated: false },
      ]);
    }
    // Retail's backup in flight: a multipart upload bank must not see, feed, list or abort.
    retailUpload = (await root.send(new CreateMultipartUploadCommand({ Bucket: BACKUPS, Key: `${RETAIL}database.sql.zst` }))).UploadId!;
    await root.send(new UploadPartCommand({ Bucket: BACKUPS, Key: `${RETAIL}database.sql.zst`, UploadId: retailUpload, PartNumber: 1, Body: Buffer.alloc(5 * 1024 * 1024, 1) }));
  });
  after(async () => {
    await env.stop();
    for (const db of dbs) dropDatabase(localPostgres, db);
  });

  it("bank's key is denied every way into retail's backups and document library; root's view is unchanged", async () => {
    const before = await snapshot();
    const B = BACKUPS;
    const manifest = `${RETAIL}manifest.json`;
    // Listing: retail's prefix, the whole bucket, prefixes that would cover retail, versions, uploads.
    await denied('list retail/', bank.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'retail/' })));
    await denied('list retail backup', bank.send(new ListObjectsV2Command({ Bucket: B, Prefix: RETAIL })));
    await denied('list without prefix', bank.send(new ListObjectsV2Command({ Bucket: B })));
    await denied('list with delimiter', bank.send(new ListObjectsV2Command({ Bucket: B, Delimiter: '/' })));
    await denied('list prefix r', bank.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'r' })));
    await denied('list prefix retail', bank.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'retail' })));
    await denied('list versions', bank.send(new ListObjectVersionsCommand({ Bucket: B, Prefix: 'retail/' })));
    await denied('list multipart uploads', bank.send(new ListMultipartUploadsCommand({ Bucket: B, Prefix: 'retail/' })));
    await denied('list parts of retail upload', bank.send(new ListPartsCommand({ Bucket: B, Key: `${RETAIL}database.sql.zst`, UploadId: retailUpload })));
    // Reading.
    await denied('get manifest', bank.send(new GetObjectCommand({ Bucket: B, Key: manifest })));
    await denied('get dump', bank.send(new GetObjectCommand({ Bucket: B, Key: `${RETAIL}database.pgdump.zst` })));
    await denied('HEAD manifest', bank.send(new HeadObjectCommand({ Bucket: B, Key: manifest })));
    // Writing: overwrite, new object, multipart (new, and into retail's running upload), copies.
    await denied('put over manifest', bank.send(new PutObjectCommand({ Bucket: B, Key: manifest, Body: 'forged' })));
    await denied('put new object', bank.send(new PutObjectCommand({ Bucket: B, Key: `${RETAIL}evil.txt`, Body: 'forged' })));
    await denied('create multipart upload', bank.send(new CreateMultipartUploadCommand({ Bucket: B, Key: `${RETAIL}evil.bin` })));
    await denied('upload part into retail upload', bank.send(new UploadPartCommand({ Bucket: B, Key: `${RETAIL}database.sql.zst`, UploadId: retailUpload, PartNumber: 2, Body: 'forged' })));
    await denied('complete retail upload', bank.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: `${RETAIL}database.sql.zst`, UploadId: retailUpload, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"x"' }] } })));
    await denied('abort retail upload', bank.send(new AbortMultipartUploadCommand({ Bucket: B, Key: `${RETAIL}database.sql.zst`, UploadId: retailUpload })));
    await denied('copy into retail', bank.send(new CopyObjectCommand({ Bucket: B, Key: manifest, CopySource: `${B}/${BANK}manifest.json` })));
    await denied('copy out of retail', bank.send(new CopyObjectCommand({ Bucket: B, Key: `${BANK}stolen.json`, CopySource: `${B}/${manifest}` })));
    const own = (await bank.send(new CreateMultipartUploadCommand({ Bucket: B, Key: `${BANK}stolen.bin` }))).UploadId!;
    await denied('part copy out of retail', bank.send(new UploadPartCopyCommand({ Bucket: B, Key: `${BANK}stolen.bin`, UploadId: own, PartNumber: 1, CopySource: `${B}/${RETAIL}database.pgdump.zst` })));
    await bank.send(new AbortMultipartUploadCommand({ Bucket: B, Key: `${BANK}stolen.bin`, UploadId: own }));
    // Deleting: one object, and a batch (S3 answers a batch with 200 and per-key errors).
    await denied('delete manifest', bank.send(new DeleteObjectCommand({ Bucket: B, Key: manifest })));
    const batch = await bank.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: manifest }, { Key: `${RETAIL}database.pgdump.zst` }] } }));
    assert.deepEqual(batch.Deleted ?? [], []);
    assert.deepEqual((batch.Errors ?? []).map((e) => e.Code), ['AccessDenied', 'AccessDenied']);
    // Retail's document-library bucket: nothing at all.
    const doc = dl[0]!.key;
    await denied('list retail-dl', bank.send(new ListObjectsV2Command({ Bucket: 'retail-dl' })));
    await denied('list retail-dl prefix', bank.send(new ListObjectsV2Command({ Bucket: 'retail-dl', Prefix: 'document_library/' })));
    await denied('get retail-dl object', bank.send(new GetObjectCommand({ Bucket: 'retail-dl', Key: doc })));
    await denied('put retail-dl object', bank.send(new PutObjectCommand({ Bucket: 'retail-dl', Key: doc, Body: 'forged' })));
    await denied('delete retail-dl object', bank.send(new DeleteObjectCommand({ Bucket: 'retail-dl', Key: doc })));
    await denied('copy out of retail-dl', bank.send(new CopyObjectCommand({ Bucket: 'bank-dl', Key: 'stolen/doc', CopySource: `retail-dl/${doc}` })));
    // Buckets themselves: no creating, and retail's buckets are not even named to bank.
    await denied('create bucket', bank.send(new CreateBucketCommand({ Bucket: 'bank-extra' })));
    const listed = (await bank.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name) ?? [];
    assert.ok(!listed.includes('retail-dl'), `bank sees ${listed.join(', ')}`);
    // Path tricks never reach retail's objects (MinIO rejects '..' before any policy check).
    for (const Key of [`${BANK}../../../${manifest}`, `bank/../${manifest}`]) {
      const e = await failure(bank.send(new GetObjectCommand({ Bucket: B, Key })));
      assert.ok(e && [400, 403].includes(e.$metadata?.httpStatusCode ?? 0), `GET ${Key}: ${e ? e.name : 'succeeded'}`);
    }
    const e = await failure(bank.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'bank/../retail/' })));
    assert.ok(e && [400, 403].includes(e.$metadata?.httpStatusCode ?? 0), `list bank/../retail/: ${e ? e.name : 'succeeded'}`);

    assert.equal(await snapshot(), before, "root's listing and every object's bytes are unchanged");
  });

  it("bank's key does all of that on bank's own objects", async () => {
    const B = BACKUPS;
    const listed = (await bank.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'bank/' }))).Contents?.map((o) => o.Key) ?? [];
    assert.deepEqual(listed.sort(), [`${BANK}database.pgdump.zst`, `${BANK}dl/20097/20121/30001/1.0`, `${BANK}manifest.json`]);
    await bank.send(new ListObjectsV2Command({ Bucket: B, Prefix: BANK, Delimiter: '/' }));
    const body = await (await bank.send(new GetObjectCommand({ Bucket: B, Key: `${BANK}manifest.json` }))).Body!.transformToString();
    assert.equal(body, '{"projectId":"bank"}');
    await bank.send(new HeadObjectCommand({ Bucket: B, Key: `${BANK}manifest.json` }));
    await bank.send(new PutObjectCommand({ Bucket: B, Key: `${BANK}new.txt`, Body: 'new' }));
    const Key = `${BANK}multipart.bin`;
    const part1 = Buffer.alloc(5 * 1024 * 1024, 7);
    const UploadId = (await bank.send(new CreateMultipartUploadCommand({ Bucket: B, Key }))).UploadId!;
    const p1 = await bank.send(new UploadPartCommand({ Bucket: B, Key, UploadId, PartNumber: 1, Body: part1 }));
    const p2 = await bank.send(new UploadPartCopyCommand({ Bucket: B, Key, UploadId, PartNumber: 2, CopySource: `${B}/${BANK}new.txt` }));
    assert.equal((await bank.send(new ListPartsCommand({ Bucket: B, Key, UploadId }))).Parts?.length, 2);
    await bank.send(new CompleteMultipartUploadCommand({ Bucket: B, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag! }, { PartNumber: 2, ETag: p2.CopyPartResult!.ETag! }] } }));
    const got = await (await bank.send(new GetObjectCommand({ Bucket: B, Key }))).Body!.transformToByteArray();
    assert.equal(sha256(got), sha256(Buffer.concat([part1, Buffer.from('new')])));
    const aborted = (await bank.send(new CreateMultipartUploadCommand({ Bucket: B, Key: `${BANK}aborted.bin` }))).UploadId!;
    await bank.send(new AbortMultipartUploadCommand({ Bucket: B, Key: `${BANK}aborted.bin`, UploadId: aborted }));
    await bank.send(new CopyObjectCommand({ Bucket: B, Key: `${BANK}copy.txt`, CopySource: `${B}/${BANK}new.txt` }));
    await bank.send(new DeleteObjectCommand({ Bucket: B, Key: `${BANK}copy.txt` }));
    const batch = await bank.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: `${BANK}new.txt` }, { Key }] } }));
    assert.deepEqual(batch.Errors ?? [], []);
    assert.deepEqual(((await bank.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'bank/' }))).Contents ?? []).length, 3);
    // Its document-library bucket: list, read, write (restores), delete.
    assert.equal((await bank.send(new ListObjectsV2Command({ Bucket: 'bank-dl' }))).KeyCount, dl.length);
    await bank.send(new GetObjectCommand({ Bucket: 'bank-dl', Key: dl[0]!.key }));
    await bank.send(new PutObjectCommand({ Bucket: 'bank-dl', Key: 'scratch/x', Body: 'x' }));
    await bank.send(new CopyObjectCommand({ Bucket: 'bank-dl', Key: 'scratch/y', CopySource: `bank-dl/${dl[0]!.key}` }));
    await bank.send(new DeleteObjectsCommand({ Bucket: 'bank-dl', Delete: { Objects: [{ Key: 'scratch/x' }, { Key: 'scratch/y' }] } }));
  });

  it("retail's key, the other way round, reaches its own objects and nothing of bank's", async () => {
    const retail = new S3Client({ endpoint: minio.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: keys.retail });
    assert.equal(await (await retail.send(new GetObjectCommand({ Bucket: BACKUPS, Key: `${RETAIL}manifest.json` }))).Body!.transformToString(), '{"projectId":"retail"}');
    assert.equal((await retail.send(new ListObjectsV2Command({ Bucket: 'retail-dl' }))).KeyCount, 6);
    await denied('retail lists bank/', retail.send(new ListObjectsV2Command({ Bucket: BACKUPS, Prefix: 'bank/' })));
    await denied('retail gets bank manifest', retail.send(new GetObjectCommand({ Bucket: BACKUPS, Key: `${BANK}manifest.json` })));
    await denied('retail gets from bank-dl', retail.send(new GetObjectCommand({ Bucket: 'bank-dl', Key: dl[0]!.key })));
  });

  let backup: MetacontrollerDriver;
  const source = uniqueName('lc2_bank');
  const restored = uniqueName('lc2_bank_restored');
  dbs.push(source, restored);
  const inBank = <T extends KubeObject>(o: T): T => ({ ...o, metadata: { ...o.metadata, namespace: 'proj-bank-prd' } });
  const database = (databaseName: string) => ({ instanceId: '127.0.0.1:5432', databaseName, credentialsSecretRef: { name: 'db-credentials' } });

  it("bank's backup and restore through the hook succeed with bank's key in lc2-storage (the hook keeps the root key)", async () => {
    createSampleDatabase(localPostgres, source, 50);
    const secrets = env.secrets(localPostgres, keys.bank);
    assert.notEqual(secrets['lc2-storage']!.accessKeyId, env.s3server.accessKeyId);
    backup = new MetacontrollerDriver(inBank(backupRequest('bank-nightly', {
      projectId: 'bank', database: { engine: 'postgresql', type: 'dump', ...database(source) },
      documentLibrary: { sourceBucket: 'bank-dl', sourcePrefix: 'document_library/', destinationBucket: BACKUPS, excludeGeneratedFiles: true },
    })), { hookUrl: env.hookUrl, syncPath: '/backuprequest/sync', secrets });
    const logs = (d: MetacontrollerDriver) => d.jobRuns.map((r) => `${r.job} exit ${r.exitCode}:\n${r.stderr.slice(-1500)}`).join('\n');
    assert.equal(await backup.runToCompletion(), 'Succeeded', `${JSON.stringify(backup.status)}\n${logs(backup)}`);
    assert.deepEqual(backup.jobRuns.map((r) => r.exitCode), [0, 0], logs(backup));
    const status = backup.status as BackupRequestStatus;
    assert.ok(status.manifest!.key.startsWith(`bank/prd/${status.backupId}/`));
    const manifest = JSON.parse((await env.read(BACKUPS, status.manifest!.key)).toString()) as Manifest;
    assert.equal(sha256(await env.read(BACKUPS, manifest.database.artifact!)), manifest.database.sha256);
    assert.equal((await env.keys(BACKUPS, manifest.documentLibrary.prefix)).length, originals.length);

    const restore = new MetacontrollerDriver(inBank(restoreRequest('bank-restore', {
      projectId: 'bank', source: { backupRef: { name: 'bank-nightly' } }, database: database(restored),
      documentLibrary: { destinationBucket: 'bank-dl', destinationPrefix: 'restored/document_library' },
    })), {
      hookUrl: env.hookUrl, syncPath: '/restorerequest/sync', secrets,
      related: () => ({ [`BackupRequest.${API_VERSION}`]: { 'proj-bank-prd/bank-nightly': backup.parent } }),
    });
    assert.equal(await restore.runToCompletion(), 'Succeeded', `${JSON.stringify(restore.status)}\n${logs(restore)}`);
    assert.deepEqual(tableFingerprint(localPostgres, restored), tableFingerprint(localPostgres, source));
    assert.deepEqual(await env.keys('bank-dl', 'restored/'), originals.map((f) => `restored/${f.key}`).sort());
  });

  it("bank's Jobs forged to write into or read from retail fail with AccessDenied and change nothing", async () => {
    const jobs = [...backup.children.values()];
    const exportJob = jobs.find((j) => j.metadata.labels?.['app.kubernetes.io/component'] === 'export');
    const copyJob = jobs.find((j) => j.metadata.labels?.['app.kubernetes.io/component'] === 'transfer');
    assert.ok(exportJob && copyJob, `the backup's Jobs: ${jobs.map((j) => j.metadata.labels?.['app.kubernetes.io/component']).join(', ')}`);
    const forged = (job: KubeObject, vars: Record<string, string>): KubeObject => {
      const copy = structuredClone(job);
      delete copy.status;
      const container = (copy.spec as { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } }).template.spec.containers[0]!;
      for (const [name, value] of Object.entries(vars)) {
        const entry = container.env.find((e) => e.name === name);
        assert.ok(entry, `${job.metadata.name} has ${name}`);
        entry.value = value;
      }
      return copy;
    };
    const attempts: Array<[string, KubeObject]> = [
      ['dump over retail\'s backup', forged(exportJob, { LC2_ARTIFACT: `${BACKUPS}/${RETAIL}database.pgdump.zst`, LC2_ARTIFACT_KEY: `${RETAIL}database.pgdump.zst`, LC2_RESULT: `${BACKUPS}/${RETAIL}results/export.json` })],
      ['copy into retail\'s backup', forged(copyJob, { LC2_DL_DEST: `${BACKUPS}/${RETAIL}dl/`, LC2_RESULT: `${BACKUPS}/${RETAIL}results/transfer.json` })],
      ['copy into retail\'s document library', forged(copyJob, { LC2_DL_DEST: 'retail-dl/document_library/', LC2_RESULT: `${BACKUPS}/${BANK}results/forged.json` })],
      ['copy retail\'s document library out', forged(copyJob, { LC2_DL_SOURCE: 'retail-dl/document_library/', LC2_DL_DEST: `${BACKUPS}/${BANK}stolen/`, LC2_RESULT: `${BACKUPS}/${BANK}results/stolen.json` })],
      ['copy retail\'s backup out', forged(copyJob, { LC2_DL_SOURCE: `${BACKUPS}/${RETAIL}dl/`, LC2_DL_DEST: `${BACKUPS}/${BANK}stolen/`, LC2_RESULT: `${BACKUPS}/${BANK}results/stolen.json` })],
    ];
    const before = await snapshot();
    for (const [what, job] of attempts) {
      const outcome = await runJobToCompletion(job, env.secrets(localPostgres, keys.bank));
      const last = outcome.runs.at(-1)!;
      assert.notEqual(last.exitCode, 0, `${what}: the Job succeeded`);
      assert.match(last.stderr, /AccessDenied/, `${what}: ${last.stderr.slice(-600)}`);
    }
    assert.equal(await snapshot(), before, "root's listing and every object's bytes are unchanged");
  });
});
