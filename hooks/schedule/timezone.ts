// Wall-clock time in an IANA time zone, from Node's ICU data (pure: no clock, no I/O).
export interface WallTime { year: number; month: number; day: number; hour: number; minute: number }

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

/** The wall-clock time in `zone` at `instant` (ms since epoch). */
export function wallTime(zone: string, instant: number): WallTime & { second: number } {
  const parts = Object.fromEntries(formatter(zone).formatToParts(new Date(instant)).map((p) => [p.type, p.value]));
  return { year: +parts.year!, month: +parts.month!, day: +parts.day!, hour: +parts.hour!, minute: +parts.minute!, second: +parts.second! };
}

const asUtc = (w: WallTime) => Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);

/** Offset of `zone` from UTC at `instant`, in ms. */
export function offsetAt(zone: string, instant: number): number {
  const w = wallTime(zone, instant);
  return asUtc(w) + w.second * 1000 - Math.floor(instant / 1000) * 1000;
}

/**
 * The instants at which the wall clock in `zone` shows `w`: one normally, none in a spring-forward
 * gap, two in a fall-back overlap (earliest first).
 */
export function instantsOf(zone: string, w: WallTime): number[] {
  const local = asUtc(w);
  const candidates = new Set([local - offsetAt(zone, local - 86_400_000), local - offsetAt(zone, local + 86_400_000)]);
  return [...candidates].filter((t) => asUtc(wallTime(zone, t)) === local).sort((a, b) => a - b);
}
