// DR drills end to end on real parts (docs/recovery-points.md, "DR drills"): the hook server, a
// driver playing Metacontroller, the real restore and cleanup Jobs against the machine's PostgreSQL
// and MariaDB and an S3 server. A drill restores into a scratch database and prefix, records its
// verdict and RTO, and removes both afterwards - also when it failed - and never anything it did not
// create: not a database that was there before, not files someone else put into the prefix.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { MetacontrollerDriver } from './support/driver.ts';
import { TestEnv, uniqueName } from './support/env.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';
import { createSampleDatabase, dropDatabase, localMariadb, localPostgres, sampleDocumentLibrary, sql, tableFingerprint, type DbTarget } from '../demo/sample.ts';
import { API_VERSION } from '../hooks/contract/objects.ts';
import { connect } from '../hooks/archive/db.ts';
import { Archive } from '../hooks/archive/store.ts';
import { restoreRecord } from '../hooks/archive/records.ts';
import type { BackupRequest, BackupRequestStatus, RestoreRequest, RestoreRequestStatus } from '../core/crd.ts';

const env = new TestEnv();
const FILES = 30;
// The sample database's rows refer to exactly these files' originals (the restore-side check finds them all).
const files = sampleDocumentLibrary(FILES);
const dbs: Array<[DbTarget, string]> = [];

before(async () => {
  await env.start();
  for (const b of ['liferay-dl', 'lc2-backups', 'scratch-dl']) await env.createBucket(b);
  await env.upload('liferay-dl', files);
});
after(async () => {
  await env.stop();
  for (const [t, n] of dbs) dropDatabase(t, n);
});

const exists = (target: DbTarget, db: string): boolean => (target.engine === 'postgresql'
  ? sql(target, 'postgres', `select count(*) from pg_database where datname = '${db}'`)
  : sql(target, '', `select count(*) from information_schema.schemata where schema_name = '${db}'`)) === '1';
const ready = (s: RestoreRequestStatus) => s.conditions!.find((c) => c.type === 'Ready')!;
/** A drill of the backup `br` (the driver `backup` made it) into a scratch database and prefix, through the hook server. */
function drillDriver(target: DbTarget, br: BackupRequest, backup: () => MetacontrollerDriver, name: string, scratch: string, prefix: string): MetacontrollerDriver {
  return new MetacontrollerDriver(
    restoreRequest(name, {
      drill: true, source: { backupRef: { name: br.metadata.name } },
      database: { instanceId: `${target.host}:${target.port}`, databaseName: scratch, credentialsSecretRef: { name: 'db-credentials' } },
      documentLibrary: { destinationBucket: 'scratch-dl', destinationPrefix: prefix },
    }),
    {
      hookUrl: env.hookUrl, syncPath: '/restorerequest/sync', secrets: env.secrets(target),
      related: () => ({ [`BackupRequest.${API_VERSION}`]: { [`proj-retail-prd/${br.metadata.name}`]: backup().parent } }),
    },
  );
}
/** Finished drills, for the history check at the end (PGlite's WASM holds the event loop, so it runs after the last hook call). */
const finished: RestoreRequest[] = [];

for (const target of [localPostgres, localMariadb]) {
  describe(`DR drill, local provider, ${target.engine}`, () => {
    const source = uniqueName('lc2_drill_src');
    dbs.push([target, source]);
    const br = backupRequest(`drilled-${target.engine}`, {
      database: { engine: target.engine, type: 'dump', instanceId: `${target.host}:${target.port}`, databaseName: source, credentialsSecretRef: { name: 'db-credentials' } },
    });
    let backup: MetacontrollerDriver;
    const drill = (name: string, scratch: string, prefix: string) => drillDriver(target, br, () => backup, name, scratch, prefix);
    const scratchName = () => { const n = uniqueName('lc2_drill_scratch'); dbs.push([target, n]); return n; };

    it('passes: restores, records the RTO and verdict, then drops the scratch database and deletes the prefix', async () => {
      createSampleDatabase(target, source, FILES);
      backup = new MetacontrollerDriver(br, { hookUrl: env.hookUrl, syncPath: '/backuprequest/sync', secrets: env.secrets(target) });
      assert.equal(await backup.runToCompletion(), 'Succeeded', JSON.stringify(backup.status));

      const scratch = scratchName();
      const d = drill(`drill-${target.engine}`, scratch, `drills/${target.engine}/pass`);
      const seen: string[] = [];
      let restoredRows: Record<string, string> | undefined;
      for (let round = 0; round < 20 && d.phase !== 'Succeeded' && d.phase !== 'Failed'; round += 1) {
        await d.sync();
        if (seen.at(-1) !== d.phase) seen.push(d.phase!);
        // While cleaning up, the restored database was there with the backup's rows.
        if (d.phase === 'CleaningUp' && !restoredRows) restoredRows = tableFingerprint(target, scratch);
        await d.runPendingJobs();
      }
      const s = d.status as RestoreRequestStatus;
      assert.deepEqual(seen, ['RestoringDatabase', 'RestoringDocumentLibrary', 'CleaningUp', 'Succeeded'], JSON.stringify(s));
      assert.deepEqual(restoredRows, tableFingerprint(target, source));
      assert.equal(s.drill?.verdict, 'Passed');
      assert.deepEqual([s.documentLibrary?.consistency?.expected, s.documentLibrary?.consistency?.missing], [FILES, 0], 'the restored rows\' files were all checked');
      assert.match(s.drill!.message!, new RegExp(`all ${FILES} referenced files present`));
      assert.equal(s.reindex?.skipped, 'SkippedByRequest', 'a drill has no reindex');
      assert.equal(s.drill?.cleanup, 'Done');
      assert.equal(ready(s).reason, 'DrillPassed');
      const rto = (Date.parse(s.operations!.documentLibrary!.completionTime!) - Date.parse(s.operations!.database!.startTime!)) / 1000;
      assert.equal(s.drill?.rtoSeconds, Math.round(rto), 'the RTO is the recorded database start to document-library end');
      assert.deepEqual(d.jobRuns.map((r) => [r.job.split('-').at(-2), r.exitCode]), [['rdb', 0], ['rdl', 0], ['rdc', 0]]);
      assert.equal(s.documentLibrary?.objectCount, files.filter((f) => !f.generated).length);
      assert.match(s.drill!.cleanupMessage!, new RegExp(`dropped database ${scratch} .*; deleted ${s.documentLibrary!.objectCount} objects under scratch-dl/drills/${target.engine}/pass/`));
      assert.equal(exists(target, scratch), false, 'the scratch database is gone');
      assert.deepEqual(await env.keys('scratch-dl', `drills/${target.engine}/pass/`), [], 'the scratch prefix is empty');
      finished.push(d.parent as RestoreRequest);
    });

    it('never drops a scratch database that was there before (no marker): refused, left with its rows', async () => {
      const scratch = scratchName();
      if (target.engine === 'postgresql') sql(target, 'postgres', `create database "${scratch}"`);
      else sql(target, '', `create database \`${scratch}\``);
      sql(target, scratch, 'create table precious (id integer primary key); insert into precious values (1), (2)');
      const d = drill(`drill-taken-${target.engine}`, scratch, `drills/${target.engine}/taken`);
      assert.equal(await d.runToCompletion(), 'Failed');
      const s = d.status as RestoreRequestStatus;
      assert.equal(ready(s).reason, 'TargetExists');
      assert.deepEqual([s.drill?.verdict, s.drill?.cleanup], ['Failed', 'Done']);
      assert.match(s.drill!.cleanupMessage!, new RegExp(`database ${scratch} .* not touched`));
      assert.deepEqual(d.jobRuns.map((r) => r.job.split('-').at(-2)), ['rdb'], 'no cleanup Job: the drill created nothing');
      assert.equal(sql(target, scratch, 'select count(*) from precious'), '2', 'the database and its rows are still there');
    });

    it('a database that lost its marker is refused by the cleanup itself and left in place', async () => {
      const scratch = scratchName();
      const d = drill(`drill-unmarked-${target.engine}`, scratch, `drills/${target.engine}/unmarked`);
      for (let round = 0; round < 20 && d.phase !== 'Succeeded' && d.phase !== 'Failed'; round += 1) {
        await d.sync();
        // Someone changes the comment while the drill runs: the cleanup can no longer tell the database is the drill's.
        if (d.phase === 'CleaningUp' && exists(target, scratch)) {
          if (target.engine === 'postgresql') sql(target, 'postgres', `comment on database "${scratch}" is 'mine now'`);
          else sql(target, '', `alter database \`${scratch}\` comment 'mine now'`);
        }
        await d.runPendingJobs();
      }
      const s = d.status as RestoreRequestStatus;
      assert.deepEqual([d.phase, s.drill?.verdict, s.drill?.cleanup, ready(s).reason], ['Failed', 'Passed', 'Failed', 'CleanupFailed']);
      assert.match(s.drill!.cleanupMessage!, /refused to drop database .* no marker of this drill/);
      assert.equal(exists(target, scratch), true, 'left in place');
      assert.deepEqual(await env.keys('scratch-dl', `drills/${target.engine}/unmarked/`), [], 'the prefix it wrote is still removed');
    });
  });
}

describe('DR drill failures still clean up, postgresql', () => {
  const target = localPostgres;
  const source = uniqueName('lc2_drill_fail_src');
  dbs.push([target, source]);
  const br = backupRequest('drilled-fail', {
    database: { engine: 'postgresql', type: 'dump', instanceId: `${target.host}:${target.port}`, databaseName: source, credentialsSecretRef: { name: 'db-credentials' } },
  });
  let backup: MetacontrollerDriver;
  const drill = (name: string, scratch: string, prefix: string) => drillDriver(target, br, () => backup, name, scratch, prefix);

  it('a document-library step refused midway: the database the drill created is dropped, files it did not write are kept', async () => {
    createSampleDatabase(target, source, FILES);
    backup = new MetacontrollerDriver(br, { hookUrl: env.hookUrl, syncPath: '/backuprequest/sync', secrets: env.secrets(target) });
    assert.equal(await backup.runToCompletion(), 'Succeeded');
    const scratch = uniqueName('lc2_drill_mid');
    dbs.push([target, scratch]);
    const d = drill('drill-midway', scratch, 'drills/midway');
    let planted = false;
    for (let round = 0; round < 20 && d.phase !== 'Succeeded' && d.phase !== 'Failed'; round += 1) {
      await d.sync();
      if (d.phase === 'RestoringDocumentLibrary' && !planted) {
        // After the preflight found the prefix empty, before the copy: someone else's file lands there.
        await env.s3.send(new PutObjectCommand({ Bucket: 'scratch-dl', Key: 'drills/midway/not-the-drills.txt', Body: 'keep me' }));
        assert.equal(exists(target, scratch), true, 'the drill created its database');
        planted = true;
      }
      await d.runPendingJobs();
    }
    const s = d.status as RestoreRequestStatus;
    assert.equal(d.phase, 'Failed');
    assert.equal(ready(s).reason, 'TargetNotEmpty');
    assert.deepEqual([s.drill?.verdict, s.drill?.cleanup], ['Failed', 'Done']);
    assert.equal(exists(target, scratch), false, 'the scratch database the drill created is dropped');
    assert.deepEqual(await env.keys('scratch-dl', 'drills/midway/'), ['drills/midway/not-the-drills.txt'], 'the prefix it did not write is left alone');
    assert.match(s.drill!.cleanupMessage!, /dropped database .*; scratch-dl\/drills\/midway\/ not touched/);
  });

  it('runs each Job once with 3 syncs per step and the hook restarted before each, and a finished drill is a fixed point', async () => {
    const scratch = uniqueName('lc2_drill_once');
    dbs.push([target, scratch]);
    const d = drill('drill-once', scratch, 'drills/once');
    assert.equal(await d.runToCompletion({ syncsPerStep: 3, beforeSync: () => env.restartHook() }), 'Succeeded', JSON.stringify(d.status));
    assert.deepEqual(d.jobRuns.map((r) => r.job.split('-').at(-2)), ['rdb', 'rdl', 'rdc'], 'each Job ran once');
    const settled = JSON.stringify(d.status);
    await d.sync();
    assert.equal(JSON.stringify(d.status), settled);
    assert.equal(d.children.size, 3, 'finished Jobs are kept, not deleted');
    assert.equal(exists(target, scratch), false);
  });

  it('PostgreSQL: the database is made under a staging name, marked, then renamed; a staging database left by a crashed attempt is dropped', async () => {
    const scratch = uniqueName('lc2_drill_staged');
    dbs.push([target, scratch]);
    const d = drill('drill-staged', scratch, 'drills/staged');
    // An earlier attempt crashed between CREATE DATABASE and its COMMENT: an unmarked database under the staging name.
    const staging = `lc2_stage_${d.parent.metadata.uid!.replace(/-/g, '').slice(0, 40).toLowerCase()}`;
    dbs.push([target, staging]);
    sql(target, 'postgres', `create database "${staging}"`);
    assert.equal(await d.runToCompletion(), 'Succeeded', JSON.stringify(d.status));
    assert.equal(exists(target, staging), false, 'the staging database is gone');
    assert.equal(exists(target, scratch), false, 'and the scratch database, after the drill');
    // Other roles may not connect to it (a session would block the rename).
    const again = drill('drill-staged-2', uniqueName('lc2_drill_staged2'), 'drills/staged2');
    await again.sync();
    await again.runPendingJobs();
    const scratch2 = (again.parent.spec as { database: { databaseName: string } }).database.databaseName;
    dbs.push([target, scratch2]);
    assert.doesNotMatch(sql(target, 'postgres', `select datacl::text from pg_database where datname = '${scratch2}'`), /(^|[{,])=/, 'no privileges for PUBLIC');
    // Another role creates a database under this drill's staging name (the UID is readable in the
    // target's comment): the cleanup leaves it alone and still drops the drill's own database.
    const foreignStaging = `lc2_stage_${again.parent.metadata.uid!.replace(/-/g, '').slice(0, 40).toLowerCase()}`;
    sql(target, 'postgres', `do $$ begin if not exists (select from pg_roles where rolname = 'lc2_other_tenant') then create role lc2_other_tenant; end if; end $$`);
    sql(target, 'postgres', `create database "${foreignStaging}" owner lc2_other_tenant`);
    dbs.push([target, foreignStaging]);
    assert.equal(await again.runToCompletion(), 'Succeeded', JSON.stringify(again.status));
    assert.equal(exists(target, scratch2), false, 'the drill\'s own database is dropped');
    assert.equal(exists(target, foreignStaging), true, 'another role\'s database is left alone');
  });

  it('a drill deleted while it runs: the finalize hook removes its scratch database before the finalizer goes', async () => {
    const scratch = uniqueName('lc2_drill_deleted');
    dbs.push([target, scratch]);
    const d = drill('drill-deleted', scratch, 'drills/deleted');
    await d.sync();
    await d.runPendingJobs();
    assert.equal(exists(target, scratch), true, 'the database step ran');
    // kubectl delete: from now on Metacontroller calls the finalize hook until it answers finalized.
    const answers: boolean[] = [];
    for (let round = 0; round < 10 && !answers.at(-1); round += 1) {
      answers.push((await d.sync(true)).finalized === true);
      await d.runPendingJobs();
    }
    assert.equal(answers.at(-1), true, `finalized in the end: ${answers}`);
    assert.ok(answers.length > 1 && answers.slice(0, -1).every((a) => !a), `not before the cleanup ran: ${answers}`);
    const s = d.status as RestoreRequestStatus;
    assert.deepEqual([d.phase, s.drill?.reason, s.drill?.cleanup], ['Failed', 'DrillDeleted', 'Done']);
    assert.deepEqual(d.jobRuns.map((r) => r.job.split('-').at(-2)), ['rdb', 'rdc'], 'no copy after the deletion, then the cleanup');
    assert.equal(exists(target, scratch), false, 'the scratch database is gone before the object is');
    // Any other restore is finalized at once, its Jobs left to garbage collection.
    const plain = new MetacontrollerDriver(restoreRequest('plain-deleted', { source: { backupRef: { name: br.metadata.name } } }), { hookUrl: env.hookUrl, syncPath: '/restorerequest/sync', secrets: env.secrets(target) });
    assert.equal((await plain.sync(true)).finalized, true);
  });

  it('a referenced file missing from the backup fails the verdict (MissingFiles), and both scratch targets are still removed', async () => {
    const status = backup.status as BackupRequestStatus;
    const gone = `${status.location!.prefix}dl/20097/20121/30007/1.0`;
    assert.deepEqual(await env.keys('lc2-backups', gone), [gone], 'the file is in the backup until now');
    await env.s3.send(new DeleteObjectCommand({ Bucket: 'lc2-backups', Key: gone }));
    const scratch = uniqueName('lc2_drill_missing');
    dbs.push([target, scratch]);
    const d = drill('drill-missing', scratch, 'drills/missing');
    assert.equal(await d.runToCompletion(), 'Failed', JSON.stringify(d.status));
    const s = d.status as RestoreRequestStatus;
    assert.deepEqual([s.drill?.verdict, s.drill?.reason, s.drill?.cleanup, ready(s).reason], ['Failed', 'MissingFiles', 'Done', 'MissingFiles']);
    assert.match(s.drill!.message!, /1 of 30 files .* missing .*e\.g\. 20097\/20121\/30007\/1\.0/);
    assert.equal(typeof s.drill?.rtoSeconds, 'number', 'the restore itself finished: it has an RTO');
    assert.equal(s.conditions?.find((c) => c.type === 'Consistent')?.status, 'False');
    assert.deepEqual(d.jobRuns.map((r) => [r.job.split('-').at(-2), r.exitCode]), [['rdb', 0], ['rdl', 0], ['rdc', 0]]);
    assert.equal(exists(target, scratch), false, 'the scratch database is gone');
    assert.deepEqual(await env.keys('scratch-dl', 'drills/missing/'), [], 'the scratch prefix is empty');
    finished.push(d.parent as RestoreRequest);
  });

  it('a tampered dump (ChecksumMismatch) fails the drill and still runs its cleanup', async () => {
    const artifact = (backup.status as BackupRequestStatus).database!.artifact!;
    await env.s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: artifact, Body: 'not the dump' }));
    const scratch = uniqueName('lc2_drill_tampered');
    dbs.push([target, scratch]);
    const d = drill('drill-tampered', scratch, 'drills/tampered');
    assert.equal(await d.runToCompletion(), 'Failed');
    const s = d.status as RestoreRequestStatus;
    assert.equal(ready(s).reason, 'ChecksumMismatch');
    assert.deepEqual([s.drill?.verdict, s.drill?.reason, s.drill?.cleanup, s.drill?.rtoSeconds], ['Failed', 'ChecksumMismatch', 'Done', undefined]);
    assert.deepEqual(d.jobRuns.map((r) => [r.job.split('-').at(-2), r.exitCode]), [['rdb', 3], ['rdc', 0]]);
    assert.equal(exists(target, scratch), false);
    // PostgreSQL reads the dump once (its database exists when the first chunk is refused): the cleanup drops it.
    assert.match(s.drill!.cleanupMessage!, target.engine === 'postgresql' ? /dropped database/ : /was not there/);
    finished.push(d.parent as RestoreRequest);
  });
});

describe('DR drill history', () => {
  it('the archive row of a finished drill carries its flag, RTO, verdict, cleanup and missing count (real PostgreSQL, embedded: PGlite)', async () => {
    assert.ok(finished.length >= 2);
    const sqlDb = await connect(undefined, mkdtempSync(join(tmpdir(), 'lc2-drill-archive-')));
    try {
      const archive = new Archive(sqlDb);
      for (const d of finished) {
        await archive.upsert(restoreRecord(d));
        const row = await archive.get(d.metadata.uid!);
        const s = d.status!;
        assert.deepEqual([row?.kind, row?.phase, row?.drill, row?.drill_rto_seconds, row?.drill_verdict, row?.drill_cleanup],
          ['RestoreRequest', s.phase, true, s.drill!.rtoSeconds ?? null, s.drill!.verdict, s.drill!.cleanup]);
        assert.equal(row?.dl_missing === null ? null : Number(row?.dl_missing), s.documentLibrary?.consistency?.missing ?? null);
      }
    } finally { await sqlDb.close(); }
  });
});
