// Cron × time zones × DST against expected fire times; a clock is passed in, nothing sleeps.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { countFires, lastFireAtOrBefore, nextFire, parseCron, type CronSchedule } from '../hooks/schedule/cron.ts';
import { offsetAt, wallTime } from '../hooks/schedule/timezone.ts';

function fires(expr: string, zone: string, from: string, n: number): string[] {
  const s = parseCron(expr);
  const out: string[] = [];
  let t = Date.parse(from);
  for (let i = 0; i < n; i += 1) {
    const next = nextFire(s, zone, t);
    if (next === undefined) break;
    out.push(new Date(next).toISOString().replace('.000Z', 'Z'));
    t = next;
  }
  return out;
}

const table: Array<[string, string, string, string, string[]]> = [
  ['nightly, plain days', '30 2 * * *', 'UTC', '2026-11-23T00:00:00Z', ['2026-11-23T02:30:00Z', '2026-11-24T02:30:00Z']],
  ['Berlin spring forward: 02:30 does not exist → 03:00 CEST, never skipped', '30 2 * * *', 'Europe/Berlin', '2026-03-28T00:00:00Z', ['2026-03-28T01:30:00Z', '2026-03-29T01:00:00Z', '2026-03-30T00:30:00Z']],
  ['Berlin fall back: 02:30 happens twice → once, the first time', '30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', ['2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z']],
  ['Berlin fall back, hourly: the repeated 02:00 fires once', '0 * * * *', 'Europe/Berlin', '2026-10-24T23:30:00Z', ['2026-10-25T00:00:00Z', '2026-10-25T02:00:00Z', '2026-10-25T03:00:00Z']],
  ['Berlin spring forward, every 30 min across the gap', '*/30 * * * *', 'Europe/Berlin', '2026-03-29T00:15:00Z', ['2026-03-29T00:30:00Z', '2026-03-29T01:00:00Z', '2026-03-29T01:30:00Z']],
  ['Sao Paulo 2018: midnight did not exist → @daily at 01:00', '@daily', 'America/Sao_Paulo', '2018-11-03T12:00:00Z', ['2018-11-04T03:00:00Z', '2018-11-05T02:00:00Z']],
  ['Sao Paulo 2019 fall back: 23:30 twice → once', '30 23 * * *', 'America/Sao_Paulo', '2019-02-16T12:00:00Z', ['2019-02-17T01:30:00Z', '2019-02-18T02:30:00Z']],
  ['Sao Paulo today: no DST since 2019', '0 2 * * *', 'America/Sao_Paulo', '2026-11-01T00:00:00Z', ['2026-11-01T05:00:00Z', '2026-11-02T05:00:00Z']],
  ['end of month: the 31st skips short months', '0 3 31 * *', 'UTC', '2026-01-01T00:00:00Z', ['2026-01-31T03:00:00Z', '2026-03-31T03:00:00Z', '2026-05-31T03:00:00Z']],
  ['leap day', '0 0 29 2 *', 'Europe/Berlin', '2026-01-01T00:00:00Z', ['2028-02-28T23:00:00Z', '2032-02-28T23:00:00Z']],
  ['@monthly in Berlin', '@monthly', 'Europe/Berlin', '2026-11-15T00:00:00Z', ['2026-11-30T23:00:00Z', '2026-12-31T23:00:00Z']],
  ['@weekly is Sunday midnight', '@weekly', 'UTC', '2026-11-23T00:00:00Z', ['2026-11-29T00:00:00Z', '2026-12-06T00:00:00Z']],
  ['names and 7 = Sunday', '0 4 * JAN-MAR SUN,7', 'UTC', '2026-01-01T00:00:00Z', ['2026-01-04T04:00:00Z', '2026-01-11T04:00:00Z']],
  ['day-of-month OR day-of-week when both are set', '0 0 1 * MON', 'UTC', '2026-11-27T00:00:00Z', ['2026-11-30T00:00:00Z', '2026-12-01T00:00:00Z', '2026-12-07T00:00:00Z']],
  ['ranges with steps', '0 8-18/5 * * *', 'UTC', '2026-11-23T00:00:00Z', ['2026-11-23T08:00:00Z', '2026-11-23T13:00:00Z', '2026-11-23T18:00:00Z', '2026-11-24T08:00:00Z']],
];

describe('cron fire times', () => {
  for (const [title, expr, zone, from, expected] of table) {
    it(`${title} (${expr}, ${zone})`, () => assert.deepEqual(fires(expr, zone, from, expected.length), expected));
  }

  it('a date that never comes has no next fire time', () => assert.equal(nextFire(parseCron('0 0 30 2 *'), 'UTC', 0), undefined));

  const bad: Array<[string, RegExp]> = [
    ['* * * *', /has 4 fields; a cron schedule has 5/],
    ['60 * * * *', /minute field: "60" is not a value from 0 to 59/],
    ['0 24 * * *', /hour field: "24" is not a value from 0 to 23/],
    ['0 0 0 * *', /day-of-month field: "0" is not a value from 1 to 31/],
    ['0 0 * 13 *', /month field: "13" is not a value from 1 to 12/],
    ['0 0 * * FUNDAY', /day-of-week field: "FUNDAY"/],
    ['*/0 * * * *', /minute field: step "0" must be a positive integer/],
    ['0 5-2 * * *', /hour field: range "5-2" runs backwards/],
    ['@fortnightly', /has 1 fields/],
  ];
  for (const [expr, message] of bad) it(`rejects "${expr}" saying why`, () => assert.throws(() => parseCron(expr), message));
});

// ---- The direct computations against brute force (property-based) ----------------------------
// The oracle knows nothing of the code under test but the parsed fields: it reads the wall clock
// from ICU at every minute of the window and applies the documented rules literally: an instant
// fires when a matching wall time lies between the latest reading shown before it (exclusive) and
// its own reading (inclusive), which is a gap's times firing at its end and a repeated time firing
// only the first time.
const MINUTE = 60_000;
const DAY = 86_400_000;
const ZONES = ['UTC', 'Europe/Berlin', 'America/Sao_Paulo', 'Australia/Lord_Howe', 'Asia/Kolkata'] as const;

const icu = new Map<string, Intl.DateTimeFormat>();
function icuFormatter(zone: string): Intl.DateTimeFormat {
  let f = icu.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    icu.set(zone, f);
  }
  return f;
}
/** The wall clock at `t` read as if UTC, in ms, straight from ICU. */
function icuWall(zone: string, t: number): number {
  const p = Object.fromEntries(icuFormatter(zone).formatToParts(t).map((x) => [x.type, x.value]));
  return Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!, +p.second!);
}
function matches(s: CronSchedule, localMs: number): boolean {
  const d = new Date(localMs);
  if (!s.months.has(d.getUTCMonth() + 1) || !s.hours.has(d.getUTCHours()) || !s.minutes.has(d.getUTCMinutes())) return false;
  const dom = s.daysOfMonth.has(d.getUTCDate());
  const dow = s.daysOfWeek.has(d.getUTCDay());
  return s.domStar || s.dowStar ? (s.domStar || dom) && (s.dowStar || dow) : dom || dow;
}
function bruteForceFires(s: CronSchedule, zone: string, after: number, until: number): number[] {
  const out: number[] = [];
  let t = Math.floor((after - DAY) / MINUTE) * MINUTE; // a day before: a fall-back overlap's readings
  let highWater = icuWall(zone, t);
  for (t += MINUTE; t <= until; t += MINUTE) {
    const wall = icuWall(zone, t);
    let fires = false;
    for (let w = highWater + MINUTE; w <= wall && !fires; w += MINUTE) fires = matches(s, w);
    highWater = Math.max(highWater, wall);
    if (fires && t > after) out.push(t);
  }
  return out;
}

/** Instants at which each zone's offset changed, 2012-2030: ICU asked daily, then bisected to the second. */
const changes = new Map<string, number[]>(ZONES.map((zone) => {
  const out: number[] = [];
  const offset = (t: number) => icuWall(zone, t) - Math.floor(t / 1000) * 1000;
  for (let t = Date.parse('2012-01-01T00:00:00Z'); t < Date.parse('2030-12-31T00:00:00Z'); t += DAY) {
    if (offset(t) === offset(t + DAY)) continue;
    let [lo, hi] = [t, t + DAY];
    while (hi - lo > 1000) { const mid = lo + Math.floor((hi - lo) / 2000) * 1000; if (offset(mid) === offset(lo)) lo = mid; else hi = mid; }
    out.push(hi);
  }
  return [zone, out];
}));

const field = (min: number, max: number) => fc.oneof(
  { weight: 3, arbitrary: fc.constant('*') },
  { weight: 2, arbitrary: fc.integer({ min: 2, max: Math.max(2, Math.floor((max - min) / 2)) }).map((k) => `*/${k}`) },
  { weight: 2, arbitrary: fc.integer({ min, max }).map(String) },
  { weight: 1, arbitrary: fc.uniqueArray(fc.integer({ min, max }), { minLength: 2, maxLength: 4 }).map((xs) => xs.join(',')) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min, max }), fc.integer({ min, max }), fc.integer({ min: 1, max: 5 })).map(([a, b, k]) => `${Math.min(a, b)}-${Math.max(a, b)}${k > 1 ? `/${k}` : ''}`) },
);
const cronExpression = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(field(0, 59), field(0, 23), fc.oneof({ weight: 4, arbitrary: fc.constant('*') }, { weight: 1, arbitrary: field(1, 31) }), fc.oneof({ weight: 4, arbitrary: fc.constant('*') }, { weight: 1, arbitrary: field(1, 12) }), fc.oneof({ weight: 4, arbitrary: fc.constant('*') }, { weight: 1, arbitrary: field(0, 6) })).map((f) => f.join(' ')) },
  { weight: 1, arbitrary: fc.constantFrom('* * * * *', '0 * * * *', '30 2 * * *', '*/30 * * * *', '0 2 29 2 *', '*/5 * * * *', '0,30 2 * * *', '45 1-3 * * SUN', '@daily', '@hourly') },
);
const anywhere = fc.integer({ min: Date.parse('2012-01-01T00:00:00Z'), max: Date.parse('2030-01-01T00:00:00Z') });
/** A window of up to 3 days, most of them across or just around a change of the zone's offset. */
const window = fc.constantFrom(...ZONES).chain((zone) => {
  const near = changes.get(zone)!;
  return fc.record({
    zone: fc.constant(zone),
    start: near.length === 0 ? anywhere : fc.oneof(
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...near), fc.integer({ min: -2 * DAY, max: DAY })).map(([c, x]) => c + x) },
      // Starting in a gap or a repeated hour, or in the hours before or after one.
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...near), fc.integer({ min: -3 * 3_600_000, max: 3 * 3_600_000 })).map(([c, x]) => c + x) },
      { weight: 1, arbitrary: anywhere },
    ),
    onMinute: fc.boolean(), // a window starting exactly at a minute, as at a fire time
    length: fc.oneof(fc.integer({ min: 0, max: 3 * DAY }), fc.integer({ min: 0, max: 3 * 60 }).map((m) => m * MINUTE)),
  });
});

describe('fire times found directly agree with a walk (property-based)', () => {
  it('countFires and lastFireAtOrBefore equal the brute-force fires of the window; stepping nextFire visits exactly them', () => {
    fc.assert(fc.property(cronExpression, window, (expr, w) => {
      const s = parseCron(expr);
      const after = w.onMinute ? Math.floor(w.start / MINUTE) * MINUTE : w.start;
      const until = after + w.length;
      const expected = bruteForceFires(s, w.zone, after, until);
      const walked: number[] = [];
      for (let t = nextFire(s, w.zone, after); t !== undefined && t <= until; t = nextFire(s, w.zone, t)) walked.push(t);
      assert.deepEqual(walked, expected, 'stepping nextFire');
      assert.equal(countFires(s, w.zone, after, until), expected.length, 'countFires');
      const latest = lastFireAtOrBefore(s, w.zone, until);
      if (expected.length > 0) assert.equal(latest, expected[expected.length - 1], 'lastFireAtOrBefore');
      else assert.ok(latest === undefined || latest <= after, 'no fire in the window: the latest is before it');
      // And the two directions meet: the fire after the latest one is past the window's end.
      if (latest !== undefined) assert.ok((nextFire(s, w.zone, latest) ?? Infinity) > until);
    }), { numRuns: 200 });
  });

  it('offsetAt and wallTime (cached) equal ICU at any second, including around offset changes', () => {
    const zones = [...ZONES, 'America/St_Johns', 'Asia/Kathmandu', 'Africa/Casablanca', 'Pacific/Apia'] as const;
    fc.assert(fc.property(fc.constantFrom(...zones), fc.integer({ min: Date.parse('1990-01-01T00:00:00Z') / 1000, max: Date.parse('2035-01-01T00:00:00Z') / 1000 }), fc.integer({ min: 0, max: 999 }), (zone, seconds, ms) => {
      const t = seconds * 1000 + ms;
      const truth = icuWall(zone, t);
      assert.equal(offsetAt(zone, t), truth - seconds * 1000);
      const w = wallTime(zone, t);
      assert.equal(Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second), truth);
    }), { numRuns: 2000 });
    for (const zone of ZONES) {
      for (const change of changes.get(zone)!.slice(0, 12)) {
        for (let t = change - 2 * 3_600_000; t < change + 2 * 3_600_000; t += MINUTE + 7_001) assert.equal(offsetAt(zone, t), icuWall(zone, t) - Math.floor(t / 1000) * 1000, `${zone} ${new Date(t).toISOString()}`);
      }
    }
  });

  it('examples: the latest fire and the count across DST changes', () => {
    const at = (iso: string) => Date.parse(iso);
    const every = parseCron('* * * * *');
    // Berlin's fall-back day has 25 hours of instants but the repeated hour fires once: 24 × 60.
    assert.equal(countFires(every, 'Europe/Berlin', at('2026-10-24T22:00:00Z'), at('2026-10-25T23:00:00Z')), 1440);
    // Its spring-forward day has 23 hours: the skipped hour's 60 times fire together with 03:00.
    assert.equal(countFires(every, 'Europe/Berlin', at('2026-03-28T23:00:00Z'), at('2026-03-29T22:00:00Z')), 23 * 60);
    // Lord Howe springs forward half an hour at 02:00: 23.5 hours.
    assert.equal(countFires(every, 'Australia/Lord_Howe', at('2026-10-03T13:30:00Z'), at('2026-10-04T13:00:00Z')), 23.5 * 60);
    assert.equal(bruteForceFires(every, 'Australia/Lord_Howe', at('2026-10-03T13:30:00Z'), at('2026-10-04T13:00:00Z')).length, 23.5 * 60);
    // In the second pass of the repeated hour the latest fire is from the first pass (02:59 CEST).
    assert.equal(lastFireAtOrBefore(every, 'Europe/Berlin', at('2026-10-25T01:30:00Z')), at('2026-10-25T00:59:00Z'));
    assert.equal(nextFire(every, 'Europe/Berlin', at('2026-10-25T01:30:00Z')), at('2026-10-25T02:00:00Z'));
    // A nightly 02:30 in the gap fires at 03:00 CEST; right after it nothing more is due that night.
    const nightly = parseCron('30 2 * * *');
    assert.equal(lastFireAtOrBefore(nightly, 'Europe/Berlin', at('2026-03-29T01:00:00Z')), at('2026-03-29T01:00:00Z'));
    assert.equal(lastFireAtOrBefore(nightly, 'Europe/Berlin', at('2026-03-29T00:59:59Z')), at('2026-03-28T01:30:00Z'));
    assert.equal(countFires(nightly, 'Europe/Berlin', at('2026-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z')), 365);
    assert.equal(countFires(parseCron('0 2 29 2 *'), 'UTC', at('2020-01-01T00:00:00Z'), at('2033-01-01T00:00:00Z')), 4);
    assert.equal(lastFireAtOrBefore(parseCron('0 0 30 2 *'), 'UTC', at('2026-01-01T00:00:00Z')), undefined);
  });
});
