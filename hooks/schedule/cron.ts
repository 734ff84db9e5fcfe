// Standard 5-field cron (minute hour day-of-month month day-of-week, with lists, ranges, steps,
// month/day names, 7 = Sunday) plus @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly,
// evaluated in an IANA time zone. Pure functions of (expression, zone, instant).
//
// Daylight-saving rules (docs/decisions.md): a wall time that does not exist (spring forward)
// fires once at the first instant after the gap, so a nightly backup is never skipped; a wall time
// that occurs twice (fall back) fires once, at its first occurrence. Day-of-month and day-of-week
// both restricted: a day matching either one fires (Vixie cron, Kubernetes CronJob).
import { instantsOf, offsetAt, transitionsBetween } from './timezone.ts';

export interface CronSchedule {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  daysOfWeek: ReadonlySet<number>;
  domStar: boolean;
  dowStar: boolean;
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function field(text: string, name: string, min: number, max: number, names: string[] = [], nameBase = 0): Set<number> {
  const value = (token: string): number => {
    const i = names.indexOf(token.toUpperCase());
    const n = i >= 0 ? i + nameBase : /^\d+$/.test(token) ? Number(token) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} field: "${token}" is not a value from ${min} to ${max}`);
    return n;
  };
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`${name} field: step "${stepText}" must be a positive integer`);
    let lo: number;
    let hi: number;
    if (range === '*') { lo = min; hi = max; } else if (range!.includes('-')) {
      const [a, b] = range!.split('-');
      lo = value(a!); hi = value(b!);
      if (lo > hi) throw new Error(`${name} field: range "${range}" runs backwards`);
    } else { lo = value(range!); hi = stepText === undefined ? lo : max; }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** Parses a cron expression; throws an Error whose message says what is wrong. */
export function parseCron(expression: string): CronSchedule {
  const text = MACROS[expression.trim().toLowerCase()] ?? expression.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5) throw new Error(`"${expression}" has ${parts.length} fields; a cron schedule has 5 (minute hour day-of-month month day-of-week) or is a macro such as @daily`);
  const [m, h, dom, mon, dow] = parts as [string, string, string, string, string];
  const daysOfWeek = field(dow, 'day-of-week', 0, 7, DAYS);
  if (daysOfWeek.delete(7)) daysOfWeek.add(0);
  return {
    minutes: field(m, 'minute', 0, 59), hours: field(h, 'hour', 0, 23), daysOfMonth: field(dom, 'day-of-month', 1, 31),
    months: field(mon, 'month', 1, 12, MONTHS, 1), daysOfWeek, domStar: dom.startsWith('*'), dowStar: dow.startsWith('*'),
  };
}


const MINUTE = 60_000;
const DAY = 86_400_000;
const DAY_MINUTES = 1440;
// How far a search for a fire time looks: 29 February can be 8 years away (2096 → 2104).
const HORIZON_DAYS = 366 * 8 + 2;

// Everything below works on "local minutes": minutes since 1970-01-01T00:00 of the wall clock read
// as if it were UTC. The calendar there is plain arithmetic; only the mapping to instants needs the
// zone. A matching wall time w fires at fire(w) (first occurrence, or the end of its gap), which
// never decreases as w grows, so the fire times up to an instant t are exactly those of the
// matching wall times up to the latest reading the clock has shown by t (`highWater`).

interface Minutes { sorted: Int16Array; below: Int32Array }
const minutesOf = new WeakMap<CronSchedule, Minutes>();
/** The matching minutes of a day, sorted, and below[i] = how many of them are < i. */
function minutes(s: CronSchedule): Minutes {
  let m = minutesOf.get(s);
  if (!m) {
    const all: number[] = [];
    for (const h of [...s.hours].sort((a, b) => a - b)) for (const min of [...s.minutes].sort((a, b) => a - b)) all.push(h * 60 + min);
    const below = new Int32Array(DAY_MINUTES + 1);
    let i = 0;
    for (let x = 0; x < DAY_MINUTES; x += 1) { if (all[i] === x) i += 1; below[x + 1] = i; }
    m = { sorted: Int16Array.from(all), below };
    minutesOf.set(s, m);
  }
  return m;
}

/** Day of week of epoch day d (1970-01-01 was a Thursday). */
const weekday = (d: number) => ((d % 7) + 11) % 7;
function civil(d: number): [number, number, number] {
  const x = new Date(d * DAY);
  return [x.getUTCFullYear(), x.getUTCMonth() + 1, x.getUTCDate()];
}
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : MONTH_DAYS[month - 1]!;
}

/** The day part of the match, its month already matching. */
function dayMatches(s: CronSchedule, day: number, dow: number): boolean {
  const dom = s.daysOfMonth.has(day);
  const dowOk = s.daysOfWeek.has(dow);
  if (s.domStar || s.dowStar) return (s.domStar || dom) && (s.dowStar || dowOk);
  return dom || dowOk;
}
function epochDayMatches(s: CronSchedule, d: number): boolean {
  const [, month, day] = civil(d);
  return s.months.has(month) && dayMatches(s, day, weekday(d));
}

/** The first matching local minute ≥ p, within the horizon. */
function firstMatchFrom(s: CronSchedule, p: number): number | undefined {
  const { sorted, below } = minutes(s);
  if (sorted.length === 0) return undefined;
  let d = Math.floor(p / DAY_MINUTES);
  let from = p - d * DAY_MINUTES;
  const end = d + HORIZON_DAYS;
  while (d < end) {
    const [year, month, day] = civil(d);
    const last = daysInMonth(year, month);
    if (!s.months.has(month)) { d += last - day + 1; from = 0; continue; }
    for (let dd = day, wd = weekday(d); dd <= last; dd += 1, wd = (wd + 1) % 7, d += 1, from = 0) {
      if (!dayMatches(s, dd, wd) || from > sorted[sorted.length - 1]!) continue;
      return d * DAY_MINUTES + sorted[below[from]!]!; // the first matching minute ≥ from
    }
  }
  return undefined;
}

/** The last matching local minute ≤ q, within the horizon. */
function lastMatchUpTo(s: CronSchedule, q: number): number | undefined {
  const { sorted, below } = minutes(s);
  if (sorted.length === 0) return undefined;
  let d = Math.floor(q / DAY_MINUTES);
  let to = q - d * DAY_MINUTES;
  const end = d - HORIZON_DAYS;
  while (d > end) {
    const [, month, day] = civil(d);
    if (!s.months.has(month)) { d -= day; to = DAY_MINUTES - 1; continue; }
    for (let dd = day, wd = weekday(d); dd >= 1; dd -= 1, wd = (wd + 6) % 7, d -= 1, to = DAY_MINUTES - 1) {
      if (!dayMatches(s, dd, wd) || to < sorted[0]!) continue;
      return d * DAY_MINUTES + sorted[below[to + 1]! - 1]!; // the last matching minute ≤ to
    }
  }
  return undefined;
}

/** How many matching days there are among epoch days d1..d2: a month at a time. */
function matchingDays(s: CronSchedule, d1: number, d2: number): number {
  let n = 0;
  for (let d = d1; d <= d2;) {
    const [year, month, day] = civil(d);
    const stop = Math.min(d2, d + daysInMonth(year, month) - day);
    if (s.months.has(month)) {
      if (s.domStar && s.dowStar) n += stop - d + 1;
      else for (let x = d, dd = day, wd = weekday(d); x <= stop; x += 1, dd += 1, wd = (wd + 1) % 7) if (dayMatches(s, dd, wd)) n += 1;
    }
    d = stop + 1;
  }
  return n;
}

/** How many matching local minutes lie in [p, q]: days in between count whole, only the ends are cut. */
function countMatches(s: CronSchedule, p: number, q: number): number {
  if (p > q) return 0;
  const { sorted, below } = minutes(s);
  const dp = Math.floor(p / DAY_MINUTES);
  const dq = Math.floor(q / DAY_MINUTES);
  const within = (d: number, lo: number, hi: number) => (epochDayMatches(s, d) ? below[hi + 1]! - below[lo]! : 0);
  if (dp === dq) return within(dp, p - dp * DAY_MINUTES, q - dq * DAY_MINUTES);
  return within(dp, p - dp * DAY_MINUTES, DAY_MINUTES - 1) + within(dq, 0, q - dq * DAY_MINUTES)
    + (dq - dp > 1 ? sorted.length * matchingDays(s, dp + 1, dq - 1) : 0);
}

/**
 * The latest wall-clock reading (local ms) shown at or before `t`. Normally the reading at t; in
 * the second pass of a fall-back overlap, the reading just before the clock went back, since the
 * repeated times already fired.
 */
function highWater(zone: string, t: number): number {
  let l = t + offsetAt(zone, t);
  for (const c of transitionsBetween(zone, t - DAY, t)) if (c.after < c.before) l = Math.max(l, c.at + c.before - 1);
  return l;
}

/** When the wall time at local minute m fires: its first occurrence, or the first minute after its gap. */
function fireInstant(zone: string, m: number): number {
  const local = m * MINUTE;
  const d = new Date(local);
  const w = { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes() };
  const at = instantsOf(zone, w);
  if (at.length > 0) return at[0]!;
  // In a gap: the clock jumped over w at the change between its two candidate instants.
  const later = local - offsetAt(zone, local - DAY);
  const earlier = local - offsetAt(zone, local + DAY);
  const jump = transitionsBetween(zone, earlier, later).find((c) => c.after > c.before);
  if (jump) return Math.ceil(jump.at / MINUTE) * MINUTE;
  // Not a single change (never seen in the zone data): step to the first minute past w.
  let t = Math.floor(local / MINUTE) * MINUTE - 14 * 3_600_000;
  while (Math.floor((t + offsetAt(zone, t)) / MINUTE) * MINUTE <= local) t += MINUTE;
  return t;
}

/** The first fire time strictly after `after` (ms), or undefined within ~8 years (e.g. 30 February). */
export function nextFire(s: CronSchedule, zone: string, after: number): number | undefined {
  // Every wall time up to the high-water reading at `after` fired at or before it (a gap only
  // ever moves a fire time later, never earlier); the next one is the first matching minute past it.
  const m = firstMatchFrom(s, Math.floor(highWater(zone, after) / MINUTE) + 1);
  return m === undefined ? undefined : fireInstant(zone, m);
}

/** The latest fire time at or before `t` (ms), or undefined within ~8 years. */
export function lastFireAtOrBefore(s: CronSchedule, zone: string, t: number): number | undefined {
  const m = lastMatchUpTo(s, Math.floor(highWater(zone, t) / MINUTE));
  return m === undefined ? undefined : fireInstant(zone, m);
}

/**
 * How many distinct fire times lie in (after, until], without visiting them: the matching wall
 * times between the two high-water readings (whole days arithmetically, only the two end days cut),
 * less, for each spring-forward gap in between, all but one of the wall times that fire together
 * at its end. A fall-back overlap needs no correction: a repeated time fires once, the first time.
 */
export function countFires(s: CronSchedule, zone: string, after: number, until: number): number {
  if (until <= after) return 0;
  let n = countMatches(s, Math.floor(highWater(zone, after) / MINUTE) + 1, Math.floor(highWater(zone, until) / MINUTE));
  for (const c of transitionsBetween(zone, after, until)) {
    if (c.after <= c.before) continue;
    const together = countMatches(s, Math.ceil((c.at + c.before) / MINUTE), Math.floor((c.at + c.after) / MINUTE));
    if (together > 1) n -= together - 1;
  }
  return n;
}
