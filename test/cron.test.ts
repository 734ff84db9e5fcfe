// Cron × time zones × DST against expected fire times; a clock is passed in, nothing sleeps.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nextFire, parseCron } from '../hooks/schedule/cron.ts';

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
