// Wall-clock time in an IANA time zone, from Node's ICU data (pure: no clock, no I/O).
//
// Asking ICU is the expensive part (~1.5 µs a format, ~5 µs formatToParts, ~150 µs to build a
// formatter), so a zone's offset is asked once per hour-aligned instant and remembered; an
// instant's offset is then arithmetic. Assumptions (true of every zone since 1970): a zone's offset
// changes at most once within an hour and at most once within a 7-day cell of the grid
// `transitionsBetween` scans (the closest real pairs, e.g. Ramadan suspensions, are weeks apart).
export interface WallTime { year: number; month: number; day: number; hour: number; minute: number }
/** A change of a zone's UTC offset: from `at` (ms) on the offset is `after` instead of `before`. */
export interface Transition { at: number; before: number; after: number }

const HOUR = 3_600_000;
const DAY = 86_400_000;
const WEEK_HOURS = 168;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

export function isValidTimeZone(zone: string): boolean {
  try { formatter(zone); return true; } catch { return false; }
}

const asUtc = (w: WallTime) => Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
const EN_US = /^(\d+)\/(\d+)\/(\d+), (\d+):(\d+):(\d+)$/;

let icuCalls = 0;
/** How many times ICU has been asked for a time so far (lets tests prove a sync does not walk). */
export function icuLookups(): number { return icuCalls; }

/** The offset at `instant` straight from ICU, in ms (whole seconds, like the zone data). */
function icuOffset(zone: string, instant: number): number {
  icuCalls += 1;
  const f = formatter(zone);
  // format() is ~3× cheaper than formatToParts(); the parts are the fallback for odd years (eras).
  const m = EN_US.exec(f.format(instant));
  const [year, month, day, hour, minute, second] = m
    ? [+m[3]!, +m[1]!, +m[2]!, +m[4]!, +m[5]!, +m[6]!]
    : (() => {
      const p = Object.fromEntries(f.formatToParts(instant).map((x) => [x.type, x.value]));
      return [+p.year!, +p.month!, +p.day!, +p.hour!, +p.minute!, +p.second!];
    })();
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not.
  const exact = year < 100 ? new Date(wall).setUTCFullYear(year) : wall;
  return exact - Math.floor(instant / 1000) * 1000;
}

interface ZoneCache {
  /** Offset at hour h × 1 h. */
  hours: Map<number, number>;
  /** Instant of the offset change inside hour h, for hours whose two ends differ. */
  changes: Map<number, number>;
  /** Transition inside 7-day cell k (hours 168k .. 168(k+1)), or null. */
  weeks: Map<number, Transition | null>;
}
const caches = new Map<string, ZoneCache>();
let cached = 0;
// Bounded memory: a tenant can pick any zone and any past; when full, start over.
const MAX_CACHED = 200_000;

function cacheOf(zone: string): ZoneCache {
  let c = caches.get(zone);
  if (!c) { c = { hours: new Map(), changes: new Map(), weeks: new Map() }; caches.set(zone, c); }
  return c;
}
function remember<K, V>(map: Map<K, V>, key: K, value: V): V {
  if (cached >= MAX_CACHED) {
    for (const c of caches.values()) { c.hours.clear(); c.changes.clear(); c.weeks.clear(); }
    cached = 0;
  }
  map.set(key, value);
  cached += 1;
  return value;
}

function hourOffset(zone: string, c: ZoneCache, h: number): number {
  const o = c.hours.get(h);
  return o !== undefined ? o : remember(c.hours, h, icuOffset(zone, h * HOUR));
}

/** The first whole second of hour h with the offset of hour h + 1 (the two ends differ). */
function changeInHour(zone: string, c: ZoneCache, h: number): number {
  const known = c.changes.get(h);
  if (known !== undefined) return known;
  const after = hourOffset(zone, c, h + 1);
  let lo = h * HOUR;
  let hi = (h + 1) * HOUR;
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (icuOffset(zone, mid) === after) hi = mid; else lo = mid;
  }
  return remember(c.changes, h, hi);
}

/** Offset of `zone` from UTC at `instant`, in ms. */
export function offsetAt(zone: string, instant: number): number {
  const c = cacheOf(zone);
  const h = Math.floor(instant / HOUR);
  const before = hourOffset(zone, c, h);
  const after = hourOffset(zone, c, h + 1);
  if (before === after) return before;
  return instant < changeInHour(zone, c, h) ? before : after;
}

/** The wall-clock time in `zone` at `instant` (ms since epoch). */
export function wallTime(zone: string, instant: number): WallTime & { second: number } {
  const d = new Date(instant + offsetAt(zone, instant));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
}

/**
 * The instants at which the wall clock in `zone` shows `w`: one normally, none in a spring-forward
 * gap, two in a fall-back overlap (earliest first).
 */
export function instantsOf(zone: string, w: WallTime): number[] {
  const local = asUtc(w);
  const a = local - offsetAt(zone, local - DAY);
  const b = local - offsetAt(zone, local + DAY);
  const shows = (t: number) => Math.floor((t + offsetAt(zone, t)) / 60_000) * 60_000 === local;
  const out = [a, b].filter(shows).sort((x, y) => x - y);
  return out.length === 2 && out[0] === out[1] ? [out[0]!] : out;
}

/** The transition inside 7-day cell k, found by bisecting hours, or null. */
function weekTransition(zone: string, c: ZoneCache, k: number): Transition | null {
  const known = c.weeks.get(k);
  if (known !== undefined) return known;
  let lo = k * WEEK_HOURS;
  let hi = lo + WEEK_HOURS;
  const before = hourOffset(zone, c, lo);
  const after = hourOffset(zone, c, hi);
  if (before === after) return remember(c.weeks, k, null);
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (hourOffset(zone, c, mid) === before) lo = mid; else hi = mid;
  }
  return remember(c.weeks, k, { at: changeInHour(zone, c, lo), before, after });
}

/** The offset changes of `zone` at instants in (from, to], oldest first. */
export function transitionsBetween(zone: string, from: number, to: number): Transition[] {
  const c = cacheOf(zone);
  const out: Transition[] = [];
  const cell = WEEK_HOURS * HOUR;
  for (let k = Math.floor(from / cell); k * cell <= to; k += 1) {
    const t = weekTransition(zone, c, k);
    if (t && t.at > from && t.at <= to) out.push(t);
  }
  return out;
}
