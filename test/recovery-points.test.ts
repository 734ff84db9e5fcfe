// The environment's newest verified backup (property-tested over random histories): exactly one per
// environment that has any, never one that failed, expired or is being deleted, and never one with a
// newer verified backup of the same environment.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isNewestRecoveryPoint } from '../hooks/backup/recoveryPoints.ts';
import { backupRequest } from './support/resources.ts';
import type { BackupRequest } from '../core/crd.ts';

const history = fc.array(fc.record({
  env: fc.constantFrom('prd', 'uat'), project: fc.constantFrom('retail', 'bank'), phase: fc.constantFrom('Succeeded', 'Succeeded', 'Failed', 'TransferInProgress'),
  minute: fc.integer({ min: 0, max: 50 }), expired: fc.boolean(), deleting: fc.boolean(), namespace: fc.constantFrom('a', 'b'),
}), { maxLength: 30 }).map((rows) => rows.map((r, i): BackupRequest => {
  const b = backupRequest(`b${i}`, { projectId: r.project, environment: r.env });
  return {
    ...b, metadata: { ...b.metadata, namespace: r.namespace, ...(r.deleting ? { deletionTimestamp: '2026-11-24T00:00:00Z' } : {}) },
    status: { phase: r.phase as 'Succeeded', completionTime: new Date(Date.UTC(2026, 10, 1, 0, r.minute)).toISOString(),
      ...(r.expired ? { conditions: [{ type: 'Expired', status: 'True', reason: 'RetentionExpired', message: '', lastTransitionTime: 'x' }] } : {}) },
  };
}));

describe('the newest recovery point of an environment', () => {
  it('is unique per environment with a verified backup, and is verified and newest', () => {
    fc.assert(fc.property(history, (all) => {
      const live = all.filter((b) => !b.metadata.deletionTimestamp);
      const good = (b: BackupRequest) => b.status?.phase === 'Succeeded' && !b.status.conditions?.some((c) => c.type === 'Expired');
      for (const env of ['retail/prd', 'retail/uat', 'bank/prd', 'bank/uat']) {
        const ofEnv = live.filter((b) => `${b.spec!.projectId}/${b.spec!.environment}` === env);
        const newest = ofEnv.filter((b) => isNewestRecoveryPoint(b, all));
        assert.equal(newest.length, ofEnv.some(good) ? 1 : 0, env);
        for (const n of newest) {
          assert.ok(good(n));
          assert.ok(!ofEnv.some((b) => good(b) && b.status!.completionTime! > n.status!.completionTime!));
        }
      }
    }), { numRuns: 500 });
  });
});
