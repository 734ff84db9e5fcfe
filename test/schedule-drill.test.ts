// Scheduled DR drills (hooks/schedule/drill.ts through decideSchedule), with an injected clock:
// drill times, the backup a drill restores, deferral while one runs, names under replay, a stale
// parent, keeping the last few, and the last drill folded into the schedule's status.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideSchedule, SCHEDULE_LABEL, type ScheduleDecision } from '../hooks/schedule/machine.ts';
import { drillName, DRILL_AT_ANNOTATION, type DrillRestore } from '../hooks/schedule/drill.ts';
import { drillDatabaseName } from '../hooks/restore/drill.ts';
import type { BackupRequest, BackupSchedule, BackupScheduleStatus, DrillSchedule, DrillStatus, RestoreRequestSpec } from '../core/crd.ts';
import { statusErrors, validateSpec } from '../core/validation/schema.ts';
import { backupRequest } from './support/resources.ts';

const HOUR = 3_600_000;
const MINUTE = 60_000;
// Drills daily at 03:00 UTC; backups hourly.
const DRILL_AT = Date.parse('2026-11-21T03:00:00Z');
const NOW = DRILL_AT + 30_000;
const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');
const NS = 'proj-retail-prd';

const drillSpec: DrillSchedule = { schedule: '0 3 * * *', database: { instanceId: '127.0.0.1:5432', credentialsSecretRef: { name: 'db-credentials' } }, documentLibrary: { bucket: 'drill-dl', prefix: 'drills' } };

function schedule(drill: Partial<DrillSchedule> | null = {}, status: BackupScheduleStatus = {}): BackupSchedule {
  return {
    apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupSchedule',
    metadata: { name: 'nightly', namespace: NS, uid: 'sched-uid', generation: 1, creationTimestamp: '2026-11-20T00:00:00Z' },
    spec: {
      schedule: '0 * * * *', template: { spec: { ...backupRequest('t').spec!, initiator: undefined } },
      ...(drill ? { drill: { ...drillSpec, ...drill } } : {}),
    },
    // Backups are up to date: only drills are due.
    status: { lastScheduleTime: iso(DRILL_AT), lastDrillScheduleTime: iso(DRILL_AT - 24 * HOUR), ...status },
  };
}

function backup(name: string, completedAt: number, phase: 'Succeeded' | 'Failed' = 'Succeeded', consistent?: boolean): BackupRequest {
  return {
    apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupRequest',
    metadata: { name, namespace: NS, labels: { [SCHEDULE_LABEL]: 'nightly' } },
    spec: backupRequest('x').spec!,
    status: {
      phase, completionTime: iso(completedAt),
      ...(consistent === undefined ? {} : { conditions: [{ type: 'Consistent', status: consistent ? 'True' : 'False', reason: consistent ? 'Consistent' : 'MissingFiles', message: '', lastTransitionTime: iso(completedAt) }] }),
    },
  };
}

/** A drill child as the API server holds it, with the status its restore reached. */
function drill(at: number, phase?: string, report?: DrillStatus, backupName = 'nightly-1', extra: { startTime?: string; completionTime?: string } = {}): DrillRestore {
  const name = drillName('nightly', at);
  return {
    apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'RestoreRequest',
    metadata: { name, namespace: NS, labels: { [SCHEDULE_LABEL]: 'nightly' }, annotations: { [DRILL_AT_ANNOTATION]: iso(at) }, creationTimestamp: iso(at) },
    spec: { projectId: 'retail', environment: 'prd', provider: 'local', drill: true, source: { backupRef: { name: backupName } }, database: { instanceId: 'h', databaseName: 'd' }, documentLibrary: { destinationBucket: 'drill-dl', destinationPrefix: `drills/${name}/` } },
    ...(phase ? { status: { phase: phase as 'Succeeded', ...extra, ...(report ? { drill: report } : {}) } } : {}),
  };
}

const newDrills = (d: ScheduleDecision, existing: readonly DrillRestore[]) => d.children.filter((c) => c.kind === 'RestoreRequest' && !existing.some((e) => e.metadata.name === c.metadata.name));
const condition = (d: ScheduleDecision) => d.status.conditions!.find((c) => c.type === 'DrillScheduled')!;
const decide = (parent: BackupSchedule, backups: BackupRequest[], drills: DrillRestore[] = [], now = NOW) => decideSchedule({ parent, children: backups, drills, now });

describe('BackupSchedule drills', () => {
  it('at a drill time restores the newest Succeeded backup not known inconsistent into scratch targets of its own', () => {
    const backups = [
      backup('nightly-1', DRILL_AT - 3 * HOUR, 'Succeeded', true),
      backup('nightly-2', DRILL_AT - 2 * HOUR), // consistency not checked (e.g. a snapshot): not known inconsistent
      backup('nightly-3', DRILL_AT - HOUR, 'Succeeded', false), // Consistent=False: skipped
      backup('nightly-4', DRILL_AT - 30 * MINUTE, 'Failed'),
      // Made before the template moved to another environment: never drilled as this one.
      { ...backup('nightly-5', DRILL_AT - 20 * MINUTE), spec: backupRequest('x', { environment: 'uat' }).spec! },
    ];
    const d = decide(schedule(), backups);
    const created = newDrills(d, []);
    assert.equal(created.length, 1);
    const name = drillName('nightly', DRILL_AT);
    assert.equal(created[0]!.metadata.name, name);
    assert.equal(name, `nightly-drill-${DRILL_AT / MINUTE}`);
    const spec = created[0]!.spec as RestoreRequestSpec & { drill: boolean };
    assert.equal(spec.drill, true);
    assert.deepEqual(spec.source, { backupRef: { name: 'nightly-2' } });
    assert.equal(spec.projectId, 'retail');
    assert.equal(spec.environment, 'prd');
    assert.equal(spec.provider, 'local');
    assert.equal(spec.initiator, 'schedule/proj-retail-prd/nightly');
    assert.deepEqual(spec.database, { instanceId: '127.0.0.1:5432', databaseName: drillDatabaseName(NS, name, 'sched-uid'), credentialsSecretRef: { name: 'db-credentials' } });
    assert.match(spec.database.databaseName, /^lc2_drill_[0-9a-f]{20}$/);
    assert.deepEqual(spec.documentLibrary, { destinationBucket: 'drill-dl', destinationPrefix: `drills/${name}/` });
    assert.equal(created[0]!.metadata.labels?.[SCHEDULE_LABEL], 'nightly');
    // What Metacontroller creates passes the RestoreRequest schema the API server applies.
    const checked = validateSpec('RestoreRequest', spec);
    assert.deepEqual(checked.ok ? [] : checked.errors, []);
    assert.equal(d.status.activeDrill, name);
    assert.equal(d.status.lastDrillScheduleTime, iso(DRILL_AT));
    assert.equal(d.status.nextDrillTime, iso(DRILL_AT + 24 * HOUR));
    assert.equal(condition(d).reason, 'DrillStarted');
    assert.deepEqual(statusErrors('BackupSchedule', d.status), []);
  });

  it('two projects sharing a database server never get the same scratch database, whatever they name their schedules; another schedule UID, another name', () => {
    const name = drillName('nightly', DRILL_AT);
    assert.notEqual(drillDatabaseName('proj-a-prd', name, 'u'), drillDatabaseName('proj-b-prd', name, 'u'));
    assert.notEqual(drillDatabaseName('proj-a-prd', name, 'u1'), drillDatabaseName('proj-a-prd', name, 'u2'));
    assert.equal(drillDatabaseName('proj-a-prd', name, 'u'), drillDatabaseName('proj-a-prd', name, 'u'));
  });

  it('creates the same single drill however often the same moment is synced, and nothing again once it exists (stale parent too)', () => {
    const backups = [backup('nightly-1', DRILL_AT - HOUR)];
    const parent = schedule();
    const decisions = Array.from({ length: 5 }, () => decide(parent, backups));
    for (const d of decisions) assert.deepEqual(d, decisions[0]);
    const created = newDrills(decisions[0]!, []);
    assert.equal(created.length, 1);
    // Metacontroller created it; the next sync still sees the old (cached) parent status.
    const child = drill(DRILL_AT);
    const stale = decide(parent, backups, [child], NOW + 5_000);
    assert.deepEqual(newDrills(stale, [child]), []);
    assert.equal(stale.status.lastDrillScheduleTime, iso(DRILL_AT));
    assert.equal(stale.status.activeDrill, child.metadata.name);
  });

  it('no verified backup: no drill, a condition says why, and the drill time counts as skipped', () => {
    for (const backups of [[], [backup('nightly-1', DRILL_AT - HOUR, 'Succeeded', false)], [backup('nightly-2', DRILL_AT - HOUR, 'Failed')]]) {
      const d = decide(schedule(), backups);
      assert.deepEqual(newDrills(d, []), []);
      assert.equal(condition(d).status, 'False');
      assert.equal(condition(d).reason, 'NoVerifiedBackup');
      assert.match(condition(d).message, /skipped the drill at 2026-11-21T03:00:00Z: this schedule has no Succeeded backup that is not known inconsistent/);
      assert.equal(d.status.lastDrillScheduleTime, iso(DRILL_AT));
    }
  });

  it('a running drill defers the next one, which starts as soon as it is done (never two at once)', () => {
    const backups = [backup('nightly-1', DRILL_AT - HOUR)];
    const yesterday = DRILL_AT - 24 * HOUR;
    const running = drill(yesterday, 'RestoringDatabase');
    const d = decide(schedule(), backups, [running]);
    assert.deepEqual(newDrills(d, [running]), []);
    assert.equal(condition(d).reason, 'PreviousDrillRunning');
    assert.equal(d.status.lastDrillScheduleTime, iso(yesterday), 'the time is not used up');
    assert.equal(d.status.activeDrill, running.metadata.name);
    // Failed, but its scratch targets are still being removed: still busy.
    const cleaning = drill(yesterday, 'Failed', { verdict: 'Failed', cleanup: 'Pending' });
    assert.deepEqual(newDrills(decide(schedule(), backups, [cleaning]), [cleaning]), []);
    // Done (two hours late): the deferred drill starts now, under its own time's name.
    const finished = drill(yesterday, 'Succeeded', { verdict: 'Passed', rtoSeconds: 42, cleanup: 'Done' }, 'nightly-1', { completionTime: iso(NOW + 2 * HOUR) });
    const later = decide(schedule(), backups, [finished], NOW + 2 * HOUR);
    assert.deepEqual(newDrills(later, [finished]).map((c) => c.metadata.name), [drillName('nightly', DRILL_AT)]);
  });

  it('a backup a running drill restores from is not deleted by retention under it', () => {
    const backups = [backup('nightly-1', DRILL_AT - 2 * HOUR), backup('nightly-2', DRILL_AT - HOUR)];
    const parent = schedule({}, {});
    parent.spec!.retention = { keepLast: 1 };
    const running = drill(DRILL_AT - 24 * HOUR, 'RestoringDatabase', undefined, 'nightly-1');
    const d = decide(parent, backups, [running]);
    assert.ok(d.children.some((c) => c.metadata.name === 'nightly-1'), 'kept while the drill runs');
    const done = drill(DRILL_AT - 24 * HOUR, 'Succeeded', { verdict: 'Passed', cleanup: 'Done' }, 'nightly-1');
    assert.ok(!decide(parent, backups, [done]).children.some((c) => c.metadata.name === 'nightly-1'), 'deleted once it is done');
  });

  it('keeps the newest finished drills (keep, default 3) and every running one; never another schedule\'s restores', () => {
    const backups = [backup('nightly-1', DRILL_AT - HOUR)];
    const days = [1, 2, 3, 4, 5].map((n) => DRILL_AT - n * 24 * HOUR);
    const finished = days.map((t) => drill(t, 'Succeeded', { verdict: 'Passed', rtoSeconds: 10, cleanup: 'Done' }, 'nightly-1', { completionTime: iso(t + HOUR) }));
    const foreign: DrillRestore = { ...drill(days[4]! - 24 * HOUR, 'Succeeded'), metadata: { name: 'manual-restore', namespace: NS } };
    const names = (d: ScheduleDecision) => d.children.filter((c) => c.kind === 'RestoreRequest').map((c) => c.metadata.name).sort();
    const d = decide(schedule({}, { lastDrillScheduleTime: iso(DRILL_AT) }), backups, [...finished, foreign]);
    assert.deepEqual(names(d), ['manual-restore', ...finished.slice(0, 3).map((c) => c.metadata.name)].sort());
    const one = decide(schedule({ keep: 1 }, { lastDrillScheduleTime: iso(DRILL_AT) }), backups, [...finished, foreign]);
    assert.deepEqual(names(one), ['manual-restore', finished[0]!.metadata.name].sort());
  });

  it('reports the newest finished drill: verdict, RTO, backup, times; a restore that failed before any verdict is a Failed drill', () => {
    const backups = [backup('nightly-1', DRILL_AT - HOUR)];
    const t1 = DRILL_AT - 48 * HOUR;
    const t2 = DRILL_AT - 24 * HOUR;
    const passed = drill(t1, 'Succeeded', { verdict: 'Passed', rtoSeconds: 312.4, cleanup: 'Done' }, 'nightly-0', { startTime: iso(t1), completionTime: iso(t1 + 400_000) });
    const failed: DrillRestore = { ...drill(t2, 'Failed', undefined, 'nightly-1', { startTime: iso(t2), completionTime: iso(t2 + 60_000) }) };
    failed.status!.conditions = [{ type: 'Ready', status: 'False', reason: 'SourceNotFound', message: 'backup nightly-1 has no manifest', lastTransitionTime: iso(t2) }];
    const d = decide(schedule({}, { lastDrillScheduleTime: iso(DRILL_AT) }), backups, [passed, failed]);
    assert.deepEqual(d.status.lastDrill, { name: failed.metadata.name, backup: 'nightly-1', startTime: iso(t2), completionTime: iso(t2 + 60_000), verdict: 'Failed', message: 'backup nightly-1 has no manifest' });
    const only = decide(schedule({}, { lastDrillScheduleTime: iso(DRILL_AT) }), backups, [passed]);
    assert.deepEqual(only.status.lastDrill, { name: passed.metadata.name, backup: 'nightly-0', startTime: iso(t1), completionTime: iso(t1 + 400_000), verdict: 'Passed', rtoSeconds: 312 });
    assert.deepEqual(statusErrors('BackupSchedule', only.status), []);
    // Its drill children gone (kept elsewhere: the archive), the status keeps the last report.
    const after = decide(schedule({}, { lastDrillScheduleTime: iso(DRILL_AT), lastDrill: only.status.lastDrill! }), backups, []);
    assert.deepEqual(after.status.lastDrill, only.status.lastDrill);
  });

  it('fires in its own time zone, wakes the schedule for the next drill, and suspends on its own', () => {
    const backups = [backup('nightly-1', DRILL_AT - HOUR)];
    // 03:00 in Tokyo is 18:00 UTC the day before.
    const tokyo = decide(schedule({ timeZone: 'Asia/Tokyo' }, { lastDrillScheduleTime: iso(DRILL_AT) }), backups);
    assert.equal(tokyo.status.nextDrillTime, '2026-11-21T18:00:00Z');
    const quiet = decide(schedule({}, { lastDrillScheduleTime: iso(DRILL_AT), lastScheduleTime: iso(DRILL_AT) }), backups, [], DRILL_AT + 59 * MINUTE);
    assert.equal(quiet.resyncAfterSeconds, 61, 'the hourly backup is sooner');
    const suspended = decide(schedule({ suspend: true }), backups);
    assert.deepEqual(newDrills(suspended, []), []);
    assert.equal(condition(suspended).reason, 'Suspended');
    assert.equal(suspended.status.nextDrillTime, undefined);
  });

  it('a bad drill schedule stops drills with a condition, never the backups', () => {
    const backups = [backup('nightly-1', DRILL_AT - HOUR)];
    const parent = schedule({ timeZone: 'Mars/Olympus' }, { lastScheduleTime: iso(DRILL_AT - HOUR) });
    const d = decide(parent, backups);
    assert.equal(condition(d).reason, 'InvalidDrill');
    assert.match(condition(d).message, /spec\.drill\.timeZone: "Mars\/Olympus" is not an IANA time zone name/);
    assert.deepEqual(newDrills(d, []), []);
    assert.equal(d.children.filter((c) => c.kind === 'BackupRequest').length, 2, 'the hourly backup still runs');
    const cron = decide(schedule({ schedule: '0 25 * * *' }), backups);
    assert.match(condition(cron).message, /spec\.drill\.schedule: hour field: "25"/);
  });

  it('without spec.drill: no drill condition or time, finished drills still pruned to the default', () => {
    const backups = [backup('nightly-1', DRILL_AT - HOUR)];
    const days = [1, 2, 3, 4].map((n) => drill(DRILL_AT - n * 24 * HOUR, 'Succeeded', { verdict: 'Passed', cleanup: 'Done' }));
    const parent = schedule(null, { conditions: [{ type: 'DrillScheduled', status: 'True', reason: 'Scheduled', message: '', lastTransitionTime: iso(DRILL_AT) }] });
    const d = decide(parent, backups, days);
    assert.equal(d.status.conditions!.some((c) => c.type === 'DrillScheduled'), false);
    assert.equal(d.status.nextDrillTime, undefined);
    assert.equal(d.children.filter((c) => c.kind === 'RestoreRequest').length, 3);
  });
});

describe('BackupSchedule drills through the hook server (MetacontrollerDriver)', () => {
  const BR = 'BackupRequest.backup.liferay.cloud/v1alpha1';
  const RR = 'RestoreRequest.backup.liferay.cloud/v1alpha1';

  it('creates the drill RestoreRequest child, never twice under replays and a stale parent, and folds its status into the schedule\'s', async () => {
    const { startHook } = await import('./support/inProcessHook.ts');
    const { MetacontrollerDriver } = await import('./support/driver.ts');
    let now = Date.parse('2026-11-21T02:00:30Z');
    const clock = () => now;
    const hook = await startHook({ clock });
    try {
      const parent = schedule({}, { lastScheduleTime: '2026-11-21T01:00:00Z', lastDrillScheduleTime: iso(DRILL_AT - 24 * HOUR) });
      const driver = new MetacontrollerDriver(parent, { hookUrl: () => hook.url, syncPath: '/backupschedule/sync', secrets: {}, childKinds: [BR, RR], clock });
      const kids = (kind: string) => [...driver.children.values()].filter((c) => c.kind === kind);
      await driver.sync();
      assert.equal(kids('BackupRequest').length, 1);
      assert.equal(kids('RestoreRequest').length, 0);
      // The backup's own controller finishes it, verified.
      const first = kids('BackupRequest')[0]!;
      first.status = { phase: 'Succeeded', completionTime: '2026-11-21T02:20:00Z', conditions: [{ type: 'Consistent', status: 'True', reason: 'AllReferencedFilesCopied', message: '', lastTransitionTime: '2026-11-21T02:20:00Z' }] };

      now = DRILL_AT + 30_000;
      await driver.sync();
      const drills = kids('RestoreRequest');
      assert.equal(drills.length, 1);
      const d = drills[0]!;
      assert.equal(d.metadata.name, drillName('nightly', DRILL_AT));
      assert.deepEqual((d.spec as RestoreRequestSpec).source, { backupRef: { name: first.metadata.name } });
      assert.equal((d.spec as { drill?: boolean }).drill, true);
      assert.equal(driver.status.activeDrill, d.metadata.name);
      // Replays, and one with the parent status Metacontroller's cache held before the drill began.
      for (let i = 0; i < 3; i += 1) await driver.sync();
      driver.parent.status = driver.history[1]!;
      now += 5_000;
      await driver.sync();
      assert.equal(kids('RestoreRequest').length, 1, 'one drill for one drill time');
      assert.equal(driver.status.lastDrillScheduleTime, iso(DRILL_AT));

      // The restore's own controller: running, then passed and cleaned up.
      d.status = { phase: 'RestoringDatabase', startTime: iso(DRILL_AT + 31_000) };
      await driver.sync();
      assert.equal(driver.status.activeDrill, d.metadata.name);
      assert.equal(driver.status.lastDrill, undefined);
      d.status = { phase: 'Succeeded', startTime: iso(DRILL_AT + 31_000), completionTime: iso(DRILL_AT + 190_000), drill: { verdict: 'Passed', rtoSeconds: 151, cleanup: 'Done' } } as DrillRestore['status'];
      now = DRILL_AT + 200_000;
      await driver.sync();
      assert.equal(driver.status.activeDrill, undefined);
      assert.deepEqual(driver.status.lastDrill, { name: d.metadata.name, backup: first.metadata.name, startTime: iso(DRILL_AT + 31_000), completionTime: iso(DRILL_AT + 190_000), verdict: 'Passed', rtoSeconds: 151 });
      assert.equal(driver.status.nextDrillTime, iso(DRILL_AT + 24 * HOUR));
      assert.deepEqual(statusErrors('BackupSchedule', driver.status), []);
    } finally { await hook.close(); }
  });
});
