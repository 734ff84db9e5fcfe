// manifest.json content, built purely from the resource and its status so every sync (and every
// concurrent hook replica) writes byte-identical content.
import type { BackupRequest, BackupRequestSpec, BackupRequestStatus, Consistency, DumpChunks, DumpEncryption, ExportedObject, ServerSideEncryption } from '../../core/crd.ts';
import { documentLibraryPrefix, manifestKey, refsPrefix } from '../../core/layout.ts';

export const MANIFEST_SCHEMA_VERSION = 'backup.liferay.cloud/manifest/v1';

/** A manifest is a few KiB; anything far larger is not one (and is never buffered). */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

export interface Manifest {
  schemaVersion: typeof MANIFEST_SCHEMA_VERSION;
  backupId: string;
  projectId: string;
  environment: string;
  provider: string;
  initiator?: string;
  source: { namespace: string; name: string; uid: string };
  startedAt: string;
  completedAt: string;
  location: { bucket: string; prefix: string };
  database: {
    engine: string; type: string; instanceId: string; databaseName?: string; format: string;
    artifact?: string; snapshotId?: string; snapshotArn?: string; kmsKeyId?: string; cluster?: boolean; export?: { taskId: string; prefix: string; kmsKeyId?: string; object?: ExportedObject };
    sizeBytes: number; sha256?: string; chunks?: DumpChunks; encryption?: DumpEncryption;
  };
  documentLibrary: {
    sourceBucket: string; sourcePrefix: string; prefix: string; objectCount: number; totalBytes: number; excludedPatterns: string[];
    copiedObjects?: number; excludedObjects?: number; referencedObjects?: number; referencedBytes?: number;
    base?: { backupId: string; prefix: string; refsPrefix: string };
    encryption?: ServerSideEncryption;
    consistency?: Consistency;
  };
  operations: Record<string, string>;
  tools: Record<string, string>;
}

export function buildManifest(parent: BackupRequest, spec: BackupRequestSpec, status: BackupRequestStatus): Manifest | string {
  const { location, backupId, database: db, documentLibrary: dl, startTime } = status;
  if (!location || !backupId || !db || !dl || !startTime) return 'status lacks location, database or document-library results';
  const transfer = status.operations?.transfer;
  return {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    backupId,
    projectId: spec.projectId,
    environment: spec.environment,
    provider: spec.provider,
    ...(spec.initiator ? { initiator: spec.initiator } : {}),
    source: { namespace: parent.metadata.namespace ?? '', name: parent.metadata.name, uid: parent.metadata.uid ?? '' },
    startedAt: startTime,
    completedAt: transfer?.completionTime ?? startTime,
    location,
    database: {
      engine: db.engine, type: spec.database.type, instanceId: spec.database.instanceId,
      ...(spec.database.databaseName ? { databaseName: spec.database.databaseName } : {}),
      format: db.format,
      ...(db.artifact ? { artifact: db.artifact } : {}),
      ...(db.snapshotId ? { snapshotId: db.snapshotId, cluster: !!spec.database.cluster } : {}),
      ...(db.snapshotArn ? { snapshotArn: db.snapshotArn } : {}),
      ...(db.kmsKeyId ? { kmsKeyId: db.kmsKeyId } : {}),
      ...(status.databaseExport ? { export: { taskId: status.databaseExport.taskId, prefix: status.databaseExport.prefix, ...(status.databaseExport.kmsKeyId ? { kmsKeyId: status.databaseExport.kmsKeyId } : {}), ...(status.databaseExport.object ? { object: status.databaseExport.object } : {}) } } : {}),
      sizeBytes: db.sizeBytes,
      ...(db.sha256 ? { sha256: db.sha256 } : {}),
      ...(db.chunks ? { chunks: db.chunks } : {}),
      ...(db.encryption ? { encryption: db.encryption } : {}),
    },
    documentLibrary: {
      sourceBucket: spec.documentLibrary.sourceBucket, sourcePrefix: spec.documentLibrary.sourcePrefix ?? '',
      prefix: documentLibraryPrefix(location), objectCount: dl.objectCount, totalBytes: dl.totalBytes,
      excludedPatterns: dl.excludedPatterns,
      ...(dl.copiedObjects !== undefined ? { copiedObjects: dl.copiedObjects } : {}),
      ...(dl.excludedObjects !== undefined ? { excludedObjects: dl.excludedObjects } : {}),
      ...(dl.base ? {
        referencedObjects: dl.referencedObjects ?? 0, referencedBytes: dl.referencedBytes ?? 0,
        base: { ...dl.base, refsPrefix: refsPrefix(location) },
      } : {}),
      ...(dl.encryption ? { encryption: dl.encryption } : {}),
      ...(dl.consistency ? { consistency: dl.consistency } : {}),
    },
    operations: Object.fromEntries(Object.entries(status.operations ?? {}).filter(([k]) => k !== 'manifest').map(([k, v]) => [k, v.id])),
    tools: { [spec.database.type === 'snapshot' ? 'snapshot' : 'export']: db.tool, transfer: dl.tool },
  };
}

export const manifestLocation = (status: BackupRequestStatus) =>
  status.location ? { bucket: status.location.bucket, key: manifestKey(status.location) } : undefined;
