// The BackupSchedule machine with an injected clock (nothing sleeps), and once over HTTP.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decideSchedule, childName, scheduleLabel, SCHEDULE_LABEL, SCHEDULED_AT_ANNOTATION, INTERVAL_ANNOTATION, type ScheduleDecision } from '../hooks/schedule/machine.ts';
import type { BackupRequest, BackupSchedule, BackupScheduleSpec, BackupScheduleStatus } from '../core/crd.ts';
import { statusErrors } from '../core/validation/schema.ts';
import { backupRequest } from './support/resources.ts';
import { startHook, post } from './support/inProcessHook.ts';

const T0 = Date.parse('2026-11-20T00:00:00Z');
const HOUR = 3_600_000;

function schedule(spec: Partial<BackupScheduleSpec> = {}, status?: BackupScheduleStatus, name = 'nightly'): BackupSchedule {
  return {
    apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupSchedule',
    metadata: { name, namespace: 'proj-retail-prd', uid: 'sched-uid', generation: 1, creationTimestamp: new Date(T0).toISOString() },
    spec: { schedule: '0 * * * *', template: { spec: { ...backupRequest('t').spec!, initiator: undefined } }, ...spec },
    ...(status ? { status } : {}),
  };
}

/** A child as the API server would hold it after Metacontroller created it. */
function child(obj: { metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: unknown }, phase?: string, completionTime?: string): BackupRequest {
  return {
    apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupRequest',
    metadata: { ...obj.metadata, namespace: 'proj-retail-prd', creationTimestamp: obj.metadata.annotations?.[SCHEDULED_AT_ANNOTATION] ?? new Date(T0).toISOString() },
    spec: obj.spec as BackupRequest['spec'],
    ...(phase ? { status: { phase: phase as 'Succeeded', ...(completionTime ? { completionTime } : {}) } } : {}),
  };
}
const newOnes = (d: ScheduleDecision, existing: BackupRequest[]) => d.children.filter((c) => !existing.some((e) => e.metadata.name === c.metadata.name));
const ready = (d: ScheduleDecision, type = 'Ready') => d.status.conditions!.find((c) => c.type === type)!;

describe('BackupSchedule', () => {
  it('never copies the service\'s own annotations or labels (backup.liferay.cloud/*) from its template', () => {
    const parent = schedule({ template: { metadata: {
      annotations: { team: 'web', 'backup.liferay.cloud/schedule-interval-seconds': '31536000', 'backup.liferay.cloud/on-schedule-deletion-x': 'x' },
      labels: { app: 'portal', 'backup.liferay.cloud/project': 'bank' },
    }, spec: { ...backupRequest('t').spec!, initiator: undefined } } }, { lastScheduleTime: new Date(T0).toISOString() });
    const created = newOnes(decideSchedule({ parent, children: [], now: T0 + HOUR + 5_000 }), [])[0]!;
    assert.deepEqual(created.metadata.annotations, {
      team: 'web', [SCHEDULED_AT_ANNOTATION]: new Date(T0 + HOUR).toISOString().replace('.000', ''), 'backup.liferay.cloud/on-schedule-deletion': 'Retain',
      [INTERVAL_ANNOTATION]: '3600',
    });
    assert.deepEqual(created.metadata.labels, { app: 'portal', [SCHEDULE_LABEL]: 'nightly' });
  });

  it('creates one child per scheduled time with a deterministic name, however often it is synced', () => {
    const parent = schedule({}, { lastScheduleTime: new Date(T0).toISOString() });
    const now = T0 + HOUR + 5_000;
    const decisions = Array.from({ length: 10 }, () => decideSchedule({ parent, children: [], now }));
    for (const d of decisions) assert.deepEqual(d, decisions[0]);
    const created = newOnes(decisions[0]!, []);
    assert.equal(created.length, 1);
    assert.equal(created[0]!.metadata.name, childName('nightly', T0 + HOUR));
    assert.equal(created[0]!.metadata.labels?.[SCHEDULE_LABEL], 'nightly');
    const spec = created[0]!.spec as { deletionPolicy: string; initiator: string };
    assert.equal(spec.deletionPolicy, 'Delete');
    assert.equal(spec.initiator, 'schedule/proj-retail-prd/nightly');
    // The next sync sees the child (and may still see the old status): nothing new.
    const children = [child(created[0]!)];
    assert.deepEqual(newOnes(decideSchedule({ parent, children, now: now + 1000 }), children), []);
    assert.deepEqual(newOnes(decideSchedule({ parent: { ...parent, status: decisions[0]!.status }, children, now: now + 2000 }), children), []);
    assert.equal(decisions[0]!.resyncAfterSeconds, Math.ceil((T0 + 2 * HOUR - now) / 1000) + 1, 'wakes up at the next cron time');
    assert.deepEqual(statusErrors('BackupSchedule', decisions[0]!.status), []);
  });

  it('after a 3-day outage runs the latest missed time once and says what it skipped', () => {
    const parent = schedule({}, { lastScheduleTime: new Date(T0).toISOString() });
    const now = T0 + 72 * HOUR + 60_000;
    const d = decideSchedule({ parent, children: [], now });
    const created = newOnes(d, []);
    assert.equal(created.length, 1, 'one run, not 72');
    assert.equal(created[0]!.metadata.name, childName('nightly', T0 + 72 * HOUR));
    assert.equal(d.status.skippedRuns, 71);
    assert.equal(ready(d, 'Scheduled').reason, 'CaughtUp');
    assert.match(ready(d, 'Scheduled').message, /ran the missed run at 2026-11-23T00:00:00Z once and skipped 71 earlier missed run\(s\) since 2026-11-20T01:00:00Z/);
  });

  it('startingDeadlineSeconds: a run found too late is skipped, not started', () => {
    const parent = schedule({ startingDeadlineSeconds: 300 }, { lastScheduleTime: new Date(T0).toISOString() });
    const d = decideSchedule({ parent, children: [], now: T0 + HOUR + 30 * 60_000 });
    assert.deepEqual(newOnes(d, []), []);
    assert.equal(ready(d, 'Scheduled').reason, 'MissedDeadline');
    assert.equal(d.status.skippedRuns, 1);
    assert.equal(d.status.lastScheduleTime, new Date(T0 + HOUR).toISOString().replace('.000Z', 'Z'));
  });

  it('concurrencyPolicy: Forbid skips while one runs, Allow runs both, Replace drops the running one', () => {
    const running = child({ metadata: { name: childName('nightly', T0), labels: { [SCHEDULE_LABEL]: 'nightly' } }, spec: backupRequest('x').spec }, 'ExportInProgress');
    const at = T0 + HOUR + 1000;
    const forbid = decideSchedule({ parent: schedule({}, { lastScheduleTime: new Date(T0).toISOString() }), children: [running], now: at });
    assert.deepEqual(newOnes(forbid, [running]), []);
    assert.equal(ready(forbid, 'Scheduled').reason, 'PreviousRunning');
    assert.deepEqual(forbid.status.active, [running.metadata.name]);
    const allow = decideSchedule({ parent: schedule({ concurrencyPolicy: 'Allow' }, { lastScheduleTime: new Date(T0).toISOString() }), children: [running], now: at });
    assert.equal(allow.children.length, 2);
    const replace = decideSchedule({ parent: schedule({ concurrencyPolicy: 'Replace' }, { lastScheduleTime: new Date(T0).toISOString() }), children: [running], now: at });
    assert.deepEqual(replace.children.map((c) => c.metadata.name), [childName('nightly', T0 + HOUR)]);
  });

  it('suspend creates nothing and keeps every existing backup', () => {
    const done = child({ metadata: { name: 'nightly-1', labels: { [SCHEDULE_LABEL]: 'nightly' } }, spec: backupRequest('x').spec }, 'Succeeded', '2026-11-19T00:00:00Z');
    const d = decideSchedule({ parent: schedule({ suspend: true }, { lastScheduleTime: new Date(T0).toISOString() }), children: [done], now: T0 + 5 * HOUR });
    assert.deepEqual(d.children.map((c) => c.metadata.name), ['nightly-1']);
    assert.equal(d.status.nextScheduleTime, undefined);
    assert.equal(d.resyncAfterSeconds, undefined);
    assert.equal(ready(d, 'Scheduled').reason, 'Suspended');
  });

  it('retention leaves expired backups out (Metacontroller deletes them) and never touches one it did not make', () => {
    const mine = Array.from({ length: 6 }, (_, i) => child({ metadata: { name: `nightly-${i}`, labels: { [SCHEDULE_LABEL]: 'nightly' } }, spec: backupRequest('x').spec }, i === 5 ? 'Failed' : 'Succeeded', new Date(T0 - (6 - i) * 24 * HOUR).toISOString()));
    const adopted = child({ metadata: { name: 'hand-made' }, spec: backupRequest('x').spec }, 'Succeeded', new Date(T0 - 100 * 24 * HOUR).toISOString());
    const d = decideSchedule({ parent: schedule({ retention: { keepLast: 2 } }, { lastScheduleTime: new Date(T0).toISOString() }), children: [...mine, adopted], now: T0 + 1000 });
    assert.deepEqual(d.status.deletedByRetention, ['nightly-0', 'nightly-1', 'nightly-2']);
    assert.deepEqual(d.children.map((c) => c.metadata.name).sort(), ['hand-made', 'nightly-3', 'nightly-4', 'nightly-5']);
    assert.equal(d.status.lastSuccessfulBackup, 'nightly-4');
    assert.equal(ready(d).reason, 'LastBackupFailed', 'the newest finished backup failed');
  });

  it('retention works for a schedule with a 200-character name: its children are labelled and the expired one is deleted', () => {
    const name = `${'retail-production-nightly.'.repeat(8)}backups`.slice(0, 200);
    assert.equal(name.length, 200);
    const parent = (status?: BackupScheduleStatus) => schedule({ schedule: '0 2 * * *', retention: { maxAgeDays: 30 } }, status, name);
    // Two runs 40 days apart, each created by the machine itself (so labelled as it labels them).
    const firstRun = Date.parse('2026-10-01T02:00:00Z');
    const first = newOnes(decideSchedule({ parent: parent({ lastScheduleTime: '2026-09-30T02:00:00Z' }), children: [], now: firstRun + 5_000 }), []);
    const secondRun = Date.parse('2026-11-10T02:00:00Z');
    const second = newOnes(decideSchedule({ parent: parent({ lastScheduleTime: '2026-11-09T02:00:00Z' }), children: [], now: secondRun + 5_000 }), []);
    assert.equal(first.length, 1);
    assert.equal(second.length, 1);
    assert.equal(first[0]!.metadata.labels?.[SCHEDULE_LABEL], scheduleLabel(name));
    const children = [child(first[0]!, 'Succeeded', '2026-10-01T02:30:00Z'), child(second[0]!, 'Succeeded', '2026-11-10T02:30:00Z')];
    const d = decideSchedule({ parent: parent({ lastScheduleTime: '2026-11-10T02:00:00Z' }), children, now: Date.parse('2026-11-10T12:00:00Z') });
    assert.deepEqual(d.status.deletedByRetention, [first[0]!.metadata.name]);
    assert.deepEqual(d.children.map((c) => c.metadata.name), [second[0]!.metadata.name]);
    assert.equal(d.status.lastSuccessfulBackup, second[0]!.metadata.name);
  });

  it('child names and labels are valid Kubernetes values for any schedule name, and tell long names apart', () => {
    const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
    const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
    const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    // A schedule's name is itself a DNS subdomain of at most 253 characters.
    const scheduleName = fc.array(label, { minLength: 1, maxLength: 8 }).map((ls) => ls.join('.')).filter((n) => n.length <= 253);
    const at = fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2200-01-01T00:00:00Z') });
    fc.assert(fc.property(scheduleName, at, (name, t) => {
      const child = childName(name, t);
      assert.ok(child.length <= 253 && dnsSubdomain.test(child), child);
      const value = scheduleLabel(name);
      assert.ok(value.length <= 63 && labelValue.test(value), value);
      assert.equal(scheduleLabel(name), value, 'deterministic');
      if (name.length <= 63) assert.equal(value, name, 'a name that fits is its own label');
    }), { numRuns: 1000 });
    // Cut exactly where a '.' falls, and two long names alike but for their end.
    const long = `${'a'.repeat(45)}.${'b'.repeat(136)}.${'c'.repeat(30)}`;
    for (const name of [long, `${long}x`, `${'d'.repeat(182)}.e`]) {
      assert.ok(dnsSubdomain.test(childName(name, 0)), childName(name, 0));
      assert.ok(labelValue.test(scheduleLabel(name)), scheduleLabel(name));
    }
    assert.notEqual(scheduleLabel(long), scheduleLabel(`${long}x`));
    assert.notEqual(childName(long, 0), childName(`${long}x`, 0));
  });

  it('an invalid schedule reports the field and keeps its backups', () => {
    const kept = child({ metadata: { name: 'nightly-1', labels: { [SCHEDULE_LABEL]: 'nightly' } }, spec: backupRequest('x').spec }, 'Succeeded');
    for (const [spec, message] of [
      [{ schedule: '61 * * * *' }, /spec\.schedule: minute field: "61" is not a value from 0 to 59/],
      [{ timeZone: 'Mars/Olympus' }, /spec\.timeZone: "Mars\/Olympus" is not an IANA time zone name/],
      [{ concurrencyPolicy: 'Sometimes' }, /spec\.concurrencyPolicy: "Sometimes" is not one of Allow, Forbid, Replace/],
    ] as const) {
      const d = decideSchedule({ parent: schedule(spec as Partial<BackupScheduleSpec>), children: [kept], now: T0 + HOUR });
      assert.equal(ready(d).reason, 'InvalidSpec');
      assert.match(ready(d).message, message);
      assert.deepEqual(d.children.map((c) => c.metadata.name), ['nightly-1']);
    }
  });

  it('serves /backupschedule/sync with the hook server\'s clock', async () => {
    const hook = await startHook();
    try {
      const res = await post(`${hook.url}/backupschedule/sync`, { parent: schedule({ schedule: '* * * * *' }, { lastScheduleTime: new Date(Date.now() - 120_000).toISOString() }), children: { 'BackupRequest.backup.liferay.cloud/v1alpha1': {} }, related: {} });
      assert.equal(res.status, 200);
      assert.equal((res.body.children as unknown[]).length, 1);
      assert.ok((res.body.resyncAfterSeconds as number) <= 61);
    } finally { await hook.close(); }
  });
});
