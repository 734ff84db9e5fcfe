// BackupSchedule after long outages and suspensions: one decision per sync, found directly and
// never by visiting each missed time. Work is asserted as a count of ICU time-zone lookups (each
// test uses a zone of its own, so its caches start cold), never as a duration.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideSchedule, childName, SCHEDULE_LABEL, SCHEDULED_AT_ANNOTATION, type ScheduleDecision } from '../hooks/schedule/machine.ts';
import { icuLookups } from '../hooks/schedule/timezone.ts';
import type { BackupRequest, BackupSchedule, BackupScheduleSpec, BackupScheduleStatus } from '../core/crd.ts';
import { statusErrors } from '../core/validation/schema.ts';
import { backupRequest } from './support/resources.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
// Half a minute past a fire time of a per-minute schedule.
const NOW = Date.parse('2026-11-20T09:41:30Z');
const LATEST = Date.parse('2026-11-20T09:41:00Z');
const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

function schedule(spec: Partial<BackupScheduleSpec>, status: BackupScheduleStatus): BackupSchedule {
  return {
    apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupSchedule',
    metadata: { name: 'every-minute', namespace: 'proj-retail-prd', uid: 'sched-uid', generation: 1, creationTimestamp: '2020-01-01T00:00:00Z' },
    spec: { schedule: '* * * * *', template: { spec: { ...backupRequest('t').spec!, initiator: undefined } }, ...spec },
    status,
  };
}
const created = (d: ScheduleDecision, existing: readonly BackupRequest[]) => d.children.filter((c) => !existing.some((e) => e.metadata.name === c.metadata.name));
const condition = (d: ScheduleDecision, type: string) => d.status.conditions!.find((c) => c.type === type)!;
/** The decision and how many times it asked ICU for a time. */
function decide(parent: BackupSchedule, now: number, children: BackupRequest[] = []): { d: ScheduleDecision; lookups: number } {
  const before = icuLookups();
  const d = decideSchedule({ parent, children, now });
  return { d, lookups: icuLookups() - before };
}
const done = (name: string): BackupRequest => ({
  apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupRequest',
  metadata: { name, namespace: 'proj-retail-prd', labels: { [SCHEDULE_LABEL]: 'every-minute' } },
  spec: backupRequest('x').spec!, status: { phase: 'Succeeded', completionTime: '2026-01-01T00:00:00Z' },
});

// Per-minute schedules: UTC for 3 hours (180 times); Europe/Berlin for 90 days, whose window holds
// the 2026-10-25 fall-back: its repeated hour fires once, so 60 instants fewer fire than elapse.
const outages = [
  { title: '3 h', zone: 'UTC', outage: 3 * HOUR, missed: 180 },
  { title: '90 days', zone: 'Europe/Berlin', outage: 90 * DAY, missed: 90 * 1440 - 60 },
] as const;

describe('BackupSchedule: suspension', () => {
  for (const { title, zone, outage, missed } of outages) {
    const prior: BackupScheduleStatus = { lastScheduleTime: iso(LATEST - outage), skippedRuns: 7 };
    const kept = [done('every-minute-1')];

    it(`suspended through a ${title} outage (${zone}): creates nothing, records nothing, asks no time zone anything`, () => {
      const { d, lookups } = decide(schedule({ timeZone: zone, suspend: true }, prior), NOW, kept);
      assert.deepEqual(created(d, kept), []);
      assert.deepEqual(d.children.map((c) => c.metadata.name), ['every-minute-1']);
      assert.equal(d.status.lastScheduleTime, prior.lastScheduleTime, 'lastScheduleTime stays at the last run');
      assert.equal(d.status.skippedRuns, 7, 'nothing is counted while suspended');
      assert.equal(d.status.nextScheduleTime, undefined);
      assert.equal(d.resyncAfterSeconds, undefined);
      assert.equal(condition(d, 'Scheduled').reason, 'Suspended');
      assert.equal(condition(d, 'Scheduled').status, 'False');
      assert.equal(lookups, 0, 'no fire time is computed while suspended');
    });

    it(`resumed after a ${title} suspension (${zone}): the latest time runs once, the others are skipped runs`, () => {
      const parent = schedule({ timeZone: zone }, prior);
      const { d, lookups } = decide(parent, NOW, kept);
      const wanted = childName('every-minute', LATEST);
      assert.deepEqual(created(d, kept).map((c) => c.metadata.name), [wanted]);
      assert.equal(created(d, kept)[0]!.metadata.annotations?.[SCHEDULED_AT_ANNOTATION], iso(LATEST));
      assert.equal(d.status.skippedRuns, 7 + missed - 1);
      assert.equal(d.status.lastScheduleTime, iso(LATEST));
      assert.equal(d.status.nextScheduleTime, iso(LATEST + MINUTE));
      assert.equal(d.resyncAfterSeconds, 31);
      assert.equal(condition(d, 'Scheduled').reason, 'CaughtUp');
      assert.equal(condition(d, 'Scheduled').message, `ran the missed run at ${iso(LATEST)} once and skipped ${missed - 1} earlier missed run(s) since ${iso(LATEST - outage + MINUTE)}`);
      assert.deepEqual(statusErrors('BackupSchedule', d.status), []);
      // A walk would ask ICU about every hour of the outage (2,160 for 90 days).
      assert.ok(lookups <= 60, `${lookups} ICU lookups`);

      // The next sync sees the child and the new status: nothing new, nothing counted twice.
      const children = [...kept, { ...(d.children.find((c) => c.metadata.name === wanted) as BackupRequest), status: { phase: 'Succeeded' as const, completionTime: iso(NOW) } }];
      const again = decide({ ...parent, status: d.status }, NOW + 20_000, children).d;
      assert.deepEqual(created(again, children), []);
      assert.equal(again.status.skippedRuns, 7 + missed - 1);
      assert.equal(condition(again, 'Scheduled').reason, 'Scheduled');
    });

    it(`resumed after a ${title} suspension with startingDeadlineSeconds: every missed time is skipped`, () => {
      const { d } = decide(schedule({ timeZone: zone, startingDeadlineSeconds: 10 }, prior), NOW, kept);
      assert.deepEqual(created(d, kept), []);
      assert.equal(d.status.skippedRuns, 7 + missed);
      assert.equal(d.status.lastScheduleTime, iso(LATEST));
      assert.equal(condition(d, 'Scheduled').message, `skipped ${missed} run(s) up to ${iso(LATEST)}: more than 10s late (startingDeadlineSeconds)`);
    });
  }
});

describe('BackupSchedule: long outages', () => {
  // Per-minute, the count is arithmetic: the minutes elapsed, less 60 per fall-back (Berlin
  // 2024-10-27, 2025-10-26 and 2026-10-25 in the 3-year window; a spring-forward's skipped hour
  // fires once at its end, so it costs nothing: each instant fires once).
  const cases = [
    { title: '90 days', zone: 'Asia/Kolkata', outage: 90 * DAY, missed: 90 * 1440, maxLookups: 60 },
    { title: '3 years', zone: 'Asia/Tokyo', outage: 1096 * DAY, missed: 1096 * 1440, maxLookups: 250 },
    { title: '3 years across DST', zone: 'Europe/Paris', outage: 1096 * DAY, missed: 1096 * 1440 - 3 * 60, maxLookups: 350 },
  ] as const;
  for (const { title, zone, outage, missed, maxLookups } of cases) {
    it(`a per-minute schedule ${title} after its last run (${zone}): one child for the latest minute, skippedRuns counted`, () => {
      const { d, lookups } = decide(schedule({ timeZone: zone }, { lastScheduleTime: iso(LATEST - outage) }), NOW);
      assert.deepEqual(created(d, []).map((c) => c.metadata.name), [childName('every-minute', LATEST)]);
      assert.equal(d.status.skippedRuns, missed - 1);
      assert.equal(d.status.lastScheduleTime, iso(LATEST));
      assert.match(condition(d, 'Scheduled').message, new RegExp(`skipped ${missed - 1} earlier missed run\\(s\\) since ${iso(LATEST - outage + MINUTE)}`));
      assert.ok(lookups <= maxLookups, `${lookups} ICU lookups`);
    });
  }

  it('a status claiming a last run centuries ago still settles in one bounded decision', () => {
    const { d, lookups } = decide(schedule({ timeZone: 'America/Halifax' }, { lastScheduleTime: '1826-01-01T00:00:00Z' }), NOW);
    assert.deepEqual(created(d, []).map((c) => c.metadata.name), [childName('every-minute', LATEST)]);
    assert.equal(d.status.lastScheduleTime, iso(LATEST));
    // Counted over the last 10 years only: about 5.26 million minutes, less 60 per fall-back.
    assert.ok(d.status.skippedRuns! > 5_250_000 && d.status.skippedRuns! < 5_280_000, String(d.status.skippedRuns));
    assert.ok(lookups <= 1200, `${lookups} ICU lookups`);
  });

  it('hourly in Berlin across a fall-back and a spring-forward: 02:00 fires once each time', () => {
    // 2026-03-28T12:00Z .. 2026-10-26T12:00Z: 212 days of hourly times; the skipped 02:00 of 29 March
    // fires with 03:00 at 03:00 CEST (one instant), the repeated 02:00 of 25 October fires once.
    const from = Date.parse('2026-03-28T12:00:00Z');
    const now = Date.parse('2026-10-26T12:00:30Z');
    const { d } = decide(schedule({ schedule: '0 * * * *', timeZone: 'Europe/Berlin' }, { lastScheduleTime: iso(from) }), now);
    const instants = (Date.parse('2026-10-26T12:00:00Z') - from) / HOUR; // 5,088 whole hours elapse
    assert.equal(d.status.skippedRuns, instants - 1 - 1);
    assert.deepEqual(created(d, []).map((c) => c.metadata.name), [childName('every-minute', Date.parse('2026-10-26T12:00:00Z'))]);
  });
});
