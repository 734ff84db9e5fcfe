// Backups, restores and schedules in every state the tables show, at fixed times (golden tests).
import type { BackupRequest, BackupSchedule, RestoreRequest } from '../../core/crd.ts';
import { backupRequest, restoreRequest } from './resources.ts';

export const NOW = new Date('2026-11-23T08:00:00Z');
const NS = 'proj-retail-prd';

const meta = (o: { metadata: { uid?: string; creationTimestamp?: string } }, uid: string, created: string) => {
  o.metadata.uid = uid;
  o.metadata.creationTimestamp = created;
  delete (o.metadata as { labels?: unknown }).labels;
};

export function fixtureBackups(): BackupRequest[] {
  const done = backupRequest('retail-prd-20261123');
  meta(done, '11111111-1111-4111-8111-111111111111', '2026-11-23T02:00:00Z');
  done.status = {
    phase: 'Succeeded', backupId: 'retail-prd-20261123-11111111', location: { bucket: 'lc2-backups', prefix: 'retail/prd/retail-prd-20261123-11111111/' },
    startTime: '2026-11-23T02:00:03Z', completionTime: '2026-11-23T02:04:15Z',
    operations: {
      database: { id: 'db-1', state: 'Succeeded', startTime: '2026-11-23T02:00:03Z', completionTime: '2026-11-23T02:03:10Z' },
      transfer: { id: 'tr-1', state: 'Succeeded', startTime: '2026-11-23T02:00:03Z', completionTime: '2026-11-23T02:04:01Z' },
    },
    database: { engine: 'postgresql', format: 'pg_dump-custom+zstd', artifact: 'retail/prd/retail-prd-20261123-11111111/database.pgdump.zst', sizeBytes: 1_288_490_189, sha256: 'ab'.repeat(32), tool: 'pg_dump 16.4' },
    documentLibrary: { objectCount: 48_213, totalBytes: 25_769_803_776, excludedPatterns: ['**/*.tmp'], tool: 'rclone v1.68' },
    manifest: { bucket: 'lc2-backups', key: 'retail/prd/retail-prd-20261123-11111111/manifest.json', schemaVersion: 'v1' },
    conditions: [{ type: 'Ready', status: 'True', reason: 'BackupSucceeded', message: 'backup complete', lastTransitionTime: '2026-11-23T02:04:15Z' }],
  };
  const running = backupRequest('retail-prd-manual');
  meta(running, '22222222-2222-4222-8222-222222222222', '2026-11-23T07:55:00Z');
  running.status = {
    phase: 'TransferInProgress', backupId: 'retail-prd-manual-22222222', startTime: '2026-11-23T07:55:48Z',
    operations: { transfer: { id: 'tr-2', state: 'Running', startTime: '2026-11-23T07:55:48Z', attempts: 2, message: 'throttled, retrying' } },
    conditions: [{ type: 'Ready', status: 'False', reason: 'InProgress', message: 'copying the document library', lastTransitionTime: '2026-11-23T07:55:48Z' }],
  };
  const queued = backupRequest('retail-uat-manual', { environment: 'uat' });
  meta(queued, '33333333-3333-4333-8333-333333333333', '2026-11-23T07:59:30Z');
  queued.metadata.namespace = 'proj-retail-uat';
  queued.status = { phase: 'Queued', queue: { position: 1, reason: 'maxConcurrentBackups (2) reached' } };
  const failed = backupRequest('retail-uat-20261122', { environment: 'uat' });
  meta(failed, '44444444-4444-4444-8444-444444444444', '2026-11-22T02:00:00Z');
  failed.metadata.namespace = 'proj-retail-uat';
  failed.status = {
    phase: 'Failed', startTime: '2026-11-22T02:00:01Z', completionTime: '2026-11-22T02:00:09Z',
    conditions: [{ type: 'Ready', status: 'False', reason: 'DatabaseUnreachable', message: 'connection refused by retail-uat-db:5432', lastTransitionTime: '2026-11-22T02:00:09Z' }],
  };
  return [done, running, queued, failed];
}

export function fixtureRestores(): RestoreRequest[] {
  const r = restoreRequest('retail-prd-restore', {
    source: { backupRef: { name: 'retail-prd-20261123' } },
    database: { instanceId: 'retail-prd-db:5432', databaseName: 'lportal_restored_20261123', credentialsSecretRef: { name: 'lportal-db' } },
    documentLibrary: { destinationBucket: 'retail-prd-dl', destinationPrefix: 'document_library-restored' },
  });
  meta(r, '55555555-5555-4555-8555-555555555555', '2026-11-23T07:00:00Z');
  r.metadata.namespace = NS;
  r.status = {
    phase: 'RestoringDocumentLibrary', backupId: 'retail-prd-20261123-11111111', startTime: '2026-11-23T07:00:02Z',
    operations: {
      database: { id: 'rdb', state: 'Succeeded', startTime: '2026-11-23T07:00:02Z', completionTime: '2026-11-23T07:06:40Z' },
      documentLibrary: { id: 'rdl', state: 'Running', startTime: '2026-11-23T07:06:41Z' },
    },
    database: { databaseName: 'lportal_restored_20261123', verifiedSha256: 'ab'.repeat(32), tool: 'pg_restore 16.4' },
    conditions: [{ type: 'Ready', status: 'False', reason: 'InProgress', message: 'restoring the document library', lastTransitionTime: '2026-11-23T07:06:41Z' }],
  };
  return [r];
}

export function fixtureSchedules(): BackupSchedule[] {
  const spec = backupRequest('x').spec!;
  return [
    { apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupSchedule', metadata: { name: 'nightly', namespace: NS }, spec: { schedule: '0 2 * * *', template: { spec } }, status: { nextScheduleTime: '2026-11-24T02:00:00Z', lastDrill: { name: 'nightly-drill-29397780', backup: 'retail-prd-20261123', startTime: '2026-11-23T03:00:05Z', completionTime: '2026-11-23T03:05:17Z', verdict: 'Passed', rtoSeconds: 312 } } },
    { apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupSchedule', metadata: { name: 'uat-nightly', namespace: 'proj-retail-uat' }, spec: { schedule: '0 3 * * *', suspend: true, template: { spec: { ...spec, environment: 'uat' } } }, status: { nextScheduleTime: '2026-11-24T03:00:00Z' } },
  ];
}
