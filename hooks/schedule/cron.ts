// Standard 5-field cron (minute hour day-of-month month day-of-week, with lists, ranges, steps,
// month/day names, 7 = Sunday) plus @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly,
// evaluated in an IANA time zone. Pure functions of (expression, zone, instant).
//
// Daylight-saving rules (docs/decisions.md): a wall time that does not exist (spring forward)
// fires once at the first instant after the gap, so a nightly backup is never skipped; a wall time
// that occurs twice (fall back) fires once, at its first occurrence. Day-of-month and day-of-week
// both restricted: a day matching either one fires (Vixie cron, Kubernetes CronJob).
import { instantsOf, wallTime, type WallTime } from './timezone.ts';

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

function dayMatches(s: CronSchedule, year: number, month: number, day: number): boolean {
  if (!s.months.has(month)) return false;
  const dom = s.daysOfMonth.has(day);
  const dow = s.daysOfWeek.has(new Date(Date.UTC(year, month - 1, day)).getUTCDay());
  if (s.domStar || s.dowStar) return (s.domStar || dom) && (s.dowStar || dow);
  return dom || dow;
}

/** When a matching wall time fires: its first occurrence, or the end of the gap it falls in. */
function fireInstant(zone: string, w: WallTime): number {
  const at = instantsOf(zone, w);
  if (at.length > 0) return at[0]!;
  // In a gap: the first instant whose wall time is later than w.
  let t = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) - 14 * 3_600_000;
  const target = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
  while (true) {
    const x = wallTime(zone, t);
    if (Date.UTC(x.year, x.month - 1, x.day, x.hour, x.minute) > target) return t;
    t += 60_000;
  }
}

/** The first fire time strictly after `after` (ms), or undefined within ~8 years (e.g. 30 February). */
export function nextFire(s: CronSchedule, zone: string, after: number): number | undefined {
  // Start a day early in wall time: a gap can move a fire time past its wall clock.
  const start = wallTime(zone, after - 86_400_000);
  const hours = [...s.hours].sort((a, b) => a - b);
  const minutes = [...s.minutes].sort((a, b) => a - b);
  for (let d = 0; d < 366 * 8 + 2; d += 1) {
    const date = new Date(Date.UTC(start.year, start.month - 1, start.day + d));
    const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    if (!dayMatches(s, year, month, day)) continue;
    for (const hour of hours) {
      for (const minute of minutes) {
        const t = fireInstant(zone, { year, month, day, hour, minute });
        if (t > after) return t;
      }
    }
  }
  return undefined;
}
