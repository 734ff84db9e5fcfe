// Retention over random histories (fast-check): the invariants always hold.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { retentionPolicy } from './support/retentionPolicy.ts';
import { backupsToDelete, type BackupRecord } from '../hooks/schedule/retention.ts';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const DAY = 86_400_000;
const phases = ['Succeeded', 'Failed', 'ExportInProgress', 'TransferInProgress', 'Queued', 'Pending', undefined] as const;

const record = fc.record({
  ageMinutes: fc.integer({ min: 0, max: 400 * 24 * 60 }),
  phase: fc.constantFrom(...phases),
  retentionDays: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
});
const history = fc.array(record, { maxLength: 60 }).map((rs) => rs.map((r, i): BackupRecord => ({
  name: `nightly-${i}`, phase: r.phase, time: NOW - r.ageMinutes * 60_000, ...(r.retentionDays ? { retentionDays: r.retentionDays } : {}),
})));
const policy = retentionPolicy;
const zone = fc.constantFrom('UTC', 'Europe/Berlin', 'America/Sao_Paulo', 'Asia/Kolkata');

const newestSucceeded = (rs: BackupRecord[]) => [...rs].filter((r) => r.phase === 'Succeeded').sort((a, b) => b.time - a.time || a.name.localeCompare(b.name))[0];

describe('retention invariants (property-based)', () => {
  it('the newest Succeeded backup is never deleted', () => {
    fc.assert(fc.property(history, policy, zone, (rs, p, z) => {
      const newest = newestSucceeded(rs);
      return !newest || !backupsToDelete(rs, p, z, NOW).has(newest.name);
    }), { numRuns: 500 });
  });

  it('an in-progress backup is never deleted', () => {
    fc.assert(fc.property(history, policy, zone, (rs, p, z) => {
      const doomed = backupsToDelete(rs, p, z, NOW);
      return rs.every((r) => r.phase === 'Succeeded' || r.phase === 'Failed' || !doomed.has(r.name));
    }), { numRuns: 500 });
  });

  it('only backups it was given are deleted (never another schedule\'s or a hand-made one)', () => {
    fc.assert(fc.property(history, policy, zone, (rs, p, z) => {
      const names = new Set(rs.map((r) => r.name));
      return [...backupsToDelete(rs, p, z, NOW)].every((n) => names.has(n));
    }), { numRuns: 300 });
  });

  it('a failed backup never counts as a kept one: adding failures changes nothing for the successes', () => {
    fc.assert(fc.property(history, history, policy, zone, (rs, extra, p, z) => {
      const failures = extra.map((r, i) => ({ ...r, name: `failed-${i}`, phase: 'Failed' }));
      const succeededOnly = (s: Set<string>) => [...s].filter((n) => n.startsWith('nightly-') && rs.find((r) => r.name === n)?.phase === 'Succeeded').sort();
      return JSON.stringify(succeededOnly(backupsToDelete(rs, p, z, NOW))) === JSON.stringify(succeededOnly(backupsToDelete([...rs, ...failures], p, z, NOW)));
    }), { numRuns: 300 });
  });

  it('keepLast N keeps the N newest successes unless they outlived maxAgeDays or their own retentionDays', () => {
    fc.assert(fc.property(history, fc.integer({ min: 1, max: 10 }), zone, (rs, n, z) => {
      const doomed = backupsToDelete(rs, { keepLast: n }, z, NOW);
      const newestN = rs.filter((r) => r.phase === 'Succeeded').sort((a, b) => b.time - a.time || a.name.localeCompare(b.name)).slice(0, n);
      return newestN.every((r) => !doomed.has(r.name) || (r.retentionDays !== undefined && NOW - r.time > r.retentionDays * DAY));
    }), { numRuns: 300 });
  });

  it('examples: daily/weekly/monthly buckets in the schedule\'s time zone', () => {
    const at = (iso: string, name: string): BackupRecord => ({ name, phase: 'Succeeded', time: Date.parse(iso) });
    // 23:30 UTC on the 22nd is already the 23rd in Berlin: both backups fall on one Berlin day.
    const rs = [at('2026-11-22T23:30:00Z', 'late'), at('2026-11-23T05:00:00Z', 'morning'), at('2026-11-22T10:00:00Z', 'day-before')];
    assert.deepEqual([...backupsToDelete(rs, { keepDaily: 2 }, 'Europe/Berlin', NOW)], ['late']);
    assert.deepEqual([...backupsToDelete(rs, { keepDaily: 2 }, 'UTC', NOW)], ['day-before']);
    assert.deepEqual([...backupsToDelete(rs, { keepMonthly: 1 }, 'UTC', NOW)].sort(), ['day-before', 'late']);
    const old = [at('2026-01-01T00:00:00Z', 'january'), at('2026-11-20T00:00:00Z', 'recent')];
    assert.deepEqual([...backupsToDelete(old, { maxAgeDays: 30 }, 'UTC', NOW)], ['january']);
    assert.deepEqual([...backupsToDelete([at('2026-01-01T00:00:00Z', 'only')], { maxAgeDays: 1 }, 'UTC', NOW)], [], 'the only success survives any age limit');
  });
});
