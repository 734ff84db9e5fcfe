// Choosing the base of an incremental backup and protecting it (pure): the newest succeeded FULL
// backup of the same environment, source and backup bucket, finished before this one was created;
// a full backup keeps its data while a live incremental backup refers to it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dependentsOf, previousFull } from '../hooks/backup/incremental.ts';
import { backupRequest } from './support/resources.ts';
import type { BackupRequest, BackupRequestStatus } from '../core/crd.ts';

const aws = (name: string, status: BackupRequestStatus, over: Record<string, unknown> = {}, created = '2026-11-20T00:00:00Z'): BackupRequest => {
  const b = backupRequest(name, { provider: 'aws', database: { engine: 'postgresql', type: 'snapshot', instanceId: 'db' }, ...over });
  return { ...b, metadata: { ...b.metadata, creationTimestamp: created }, status };
};
const done = (id: string, at: string, extra: Partial<BackupRequestStatus> = {}): BackupRequestStatus => ({
  phase: 'Succeeded', backupId: id, completionTime: at, location: { bucket: 'lc2-backups', prefix: `retail/prd/${id}/` }, ...extra,
});

describe('incremental base (pure)', () => {
  const me = aws('now', {}, { documentLibrary: { sourceBucket: 'liferay-dl', sourcePrefix: 'document_library/', destinationBucket: 'lc2-backups', incremental: true } }, '2026-11-23T02:00:00Z');
  it('picks the newest succeeded full backup of the same environment that finished before', () => {
    const all = [
      aws('old', done('old-1', '2026-11-21T02:00:00Z')),
      aws('newest', done('newest-1', '2026-11-22T02:00:00Z')),
      aws('later', done('later-1', '2026-11-23T03:00:00Z')),
      aws('incr', done('incr-1', '2026-11-22T12:00:00Z', { incrementalBase: { backupId: 'old-1', prefix: 'retail/prd/old-1/dl/' } })),
      aws('failed', { phase: 'Failed', backupId: 'f', completionTime: '2026-11-22T20:00:00Z' }),
      aws('other-bucket', done('ob-1', '2026-11-22T21:00:00Z'), { documentLibrary: { sourceBucket: 'liferay-dl', sourcePrefix: 'document_library/', destinationBucket: 'elsewhere' } }),
      aws('other-env', done('oe-1', '2026-11-22T22:00:00Z'), { environment: 'uat' }),
      aws('expired', done('ex-1', '2026-11-22T23:00:00Z', { conditions: [{ type: 'Expired', status: 'True', reason: 'RetentionExpired', message: '', lastTransitionTime: '2026-11-23T00:00:00Z' }] })),
      me,
    ];
    assert.deepEqual(previousFull(me, all), { backupId: 'newest-1', prefix: 'retail/prd/newest-1/dl/' });
    assert.equal(previousFull(me, [me, all[4]!, all[5]!]), undefined, 'no full backup: a full copy');
  });

  it('a full backup has dependents while a live incremental backup refers to it', () => {
    const base = aws('base', done('base-1', '2026-11-21T02:00:00Z'));
    const live = aws('i1', done('i1-1', '2026-11-22T02:00:00Z', { incrementalBase: { backupId: 'base-1', prefix: 'retail/prd/base-1/dl/' } }));
    const failed = aws('i2', { phase: 'Failed', incrementalBase: { backupId: 'base-1', prefix: 'retail/prd/base-1/dl/' } });
    const running = aws('i3', { phase: 'TransferInProgress', incrementalBase: { backupId: 'base-1', prefix: 'retail/prd/base-1/dl/' } });
    assert.deepEqual(dependentsOf(base, [base, live, failed, running]), ['proj-retail-prd/i1', 'proj-retail-prd/i3']);
    assert.deepEqual(dependentsOf(base, [base, failed]), []);
  });
});
