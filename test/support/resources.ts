// Parent objects as they arrive from the API server.
import type { BackupRequest, BackupRequestSpec, RestoreRequest, RestoreRequestSpec } from '../../core/crd.ts';
import { API_VERSION } from '../../hooks/contract/objects.ts';
import { uid } from './env.ts';

export function backupRequest(name: string, spec: Partial<BackupRequestSpec> & Record<string, unknown> = {}): BackupRequest {
  return {
    apiVersion: API_VERSION, kind: 'BackupRequest',
    // As the DecoratorController lc2-backuprequest-labels labels a new BackupRequest.
    metadata: { name, namespace: 'proj-retail-prd', uid: uid(), generation: 1, creationTimestamp: '2026-11-23T02:00:00Z', labels: { 'backup.liferay.cloud/active': 'true' } },
    spec: {
      projectId: 'retail', environment: 'prd', provider: 'local', initiator: 'alice@example.com',
      database: { engine: 'postgresql', type: 'dump', instanceId: '127.0.0.1:5432', databaseName: 'lportal', credentialsSecretRef: { name: 'db-credentials' } },
      documentLibrary: { sourceBucket: 'liferay-dl', sourcePrefix: 'document_library/', destinationBucket: 'lc2-backups', excludeGeneratedFiles: true },
      ...spec,
    } as BackupRequestSpec,
  };
}

export function restoreRequest(name: string, spec: Partial<RestoreRequestSpec> & Record<string, unknown>): RestoreRequest {
  return {
    apiVersion: API_VERSION, kind: 'RestoreRequest',
    metadata: { name, namespace: 'proj-retail-prd', uid: uid(), generation: 1 },
    spec: {
      projectId: 'retail', environment: 'prd', provider: 'local',
      source: { backupRef: { name: 'nightly' } },
      database: { instanceId: '127.0.0.1:5432', databaseName: 'restored', credentialsSecretRef: { name: 'db-credentials' } },
      documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: 'document_library' },
      ...spec,
    } as RestoreRequestSpec,
  };
}
