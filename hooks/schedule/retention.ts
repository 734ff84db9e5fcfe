// Which finished backups of a schedule to delete (pure). Invariants, property-tested in
// test/retention.test.ts: the newest Succeeded backup is never deleted; an in-progress backup is
// never deleted; a failed backup never fills a keep slot; only the records passed in (the
// schedule's own children) can be deleted.
import { wallTime } from './timezone.ts';

import type { RetentionPolicy } from '../../core/crd.ts';

export type { RetentionPolicy };

export interface BackupRecord {
  name: string;
  phase: string | undefined;
  /** When the backup finished (Succeeded/Failed), else when it was created. */
  time: number;
  retentionDays?: number;
}

const DAY = 86_400_000;

function isoWeek(y: number, m: number, d: number): string {
  const date = new Date(Date.UTC(y, m - 1, d));
  date.setUTCDate(date.getUTCDate() + 4 - (date.getUTCDay() || 7)); // the Thursday decides the ISO year
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1);
  return `${date.getUTCFullYear()}-W${Math.ceil(((date.getTime() - yearStart) / DAY + 1) / 7)}`;
}

/** Newest backup of each of the `count` most recent periods that have one. */
function keepPerPeriod(newestFirst: BackupRecord[], count: number | undefined, key: (r: BackupRecord) => string): string[] {
  if (!count) return [];
  const kept: string[] = [];
  const seen = new Set<string>();
  for (const r of newestFirst) {
    const k = key(r);
    if (seen.has(k)) continue;
    seen.add(k);
    kept.push(r.name);
    if (kept.length === count) break;
  }
  return kept;
}

export function backupsToDelete(records: readonly BackupRecord[], policy: RetentionPolicy, zone: string, now: number): Set<string> {
  const byTime = [...records].sort((a, b) => b.time - a.time || a.name.localeCompare(b.name));
  const succeeded = byTime.filter((r) => r.phase === 'Succeeded');
  const newest = succeeded[0];
  const local = (r: BackupRecord) => wallTime(zone, r.time);
  const anyKeepRule = !!(policy.keepLast || policy.keepDaily || policy.keepWeekly || policy.keepMonthly);
  const kept = new Set<string>([
    ...succeeded.slice(0, policy.keepLast ?? 0).map((r) => r.name),
    ...keepPerPeriod(succeeded, policy.keepDaily, (r) => { const w = local(r); return `${w.year}-${w.month}-${w.day}`; }),
    ...keepPerPeriod(succeeded, policy.keepWeekly, (r) => { const w = local(r); return isoWeek(w.year, w.month, w.day); }),
    ...keepPerPeriod(succeeded, policy.keepMonthly, (r) => { const w = local(r); return `${w.year}-${w.month}`; }),
  ]);
  const tooOld = (r: BackupRecord) =>
    (policy.maxAgeDays !== undefined && now - r.time > policy.maxAgeDays * DAY)
    || (r.retentionDays !== undefined && now - r.time > r.retentionDays * DAY);

  const doomed = new Set<string>();
  for (const r of byTime) {
    if (r === newest) continue;
    if (r.phase === 'Succeeded') {
      if ((anyKeepRule && !kept.has(r.name)) || tooOld(r)) doomed.add(r.name);
    } else if (r.phase === 'Failed') {
      // A failure superseded by a newer success has told its story; a recent one stays visible.
      if ((newest && r.time < newest.time) || tooOld(r)) doomed.add(r.name);
    }
  }
  return doomed;
}
