// A scheduled DR drill end to end on the local provider (docs/recovery-points.md "Scheduled
// drills"): the hook server, drivers playing Metacontroller for the BackupSchedule (children
// BackupRequest and RestoreRequest), its backup and its drill, and the real backup, restore and
// cleanup Jobs against the machine's PostgreSQL and an S3 server. The schedule picks its verified
// backup, the drill restores it into the scratch targets the schedule named and removes them, and
// the outcome lands in the schedule's status and the history's per-environment report.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetacontrollerDriver } from './support/driver.ts';
import { TestEnv, uniqueName } from './support/env.ts';
import { backupRequest } from './support/resources.ts';
import { createSampleDatabase, dropDatabase, localPostgres, sampleDocumentLibrary, sql } from '../demo/sample.ts';
import { API_VERSION } from '../hooks/contract/objects.ts';
import { backupLabels } from '../hooks/backup/labels.ts';
import { connect } from '../hooks/archive/db.ts';
import { Archive } from '../hooks/archive/store.ts';
import { backupRecord, restoreRecord } from '../hooks/archive/records.ts';
import { summarize } from '../hooks/archive/queries.ts';
import { drillDatabaseName } from '../hooks/restore/drill.ts';
import type { BackupRequest, BackupSchedule, BackupScheduleStatus, RestoreRequest } from '../core/crd.ts';

const env = new TestEnv();
const files = sampleDocumentLibrary(20);
const source = uniqueName('lc2_sched_drill_src');
const target = localPostgres;
const NS = 'proj-retail-prd';
const BR = `BackupRequest.${API_VERSION}`;
const RR = `RestoreRequest.${API_VERSION}`;

before(async () => {
  await env.start();
  for (const b of ['liferay-dl', 'lc2-backups', 'drill-dl']) await env.createBucket(b);
  await env.upload('liferay-dl', files);
  createSampleDatabase(target, source, files.filter((f) => !f.generated).length);
});
after(async () => {
  await env.stop();
  dropDatabase(target, source);
});

const exists = (db: string) => sql(target, 'postgres', `select count(*) from pg_database where datname = '${db}'`) === '1';
const terminal = (d: MetacontrollerDriver) => d.phase === 'Succeeded' || d.phase === 'Failed';

describe('scheduled DR drill, local provider, PostgreSQL', () => {
  it('the schedule drills its verified backup into scratch targets of its own, which are gone afterwards; verdict and RTO reach its status and the history', async () => {
    const spec = backupRequest('t', {
      database: { engine: 'postgresql', type: 'dump', instanceId: `${target.host}:${target.port}`, databaseName: source, credentialsSecretRef: { name: 'db-credentials' } },
    }).spec!;
    const now = Date.now();
    // Yearly backups and drills whose latest times are past: one catch-up backup now, and one
    // catch-up drill once drills are resumed after that backup is verified (a suspended drill
    // schedule records no drill time). The next ones are a year away: nothing else starts.
    const parent: BackupSchedule = {
      apiVersion: API_VERSION, kind: 'BackupSchedule',
      metadata: { name: 'nightly', namespace: NS, uid: 'sched-e2e', generation: 1, creationTimestamp: new Date(now - 400 * 86_400_000).toISOString() },
      spec: {
        schedule: '0 0 1 1 *', template: { spec: { ...spec, initiator: undefined } },
        drill: { schedule: '0 0 1 1 *', suspend: true, database: { instanceId: `${target.host}:${target.port}`, credentialsSecretRef: { name: 'db-credentials' } }, documentLibrary: { bucket: 'drill-dl', prefix: 'drills' } },
      },
      status: { lastScheduleTime: new Date(now - 400 * 86_400_000).toISOString(), lastDrillScheduleTime: new Date(now - 400 * 86_400_000).toISOString() },
    };
    const schedule = new MetacontrollerDriver(parent, { hookUrl: env.hookUrl, syncPath: '/backupschedule/sync', secrets: {}, childKinds: [BR, RR] });
    const kids = <T>(kind: string) => [...schedule.children.values()].filter((c) => c.kind === kind) as T[];
    const status = () => schedule.status as BackupScheduleStatus;

    await schedule.sync();
    const [child] = kids<BackupRequest>('BackupRequest');
    assert.ok(child);
    assert.equal(kids('RestoreRequest').length, 0);
    // The DecoratorController labels it; its own controller runs it to the end with real Jobs.
    child.metadata.labels = { ...child.metadata.labels, ...backupLabels(child) };
    const backup = new MetacontrollerDriver(child, { hookUrl: env.hookUrl, syncPath: '/backuprequest/sync', secrets: env.secrets(target) });
    assert.equal(await backup.runToCompletion(), 'Succeeded', JSON.stringify(backup.status));
    child.status = backup.parent.status as BackupRequest['status'];
    assert.equal(child.status?.conditions?.find((c) => c.type === 'Consistent')?.status, 'True');

    // Drills resumed: the latest drill time runs now, from that backup.
    (schedule.parent.spec as BackupSchedule['spec'] & object).drill!.suspend = false;
    schedule.parent.metadata.generation = 2;
    await schedule.sync();
    const [drillChild] = kids<RestoreRequest>('RestoreRequest');
    assert.ok(drillChild, JSON.stringify(status().conditions));
    const scratch = drillDatabaseName(NS, drillChild.metadata.name, 'sched-e2e');
    assert.deepEqual(drillChild.spec?.source, { backupRef: { name: child.metadata.name } });
    assert.equal(drillChild.spec?.database.databaseName, scratch);
    assert.equal(drillChild.spec?.documentLibrary.destinationPrefix, `drills/${drillChild.metadata.name}/`);
    assert.equal(status().activeDrill, drillChild.metadata.name);

    // The drill's own controller (the RestoreRequest hook) with the backup as its related object.
    const drill = new MetacontrollerDriver(drillChild, {
      hookUrl: env.hookUrl, syncPath: '/restorerequest/sync', secrets: env.secrets(target),
      related: () => ({ [BR]: { [`${NS}/${child.metadata.name}`]: backup.parent } }),
    });
    let sawScratch = false;
    for (let round = 0; round < 20 && !terminal(drill); round += 1) {
      await drill.sync();
      if (drill.phase === 'CleaningUp') sawScratch ||= exists(scratch);
      // Meanwhile the schedule is synced too (its children changed): no second drill.
      drillChild.status = drill.parent.status as RestoreRequest['status'];
      await schedule.sync();
      assert.equal(kids('RestoreRequest').length, 1);
      await drill.runPendingJobs();
    }
    assert.equal(drill.phase, 'Succeeded', JSON.stringify(drill.status));
    assert.ok(sawScratch, 'the scratch database existed while the drill checked it');
    assert.equal(exists(scratch), false, 'the scratch database is gone');
    assert.deepEqual(await env.keys('drill-dl', `drills/${drillChild.metadata.name}/`), [], 'the scratch prefix is empty');

    drillChild.status = drill.parent.status as RestoreRequest['status'];
    await schedule.sync();
    const s = drillChild.status!;
    assert.deepEqual(status().lastDrill, {
      name: drillChild.metadata.name, backup: child.metadata.name, startTime: s.startTime, completionTime: s.completionTime,
      verdict: 'Passed', rtoSeconds: s.drill!.rtoSeconds, message: s.drill!.message,
    });
    assert.equal(typeof s.drill!.rtoSeconds, 'number');
    assert.match(status().lastDrill!.message!, new RegExp(`all ${files.filter((f) => !f.generated).length} referenced files present`), 'the drill checked the restored library against the restored rows');
    assert.equal(status().activeDrill, undefined);
    assert.equal(status().conditions?.find((c) => c.type === 'DrillScheduled')?.status, 'True');

    // The history (embedded PostgreSQL, after the last hook call: PGlite holds the event loop):
    // RPO from the verified backup, the last drill's verdict and RTO.
    const db = await connect(undefined, mkdtempSync(join(tmpdir(), 'lc2-sched-drill-archive-')));
    try {
      const archive = new Archive(db);
      await archive.upsert(backupRecord(backup.parent as BackupRequest));
      await archive.upsert(restoreRecord(drill.parent as RestoreRequest));
      const [row] = await archive.read((q) => summarize(q, { projects: ['retail'], project: 'retail', environment: 'prd' }));
      assert.equal(row?.lastVerifiedAt, new Date(child.status!.completionTime!).toISOString());
      assert.ok((row?.rpoSeconds ?? -1) >= 0);
      assert.deepEqual(row?.lastDrill, { name: drillChild.metadata.name, completedAt: new Date(s.completionTime!).toISOString(), verdict: 'Passed', rtoSeconds: s.drill!.rtoSeconds, lastPassedAt: new Date(s.completionTime!).toISOString() });
    } finally { await db.close(); }
  });
});
