// A recovery point's consistency (docs/recovery-points.md), end to end on real parts: Liferay-shaped
// DLFileEntry/DLFileVersion tables on the machine's PostgreSQL and MariaDB (several companies,
// repositories, folders, versions, storeUUIDs, a Publications row), a document library built to
// match on moto S3, the real dump and copy Jobs through the hook server - and deliberate damage: a
// file deleted between the dump and the copy, a row whose file never existed, orphan files.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { MetacontrollerDriver } from './support/driver.ts';
import { TestEnv, uniqueName } from './support/env.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';
import { API_VERSION } from '../hooks/contract/objects.ts';
import { dropDatabase, localMariadb, localPostgres, sql, type DbTarget } from '../demo/sample.ts';
import type { BackupRequest, BackupRequestStatus, RestoreRequestStatus } from '../core/crd.ts';
import { backupRecord, manifestRecord } from '../hooks/archive/records.ts';
import type { Manifest } from '../hooks/backup/manifest.ts';

const env = new TestEnv();
const dbs: Array<[DbTarget, string]> = [];

interface Row { entry: number; company: number; group: number; folder: number; name: string; version: string; uuid: string | null; ct?: number }
// Files in two companies, two sites, at a repository root (keyed by the group) and in a folder
// (keyed by the folder); several versions, with and without a storeUUID ('null' counts as none).
const rows: Row[] = [
  { entry: 1, company: 20097, group: 20121, folder: 0, name: '30001', version: '1.0', uuid: null },
  { entry: 1, company: 20097, group: 20121, folder: 0, name: '30001', version: '1.1', uuid: 'a1b2c3d4-0000-4000-8000-000000000001' },
  { entry: 1, company: 20097, group: 20121, folder: 0, name: '30001', version: '2.0', uuid: 'null' },
  { entry: 2, company: 20097, group: 20121, folder: 40001, name: '30002', version: '1.0', uuid: null },
  { entry: 2, company: 20097, group: 20121, folder: 40001, name: '30002', version: 'PWC', uuid: null },
  { entry: 3, company: 20097, group: 20122, folder: 0, name: '30003', version: '1.0', uuid: '' },
  { entry: 4, company: 30001, group: 30021, folder: 0, name: '40004', version: '1.0', uuid: null },
  { entry: 4, company: 30001, group: 30021, folder: 0, name: '40004', version: '1.1', uuid: 'a1b2c3d4-0000-4000-8000-000000000004' },
  { entry: 5, company: 30001, group: 30021, folder: 50005, name: '40005', version: '1.0', uuid: null },
  // Deleted between the dump and the copy; a row whose file never existed.
  { entry: 6, company: 30001, group: 30021, folder: 0, name: '40006', version: '1.0', uuid: null },
  { entry: 7, company: 20097, group: 20121, folder: 0, name: '30007', version: '1.0', uuid: null },
  // An unpublished Publications change (ctCollectionId 5): not the production state, not expected.
  { entry: 8, company: 20097, group: 20121, folder: 0, name: '30008', version: '1.0', uuid: null, ct: 5 },
];
const keyOf = (r: Row) => `${r.company}/${r.folder || r.group}/${r.name}/${r.version}${r.uuid && r.uuid !== 'null' ? `~${r.uuid}` : ''}`;
const NEVER = keyOf(rows[10]!);
const DELETED = keyOf(rows[9]!);
const ORPHAN = '20097/20121/39999/1.0';
const PUBLICATION = keyOf(rows[11]!);
// The portal's own images (Image rows through DLHook: company 0, repository 0): not documents, never orphans.
const IMAGE = '0/0/12345.png/1.0';

function createLiferayTables(target: DbTarget, db: string): void {
  dropDatabase(target, db);
  const pg = target.engine === 'postgresql';
  sql(target, pg ? 'postgres' : '', pg ? `create database "${db}"` : `create database \`${db}\``);
  const entries = [...new Map(rows.map((r) => [r.entry, r])).values()];
  sql(target, db, `
    create table DLFileEntry (fileEntryId bigint not null, ctCollectionId bigint not null default 0, groupId bigint not null,
      companyId bigint not null, repositoryId bigint not null, folderId bigint not null, name varchar(255) not null, primary key (fileEntryId, ctCollectionId));
    create table DLFileVersion (fileVersionId bigint not null, ctCollectionId bigint not null default 0, fileEntryId bigint not null,
      version varchar(75) not null, storeUUID varchar(75), status integer not null default 0, primary key (fileVersionId, ctCollectionId));
    insert into DLFileEntry values ${entries.map((r) => `(${r.entry}, ${r.ct ?? 0}, ${r.group}, ${r.company}, ${r.group}, ${r.folder}, '${r.name}')`).join(', ')};
    insert into DLFileVersion values ${rows.map((r, i) => `(${i + 1}, ${r.ct ?? 0}, ${r.entry}, '${r.version}', ${r.uuid === null ? 'null' : `'${r.uuid}'`}, 0)`).join(', ')};`);
}

before(async () => {
  await env.start();
  for (const b of ['liferay-dl', 'lc2-backups', 'restored-dl']) await env.createBucket(b);
});
after(async () => {
  await env.stop();
  for (const [t, n] of dbs) dropDatabase(t, n);
});

for (const target of [localPostgres, localMariadb]) {
  describe(`recovery-point consistency, ${target.engine}`, () => {
    it('counts referred-to files missing from the copy and copied files no row refers to, with their keys', async () => {
      const db = uniqueName('lc2_consistency');
      dbs.push([target, db]);
      createLiferayTables(target, db);
      const root = `dl-${target.engine}/`;
      const present = rows.filter((r) => keyOf(r) !== NEVER).map(keyOf);
      await env.upload('liferay-dl', [...present, ORPHAN, IMAGE].map((k) => ({ key: `${root}${k}`, body: Buffer.from(k), generated: false }))
        .concat([{ key: `${root}20097/0/document_preview/20121/30001/1.0/1.png`, body: Buffer.from('preview'), generated: true }]));

      const br = backupRequest(`consistency-${target.engine}`, {
        database: { engine: target.engine, type: 'dump', instanceId: `${target.host}:${target.port}`, databaseName: db, credentialsSecretRef: { name: 'db-credentials' } },
        documentLibrary: { sourceBucket: 'liferay-dl', sourcePrefix: root, destinationBucket: 'lc2-backups', excludeGeneratedFiles: true },
      });
      const driver = new MetacontrollerDriver(br, { hookUrl: env.hookUrl, syncPath: '/backuprequest/sync', secrets: env.secrets(target) });
      await driver.sync();
      await driver.runPendingJobs(); // the dump, and the expected keys from its snapshot
      // Liferay deletes a document after the dump: its row is in the backup, its file will not be.
      await env.s3.send(new DeleteObjectCommand({ Bucket: 'liferay-dl', Key: `${root}${DELETED}` }));
      assert.equal(await driver.runToCompletion(), 'Succeeded', JSON.stringify(driver.status));

      const status = driver.status as BackupRequestStatus;
      const expectedRows = rows.filter((r) => !r.ct).length;
      const c = status.documentLibrary?.consistency;
      assert.deepEqual(c && { ...c, missingSample: [...c.missingSample].sort(), orphanSample: [...c.orphanSample].sort() },
        // The unpublished Publication's file is referred to by its row: not an orphan, not required either.
        { expected: expectedRows, missing: 2, orphans: 1, missingSample: [DELETED, NEVER].sort(), orphanSample: [ORPHAN] });
      const condition = status.conditions?.find((x) => x.type === 'Consistent');
      assert.equal(condition?.status, 'False');
      assert.equal(condition?.reason, 'ReferencedFilesMissing');
      assert.match(condition?.message ?? '', new RegExp(`^2 of ${expectedRows} document-library files the database refers to are not in the backup`));
      const manifest = JSON.parse((await env.read('lc2-backups', status.manifest!.key)).toString()) as Manifest;
      assert.deepEqual(manifest.documentLibrary.consistency, c, 'the manifest records it too');
      // And the history, from the resource or rebuilt from the manifest alone.
      const fromCluster = backupRecord({ ...driver.parent, status } as BackupRequest);
      const fromManifest = manifestRecord(manifest, 'lc2-backups', status.manifest!.key);
      for (const r of [fromCluster, fromManifest]) assert.deepEqual([r.dlMissing, r.dlOrphans], [2, 1]);

      // The same check after a restore, on the RESTORED database and prefix. PostgreSQL: into a prefix
      // that already held a stale file and a generated preview (approveOverwrite), orphans deleted on
      // request - only those the restore copied: the stale file was there before, it is counted and
      // kept; the preview is regenerable, neither counted nor deleted. MariaDB: orphans only counted.
      const cleanup = target.engine === 'postgresql';
      const restoredDb = uniqueName('lc2_consistency_restored');
      dbs.push([target, restoredDb]);
      const destPrefix = `restored-${target.engine}-${uniqueName('p').replace(/_/g, '-')}/document_library`;
      const STALE = '20097/20121/38888/1.0';
      const PREVIEW = '20097/0/document_preview/20121/30001/1.0/1.png';
      if (cleanup) await env.upload('restored-dl', [STALE, PREVIEW].map((k) => ({ key: `${destPrefix}/${k}`, body: Buffer.from(k), generated: false })));
      const backup = { ...driver.parent, status } as BackupRequest;
      const restore = new MetacontrollerDriver(restoreRequest(`consistency-restore-${target.engine}`, {
        source: { backupRef: { name: backup.metadata.name } },
        database: { instanceId: `${target.host}:${target.port}`, databaseName: restoredDb, credentialsSecretRef: { name: 'db-credentials' } },
        documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: destPrefix },
        ...(cleanup ? { cleanupOrphans: true, approveOverwrite: true } : {}),
      }), { hookUrl: env.hookUrl, syncPath: '/restorerequest/sync', secrets: env.secrets(target),
        related: () => ({ [`BackupRequest.${API_VERSION}`]: { [`proj-retail-prd/${backup.metadata.name}`]: backup } }) });
      assert.equal(await restore.runToCompletion(), 'Succeeded', JSON.stringify(restore.status));
      const restored = restore.status as RestoreRequestStatus;
      const rc = restored.documentLibrary?.consistency;
      const orphans = cleanup ? [ORPHAN, STALE] : [ORPHAN];
      assert.deepEqual(rc && { ...rc, missingSample: [...rc.missingSample].sort(), orphanSample: [...rc.orphanSample].sort() },
        { expected: expectedRows, missing: 2, orphans: orphans.length, orphansDeleted: cleanup ? 1 : 0, missingSample: [DELETED, NEVER].sort(), orphanSample: orphans.sort() });
      const rcond = restored.conditions?.find((x) => x.type === 'Consistent');
      assert.equal(rcond?.status, 'False');
      assert.match(rcond?.message ?? '', new RegExp(`^2 of ${expectedRows} document-library files the database refers to are not in the restored document library`));
      const left = (await env.s3.send(new ListObjectsV2Command({ Bucket: 'restored-dl', Prefix: `${destPrefix}/` }))).Contents?.map((o) => o.Key!.slice(destPrefix.length + 1)).sort() ?? [];
      const referenced = rows.filter((r) => !r.ct).map(keyOf).filter((k) => k !== NEVER && k !== DELETED);
      assert.deepEqual(left, (cleanup ? [...referenced, PUBLICATION, IMAGE, PREVIEW, STALE] : [...referenced, PUBLICATION, IMAGE, ORPHAN]).sort(),
        cleanup ? 'every referred-to file and image kept, the copied orphan deleted, the stale file and the preview left alone' : 'nothing deleted without cleanupOrphans');
    });

    if (target.engine === 'postgresql') it('cleanupOrphans deletes nothing when most referred-to files are missing (keys in another layout): cleanupSkipped', async () => {
      const db = uniqueName('lc2_layout');
      dbs.push([target, db]);
      createLiferayTables(target, db);
      // The files are all there, one folder deeper than Liferay's layout: every key "missing", every file an "orphan".
      const root = 'dl-layout/';
      const files = rows.filter((r) => !r.ct).map((r) => `extra/${keyOf(r)}`);
      await env.upload('liferay-dl', files.map((k) => ({ key: `${root}${k}`, body: Buffer.from(k), generated: false })));
      const br = backupRequest('layout', {
        database: { engine: 'postgresql', type: 'dump', instanceId: `${target.host}:${target.port}`, databaseName: db, credentialsSecretRef: { name: 'db-credentials' } },
        documentLibrary: { sourceBucket: 'liferay-dl', sourcePrefix: root, destinationBucket: 'lc2-backups', excludeGeneratedFiles: true },
      });
      const driver = new MetacontrollerDriver(br, { hookUrl: env.hookUrl, syncPath: '/backuprequest/sync', secrets: env.secrets(target) });
      assert.equal(await driver.runToCompletion(), 'Succeeded');
      const backup = { ...driver.parent, status: driver.status } as BackupRequest;
      const restoredDb = uniqueName('lc2_layout_restored');
      dbs.push([target, restoredDb]);
      const restore = new MetacontrollerDriver(restoreRequest('layout-restore', {
        source: { backupRef: { name: 'layout' } }, cleanupOrphans: true,
        database: { instanceId: `${target.host}:${target.port}`, databaseName: restoredDb, credentialsSecretRef: { name: 'db-credentials' } },
        documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: 'layout/document_library' },
      }), { hookUrl: env.hookUrl, syncPath: '/restorerequest/sync', secrets: env.secrets(target),
        related: () => ({ [`BackupRequest.${API_VERSION}`]: { 'proj-retail-prd/layout': backup } }) });
      assert.equal(await restore.runToCompletion(), 'Succeeded', JSON.stringify(restore.status));
      const rc = (restore.status as RestoreRequestStatus).documentLibrary?.consistency;
      assert.deepEqual([rc?.expected, rc?.missing, rc?.orphans, rc?.orphansDeleted, rc?.cleanupSkipped], [files.length, files.length, files.length, 0, true]);
      assert.match((restore.status as RestoreRequestStatus).conditions?.find((x) => x.type === 'Consistent')?.message ?? '', /none deleted: with most referred-to files missing/);
      const left = (await env.s3.send(new ListObjectsV2Command({ Bucket: 'restored-dl', Prefix: 'layout/document_library/' }))).Contents?.length;
      assert.equal(left, files.length, 'every restored file is still there');
    });

    it('a complete library is Consistent', async () => {
      const db = uniqueName('lc2_consistent');
      dbs.push([target, db]);
      createLiferayTables(target, db);
      const root = `dl-ok-${target.engine}/`;
      await env.upload('liferay-dl', rows.filter((r) => !r.ct).map((r) => ({ key: `${root}${keyOf(r)}`, body: Buffer.from('x'), generated: false })));
      const driver = new MetacontrollerDriver(backupRequest(`consistent-${target.engine}`, {
        database: { engine: target.engine, type: 'dump', instanceId: `${target.host}:${target.port}`, databaseName: db, credentialsSecretRef: { name: 'db-credentials' } },
        documentLibrary: { sourceBucket: 'liferay-dl', sourcePrefix: root, destinationBucket: 'lc2-backups', excludeGeneratedFiles: true },
      }), { hookUrl: env.hookUrl, syncPath: '/backuprequest/sync', secrets: env.secrets(target) });
      assert.equal(await driver.runToCompletion(), 'Succeeded');
      const status = driver.status as BackupRequestStatus;
      assert.deepEqual(status.documentLibrary?.consistency, { expected: rows.filter((r) => !r.ct).length, missing: 0, orphans: 0, missingSample: [], orphanSample: [] });
      assert.equal(status.conditions?.find((x) => x.type === 'Consistent')?.status, 'True');
    });
  });
}

// The comparison's own failure modes (lib.sh, run by bash as the Jobs run it, rclone's listing
// replaced by a file): a key list that cannot be read must fail the Job, never read as empty (every
// file would then be an orphan, and cleanupOrphans would delete referred-to files).
describe('the key comparison fails instead of reading a broken list as empty', () => {
  const lib = readFileSync(new URL('../providers/shared/jobs/scripts/lib.sh', import.meta.url), 'utf8');
  const compare = (breakReferenced: boolean) => spawnSync('bash', ['-c', `${lib}
rclone() { printf '1/1/a/1.0\\n1/1/b/1.0\\n1/1/orphan/1.0\\n'; }
printf 'P 1/1/a/1.0\\nP 1/1/b/1.0\\nA 1/1/c/1.0\\n' | split_keys
${breakReferenced ? 'printf "not zstd" >"$work/referenced.zst"' : ''}
compare_keys unused
printf '{%s}' "$(consistency_members)"`], { encoding: 'utf8', env: { ...process.env, LC2_STEP: 'test' } });

  it('counts right on readable lists', () => {
    const r = compare(false);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { expected: 2, missing: 0, orphans: 1, missingSample: [], orphanSample: ['1/1/orphan/1.0'] });
  });

  it('exits non-zero when the referred-to list cannot be read', () => {
    const r = compare(true);
    assert.notEqual(r.status, 0, `exited 0 with ${r.stdout}`);
    assert.equal(r.stdout, '', 'no consistency result');
  });
});
