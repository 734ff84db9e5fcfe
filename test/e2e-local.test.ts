// End to end on real parts: the hook server, a driver playing Metacontroller, each Job's real
// command (pg_dump / mariadb-dump / rclone / zstd) against the machine's PostgreSQL and MariaDB and
// a moto S3 server. Assertions are on the data itself.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { MetacontrollerDriver } from './support/driver.ts';
import { TestEnv, uniqueName } from './support/env.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';
import { createSampleDatabase, dropDatabase, localMariadb, localPostgres, sampleDocumentLibrary, sql, tableFingerprint, type DbTarget } from '../demo/sample.ts';
import { schemaErrors } from '../core/validation/jsonSchemas.ts';
import { API_VERSION } from '../hooks/contract/objects.ts';
import type { BackupRequestStatus, RestoreRequestStatus } from '../core/crd.ts';
import type { Manifest } from '../hooks/backup/manifest.ts';
import { verifyBackup } from '../hooks/archive/verify.ts';
import type { KubeObject } from '../core/kube.ts';

const env = new TestEnv();
const files = sampleDocumentLibrary(60);
const originals = files.filter((f) => !f.generated);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const dbs: Array<[DbTarget, string]> = [];

before(async () => {
  await env.start();
  for (const b of ['liferay-dl', 'lc2-backups', 'restored-dl']) await env.createBucket(b);
  await env.upload('liferay-dl', files);
});
after(async () => {
  await env.stop();
  for (const [t, n] of dbs) dropDatabase(t, n);
});

for (const target of [localPostgres, localMariadb]) {
  describe(`local provider, ${target.engine}`, () => {
    const source = uniqueName('lc2_src');
    const restored = uniqueName('lc2_restored');
    dbs.push([target, source], [target, restored]);
    const br = backupRequest(`nightly-${target.engine}`, {
      database: { engine: target.engine, type: 'dump', instanceId: `${target.host}:${target.port}`, databaseName: source, credentialsSecretRef: { name: 'db-credentials' } },
    });
    let backup: MetacontrollerDriver;
    const restoreDriver = (name: string, spec: Record<string, unknown>, hookVersion: 'v1' | 'v2' = 'v2') => new MetacontrollerDriver(
      restoreRequest(name, {
        source: { backupRef: { name: br.metadata.name } },
        database: { instanceId: `${target.host}:${target.port}`, databaseName: restored, credentialsSecretRef: { name: 'db-credentials' } },
        ...spec,
      }),
      {
        hookUrl: env.hookUrl, syncPath: '/restorerequest/sync', secrets: env.secrets(target), hookVersion,
        // Metacontroller keys related objects like children: namespace/name in v2, name in v1.
        related: () => ({ [`BackupRequest.${API_VERSION}`]: { [hookVersion === 'v2' ? `proj-retail-prd/${br.metadata.name}` : br.metadata.name]: backup.parent } }),
      },
    );

    it('backs up to Succeeded with the dump, exactly the original files and a valid manifest', async () => {
      createSampleDatabase(target, source, 500);
      backup = new MetacontrollerDriver(br, { hookUrl: env.hookUrl, syncPath: '/backuprequest/sync', secrets: env.secrets(target) });
      assert.equal(await backup.runToCompletion(), 'Succeeded', JSON.stringify(backup.status));
      const status = backup.status as BackupRequestStatus;
      assert.deepEqual(backup.jobRuns.map((r) => r.exitCode), [0, 0]);

      const manifest = JSON.parse((await env.read('lc2-backups', status.manifest!.key)).toString()) as Manifest;
      assert.deepEqual(schemaErrors('manifest', manifest), []);
      assert.equal(manifest.projectId, 'retail');
      assert.equal(manifest.initiator, 'alice@example.com');
      assert.ok(status.manifest!.key.startsWith(`retail/prd/${status.backupId}/`));

      const artifact = await env.read('lc2-backups', manifest.database.artifact!);
      assert.equal(artifact.length, manifest.database.sizeBytes);
      assert.equal(sha256(artifact), manifest.database.sha256);

      const dlKeys = await env.keys('lc2-backups', manifest.documentLibrary.prefix);
      const expected = originals.map((f) => `${manifest.documentLibrary.prefix}${f.key.slice('document_library/'.length)}`).sort();
      assert.deepEqual(dlKeys, expected, 'the copy holds exactly the original (non-generated) files');
      for (const f of originals) {
        const copy = await env.read('lc2-backups', `${manifest.documentLibrary.prefix}${f.key.slice('document_library/'.length)}`);
        assert.ok(copy.equals(f.body), `${f.key} is byte-identical`);
      }
      assert.equal(manifest.documentLibrary.objectCount, originals.length);
      assert.equal(manifest.documentLibrary.totalBytes, originals.reduce((n, f) => n + f.body.length, 0));
      assert.ok(manifest.documentLibrary.excludedPatterns.includes('0/document_preview/**'));
    });

    it('restores into a NEW database and prefix with identical rows and files', async () => {
      const restore = restoreDriver(`restore-${target.engine}`, { documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: `${target.engine}/document_library` } });
      assert.equal(await restore.runToCompletion(), 'Succeeded', JSON.stringify(restore.status));
      assert.deepEqual(tableFingerprint(target, restored), tableFingerprint(target, source));
      const status = restore.status as RestoreRequestStatus;
      assert.equal(status.database?.verifiedSha256, (backup.status as BackupRequestStatus).database?.sha256);
      const keys = await env.keys('restored-dl', `${target.engine}/document_library/`);
      assert.deepEqual(keys, originals.map((f) => `${target.engine}/${f.key}`).sort());
      for (const f of originals.slice(0, 10)) assert.ok((await env.read('restored-dl', `${target.engine}/${f.key}`)).equals(f.body));
    });

    it('refuses to restore over the now non-empty database, and leaves it untouched', async () => {
      assertRestored(target, restored);
      const before = tableFingerprint(target, restored);
      const restore = restoreDriver(`restore-again-${target.engine}`, { documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: `${target.engine}-again/document_library` } }, 'v1');
      assert.equal(await restore.runToCompletion(), 'Failed');
      const ready = (restore.status as RestoreRequestStatus).conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.reason, 'TargetNotEmpty');
      assert.match(ready?.message ?? '', new RegExp(`database ${restored} .* already has \\d+ tables; .*approveOverwrite`));
      assert.equal(restore.jobRuns.length, 1, 'a refusal is not retried');
      assert.deepEqual(tableFingerprint(target, restored), before);
      assert.deepEqual(await env.keys('restored-dl', `${target.engine}-again/`), [], 'no document-library step after the refusal');
    });

    it('refuses a non-empty document-library target before the database Job creates anything', async () => {
      const fresh = uniqueName('lc2_never');
      const restore = restoreDriver(`restore-dl-taken-${target.engine}`, {
        database: { instanceId: `${target.host}:${target.port}`, databaseName: fresh, credentialsSecretRef: { name: 'db-credentials' } },
        documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: `${target.engine}/document_library` },
      });
      assert.equal(await restore.runToCompletion(), 'Failed');
      const ready = (restore.status as RestoreRequestStatus).conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.reason, 'TargetNotEmpty');
      assert.equal(restore.jobRuns.length, 0, 'no Job ran: nothing was created');
      assert.equal((restore.status as RestoreRequestStatus).operations?.database, undefined);
    });

    it('with spec.approveOverwrite: true, restores over the existing database', async () => {
      sql(target, restored, 'delete from DLFileVersion where fileVersionId > 250');
      assert.notDeepEqual(tableFingerprint(target, restored), tableFingerprint(target, source));
      const restore = restoreDriver(`restore-approved-${target.engine}`, { approveOverwrite: true, documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: `${target.engine}/document_library` } });
      assert.equal(await restore.runToCompletion(), 'Succeeded', JSON.stringify(restore.status));
      assert.deepEqual(tableFingerprint(target, restored), tableFingerprint(target, source));
      // MySQL is not one transaction: an existing database is changed only by a dump hashed whole first.
      const log = restore.jobRuns.find((r) => r.job.includes('-rdb-'))?.stderr ?? '';
      assert.match(log, /reading the chunk list/);
      if (target.engine === 'mysql') assert.match(log, /verifying sha256 of/);
      else assert.doesNotMatch(log, /verifying sha256 of/, 'PostgreSQL rolls a stopped restore back: one read');
    });
  });
}

// The refusal test starts from a restored, non-empty database.
function assertRestored(target: DbTarget, db: string): void { assert.ok(tableFingerprint(target, db).DLFileEntry!.startsWith('500:')); }

describe('exactly once under repeated syncs and hook restarts', () => {
  it('runs each Job once and writes the manifest once with 5 syncs per step and a restart before each', async () => {
    const source = uniqueName('lc2_once');
    dbs.push([localPostgres, source]);
    createSampleDatabase(localPostgres, source, 50);
    const br = backupRequest('once', { database: { engine: 'postgresql', type: 'dump', instanceId: '127.0.0.1:5432', databaseName: source, credentialsSecretRef: { name: 'db-credentials' } } });
    const driver = new MetacontrollerDriver(br, { hookUrl: env.hookUrl, syncPath: '/backuprequest/sync', secrets: env.secrets(localPostgres) });
    const starts = env.hookStarts;
    assert.equal(await driver.runToCompletion({ syncsPerStep: 5, beforeSync: () => env.restartHook() }), 'Succeeded');
    assert.ok(env.hookStarts - starts >= 15, 'the hook server was restarted before every sync');
    const runs = new Map<string, number>();
    for (const r of driver.jobRuns) runs.set(r.job, (runs.get(r.job) ?? 0) + 1);
    assert.deepEqual([...runs.values()], [1, 1], `each Job ran once: ${JSON.stringify([...runs])}`);
    const status = driver.status as BackupRequestStatus;
    assert.equal(env.store.puts.get(`lc2-backups/${status.manifest!.key}`), 1, 'manifest written once');
    const settled = JSON.stringify(driver.status);
    await driver.sync();
    assert.equal(JSON.stringify(driver.status), JSON.stringify({ ...JSON.parse(settled) }), 'a terminal backup is a fixed point');
    assert.equal(driver.children.size, 2, 'finished Jobs are kept, not deleted');
  });
});

// A forged dump that is a well-formed archive: pg_restore alone would load it without complaint, and
// it commits as soon as it has read the archive's last entry, whatever follows in the stream. So no
// streaming trick (holding back the stream's tail until its hash is known) can keep it out: bytes
// appended after the archive move its end out of any held-back tail. The dump's SHA-256 is checked
// over the whole artifact before pg_restore runs (docs/decisions.md: "Restores hash the whole dump").
describe('a restore passes on only verified chunks of the dump: nothing forged, cut or extended ever runs', () => {
  // Chunks of 1 MiB: the dump below is several chunks, so a bad chunk comes after good ones were passed on.
  before(async () => { env.local.chunkBytes = 1048576; await env.restartHook(); });
  after(async () => { delete env.local.chunkBytes; await env.restartHook(); });

  it('a well-formed forged dump of several MiB (same length, padded, one chunk changed, cut, extended, with a matching list) is never applied; the genuine one restores in one read', async () => {
    const source = uniqueName('lc2_big');
    const restored = uniqueName('lc2_big_dst');
    dbs.push([localPostgres, source], [localPostgres, restored]);
    createSampleDatabase(localPostgres, source, 20_000, 256, 'varied');
    // A dump this size is a multipart upload; after one, moto answers rclone's check (HEAD
    // ?versionId=null) with 400 unless the bucket is versioned. Real S3 and MinIO do not.
    await env.s3.send(new PutBucketVersioningCommand({ Bucket: 'lc2-backups', VersioningConfiguration: { Status: 'Enabled' } }));
    const br = backupRequest('big', { database: { engine: 'postgresql', type: 'dump', instanceId: '127.0.0.1:5432', databaseName: source, credentialsSecretRef: { name: 'db-credentials' } } });
    const backup = new MetacontrollerDriver(br, { hookUrl: env.hookUrl, syncPath: '/backuprequest/sync', secrets: env.secrets(localPostgres) });
    assert.equal(await backup.runToCompletion(), 'Succeeded', backup.jobRuns.map((r) => r.stderr).join('\n'));
    const recorded = (backup.status as BackupRequestStatus).database!;
    const key = recorded.artifact!;
    const genuine = await env.read('lc2-backups', key);
    assert.ok(genuine.length > 2 * 1048576, `the artifact (${genuine.length} bytes) is several chunks`);
    // The chunk list: one SHA-256 per MiB of the stored bytes, recorded with its own checksum.
    const list = (await env.read('lc2-backups', `${key}.chunks`)).toString();
    const lines = list.trim().split('\n');
    assert.equal(recorded.chunks?.count, Math.ceil(genuine.length / 1048576));
    assert.deepEqual(lines, Array.from({ length: lines.length }, (_, i) => sha256(genuine.subarray(i * 1048576, (i + 1) * 1048576))));
    assert.equal(lines.length, recorded.chunks.count);
    assert.equal(recorded.chunks.sha256, sha256(Buffer.from(list)));

    // The result object is tenant-writable: the hook records a chunk list only as the objects show it.
    const { observeBackupStep } = await import('../providers/local/backup.ts');
    const location = { bucket: 'lc2-backups', prefix: 'retail/prd/chunks-forged-1/' };
    const art = `${location.prefix}database.pgdump.zst`;
    const put = (k: string, body: Buffer | string) => env.s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: k, Body: body }));
    await put(art, genuine);
    const claim = async (chunks: object, sizeBytes = genuine.length) => {
      await put(`${location.prefix}results/export.json`, JSON.stringify({ version: 1, step: 'export', status: 'succeeded', startedAt: '2026-11-30T00:00:00Z', completedAt: '2026-11-30T00:00:01Z', artifact: art, sizeBytes, sha256: sha256(genuine), tool: 'pg_dump', chunks }));
      const job: KubeObject = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'forged-db' }, status: { conditions: [{ type: 'Complete', status: 'True' }] } };
      const obs = await observeBackupStep('export', { name: 'forged', uid: 'u', spec: br.spec!, location }, job, env.store);
      return obs.state === 'failed' ? obs.message : obs.state;
    };
    await put(`${art}.chunks`, list);
    assert.equal(await claim(recorded.chunks), 'done');
    assert.match(await claim({ ...recorded.chunks, count: recorded.chunks.count + 1 }), /reports \d+ chunks of 1048576 bytes; a \d+-byte dump has \d+/);
    assert.match(await claim(recorded.chunks, genuine.length + 1), /the artifact .* has \d+/, 'the size is the object\'s');
    assert.match(await claim({ ...recorded.chunks, sha256: 'a'.repeat(64) }), /is not the one the dump Job reported/);
    await put(`${art}.chunks`, list + list);
    assert.match(await claim(recorded.chunks), /is longer than \d+ lines/, 'read with a bound');
    await put(`${art}.chunks`, list.slice(0, -65));
    assert.match(await claim(recorded.chunks), /is not the one the dump Job reported/);
    // pg_dump runs with --compress=0: the rows are plain text inside the archive. A same-length
    // change keeps every block length right, so pg_restore alone would load it without complaint.
    const archive = execFileSync('zstd', ['-q', '-d', '-c'], { input: genuine, maxBuffer: 1 << 30 });
    const at = archive.indexOf('\tDocument 1\t');
    assert.ok(at > 0);
    archive.write('\tFORGERY! 1\t', at);
    const forgedDump = execFileSync('zstd', ['-q', '-3', '-c'], { input: archive, maxBuffer: 1 << 30 });
    const restore = (name: string) => new MetacontrollerDriver(
      restoreRequest(name, {
        source: { backupRef: { name: br.metadata.name } },
        database: { instanceId: '127.0.0.1:5432', databaseName: restored, credentialsSecretRef: { name: 'db-credentials' } },
        documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: `${name}/document_library` },
      }),
      { hookUrl: env.hookUrl, syncPath: '/restorerequest/sync', secrets: env.secrets(localPostgres), related: () => ({ [`BackupRequest.${API_VERSION}`]: { [`proj-retail-prd/${br.metadata.name}`]: backup.parent } }) },
    );
    // An existing empty database (no overwrite needed, and not the Job's to drop): after a refusal it
    // must still be empty.
    sql(localPostgres, 'postgres', `create database ${restored}`);
    const padding = Buffer.alloc(3 * 1048576, 7);
    // The genuine dump with one byte changed in its last chunk: every chunk before it is passed on
    // (pg_restore has begun), then the stream stops.
    const lastChunkChanged = Buffer.from(genuine);
    lastChunkChanged[genuine.length - 2] = lastChunkChanged[genuine.length - 2]! ^ 0xff;
    const aligned = genuine.subarray(0, Math.floor(genuine.length / 1048576) * 1048576);
    const forgeries: Array<[string, Buffer, RegExp]> = [
      ['big-forged', forgedDump, /chunk 1 of the artifact differs from its list/],
      ['big-forged-padded', Buffer.concat([forgedDump, padding]), /chunk 1 of the artifact differs/],
      ['big-last-chunk', lastChunkChanged, new RegExp(`chunk ${lines.length} of the artifact differs`)],
      ['big-cut-short', genuine.subarray(0, genuine.length - 1), new RegExp(`chunk ${lines.length} of the artifact differs`)],
      ['big-cut-at-a-chunk', aligned, new RegExp(`ends after ${lines.length - 1} of its ${lines.length} chunks`)],
      ['big-padded', Buffer.concat([genuine, padding]), new RegExp(`chunk ${lines.length} of the artifact differs`)],
    ];
    // Refused at once (not retried) for the reason given, and nothing of the stream applied.
    const refusedWhole = async (r: MetacontrollerDriver, name: string, why: RegExp) => {
      assert.equal(await r.runToCompletion(), 'Failed');
      const ready = (r.status as RestoreRequestStatus).conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.reason, 'ChecksumMismatch', ready?.message);
      assert.match(ready?.message ?? '', why);
      assert.deepEqual(r.jobRuns.map((j) => j.exitCode), [3], 'refused at once, not retried');
      assert.equal(sql(localPostgres, restored, `select count(*) from pg_tables where schemaname = 'public'`), '0', `${name}: nothing of it was applied`);
    };
    for (const [name, body, why] of forgeries) {
      await env.s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: key, Body: body }));
      await refusedWhole(restore(name), name, why);
    }
    // A manifest read by its key (no BackupRequest status to compare with) may carry a list made for a
    // forged dump: every chunk matches, and the whole stream's SHA-256 stops it before its last chunk.
    const manifestKey = (backup.status as BackupRequestStatus).manifest!.key;
    const manifestBody = await env.read('lc2-backups', manifestKey);
    const byKey = (name: string) => new MetacontrollerDriver(
      restoreRequest(name, {
        source: { manifest: { bucket: 'lc2-backups', key: manifestKey } },
        database: { instanceId: '127.0.0.1:5432', databaseName: restored, credentialsSecretRef: { name: 'db-credentials' } },
        documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: `${name}/document_library` },
      }),
      { hookUrl: env.hookUrl, syncPath: '/restorerequest/sync', secrets: env.secrets(localPostgres) },
    );
    const listOf = (b: Buffer, n = Math.ceil(b.length / 1048576)) => Array.from({ length: n }, (_, i) => `${sha256(b.subarray(i * 1048576, (i + 1) * 1048576))}\n`).join('');
    const withChunks = async (l: string) => {
      const m = JSON.parse(manifestBody.toString()) as Manifest;
      m.database.chunks = { bytes: 1048576, count: l.split('\n').length - 1, sha256: sha256(Buffer.from(l)) };
      await env.s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: manifestKey, Body: JSON.stringify(m) }));
      await env.s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: `${key}.chunks`, Body: l }));
    };
    const twoChunks = genuine.subarray(0, 2 * 1048576);
    for (const [name, body, l, why] of [
      ['big-matching-list', forgedDump, listOf(forgedDump), /the artifact's sha256 is .*, the manifest says .* \(every chunk matched its list\)/],
      // A list of one chunk for a stream of two: the "more chunks than listed" stop.
      ['big-one-listed', twoChunks, listOf(twoChunks, 1), /the artifact has more than the 1 chunks its list names/],
    ] as const) {
      await withChunks(l);
      await env.s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: key, Body: body }));
      await refusedWhole(byKey(name), name, why);
    }
    await env.s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: manifestKey, Body: manifestBody }));
    // By reference, a manifest whose chunk record differs from the one the backup's status holds is not followed.
    await withChunks(listOf(forgedDump));
    const byRef = restore('big-other-list');
    assert.equal(await byRef.runToCompletion(), 'Failed');
    assert.equal((byRef.status as RestoreRequestStatus).conditions?.find((c) => c.type === 'Ready')?.reason, 'ManifestUntrusted');
    assert.equal(byRef.jobRuns.length, 0, 'no Job ran');
    await env.s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: manifestKey, Body: manifestBody }));

    // A writer who replaces the dump AND its chunk list (consistently) is stopped by the list's recorded checksum.
    const forgedList = Array.from({ length: Math.ceil(forgedDump.length / 1048576) }, (_, i) => `${sha256(forgedDump.subarray(i * 1048576, (i + 1) * 1048576))}\n`).join('');
    await env.s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: key, Body: forgedDump }));
    await env.s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: `${key}.chunks`, Body: forgedList }));
    const verified = await verifyBackup(env.store, 'lc2-backups', (backup.status as BackupRequestStatus).manifest!.key);
    assert.equal(verified.checks.find((c) => c.check === 'database chunk list')?.ok, false, '`lc2-backup verify` sees the swapped list');
    const swapped = restore('big-swapped-list');
    assert.equal(await swapped.runToCompletion(), 'Failed');
    assert.match((swapped.status as RestoreRequestStatus).conditions?.find((c) => c.type === 'Ready')?.message ?? '', /the chunk list .* has sha256 .*, the manifest says/);
    assert.equal(sql(localPostgres, restored, `select count(*) from pg_tables where schemaname = 'public'`), '0');
    await env.s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: `${key}.chunks`, Body: list }));
    await env.s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: key, Body: genuine }));
    assert.deepEqual((await verifyBackup(env.store, 'lc2-backups', (backup.status as BackupRequestStatus).manifest!.key)).checks.filter((c) => !c.ok), [], 'the genuine backup verifies whole');

    const real = restore('big-genuine');
    assert.equal(await real.runToCompletion(), 'Succeeded', JSON.stringify(real.status));
    assert.deepEqual(tableFingerprint(localPostgres, restored), tableFingerprint(localPostgres, source));
    assert.equal((real.status as RestoreRequestStatus).database?.verifiedSha256, recorded.sha256, 'the whole stream hashed on the way');
    const dbJob = real.jobRuns.find((r) => r.job.includes('-rdb-'));
    assert.match(dbJob?.stderr ?? '', /reading the chunk list/, 'read once, chunk by chunk');
    assert.doesNotMatch(dbJob?.stderr ?? '', /verifying sha256 of/, 'no second read');

    // A backup made before chunk lists (none in its manifest or status) is read twice: whole hash, then restore.
    const manifest = JSON.parse((await env.read('lc2-backups', manifestKey)).toString()) as Manifest;
    delete manifest.database.chunks;
    await env.s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: manifestKey, Body: JSON.stringify(manifest) }));
    delete (backup.parent.status as BackupRequestStatus).database!.chunks;
    const older = uniqueName('lc2_big_old');
    dbs.push([localPostgres, older]);
    const old = new MetacontrollerDriver(
      restoreRequest('big-unchunked', {
        source: { backupRef: { name: br.metadata.name } },
        database: { instanceId: '127.0.0.1:5432', databaseName: older, credentialsSecretRef: { name: 'db-credentials' } },
        documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: 'big-unchunked/document_library' },
      }),
      { hookUrl: env.hookUrl, syncPath: '/restorerequest/sync', secrets: env.secrets(localPostgres), related: () => ({ [`BackupRequest.${API_VERSION}`]: { [`proj-retail-prd/${br.metadata.name}`]: backup.parent } }) },
    );
    assert.equal(await old.runToCompletion(), 'Succeeded', JSON.stringify(old.status));
    assert.deepEqual(tableFingerprint(localPostgres, older), tableFingerprint(localPostgres, source));
    assert.match(old.jobRuns.find((r) => r.job.includes('-rdb-'))?.stderr ?? '', /verifying sha256 of/);
    assert.equal(sql(localPostgres, restored, `select count(*) from DLFileEntry where title like 'FORGERY%'`).trim(), '0');
  });
});
