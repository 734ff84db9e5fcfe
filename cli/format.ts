// How the CLI shows sizes, durations, ages and tables: the way kubectl does (pure functions).

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 54B, 1.5KiB, 12MiB, 3.2GiB: one decimal below 10, binary units. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return '-';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) { value /= 1024; unit++; }
  if (unit === 0) return `${bytes}B`;
  const shown = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  // 1023.96 KiB rounds to 1024: show the next unit instead.
  if (shown >= 1024 && unit < UNITS.length - 1) return `1${UNITS[unit + 1]}`;
  return `${shown}${UNITS[unit]}`;
}

/** kubectl's HumanDuration (k8s.io/apimachinery/pkg/util/duration): 45s, 4m12s, 42m, 3h12m, 30h, 2d5h, 90d, 3y20d. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '-';
  const s = Math.floor(seconds);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 10) return s % 60 === 0 ? `${minutes}m` : `${minutes}m${s % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(s / 3600);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (years < 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** Seconds from `from` to `to` (ISO times), or undefined when either is missing or unreadable. */
export function secondsBetween(from: string | null | undefined, to: string | Date | null | undefined): number | undefined {
  if (!from || !to) return undefined;
  const a = Date.parse(from);
  const b = typeof to === 'string' ? Date.parse(to) : to.getTime();
  return Number.isNaN(a) || Number.isNaN(b) ? undefined : (b - a) / 1000;
}

/** How long ago `time` was, as kubectl's AGE column shows it; '-' when unknown. */
export function formatAge(time: string | null | undefined, now: Date): string {
  return formatDuration(secondsBetween(time, now));
}

/** "2026-11-23T02:05:00Z (4m12s ago)", or '-' when unknown. */
export function formatTime(time: string | null | undefined, now: Date): string {
  if (!time) return '-';
  const age = secondsBetween(time, now);
  if (age === undefined) return time;
  return age >= 0 ? `${time} (${formatDuration(age)} ago)` : `${time} (in ${formatDuration(-age)})`;
}

export type Cell = string | number | null | undefined;

/**
 * A value as one printable line: control characters (escape sequences, newlines) become '?', so a
 * field a tenant wrote (a name, an initiator, a message) cannot move the cursor or forge rows on
 * the terminal of whoever lists it.
 */
export function printable(v: Cell): string {
  return v === null || v === undefined || v === '' ? '-' : String(v).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** Columns padded to their widest cell, two spaces apart, headers as given (kubectl's printer). */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly Cell[]>): string {
  const text = rows.map((r) => headers.map((_, i) => printable(r[i])));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const line = (values: readonly string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('   ').trimEnd();
  return [line(headers), ...text.map(line)].join('\n');
}

/** "Key:  value" lines with the values aligned (describe output); nested lines are indented. */
export function fields(pairs: ReadonlyArray<readonly [string, Cell]>, indent = ''): string {
  const width = Math.max(...pairs.map(([k]) => k.length)) + 2;
  return pairs.map(([k, v]) => `${indent}${`${k}:`.padEnd(width)}${printable(v)}`).join('\n');
}

/** Parses 30s, 5m, 1h30m, 2h (the --timeout flag) to milliseconds; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (!m || text.trim() === '' || (!m[1] && !m[2] && !m[3])) return undefined;
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}
