// TypeScript view of the CRDs in crds/. The CRD schemas stay the source of truth for validation
// (validation/schema.ts compiles them); these types only describe the shapes for the compiler.
import type { KubeObject } from './contract/types.ts';

export type ProviderName = 'local' | 'aws' | 'gcp' | 'azure';
export type Engine = 'postgresql' | 'mysql';

export interface SecretRef { name: string; usernameKey?: string; passwordKey?: string }

export interface BackupRequestSpec {
  projectId: string;
  environment: string;
  provider: ProviderName;
  initiator?: string;
  retentionDays?: number;
  deletionPolicy?: 'Retain' | 'Delete';
  database: {
    engine: Engine;
    type: 'dump' | 'snapshot';
    instanceId: string;
    databaseName?: string;
    databasesToIgnore?: string[];
    credentialsSecretRef?: SecretRef;
  };
  documentLibrary: {
    sourceBucket: string;
    sourcePrefix?: string;
    destinationBucket: string;
    destinationPrefix?: string;
    excludeGeneratedFiles?: boolean;
    excludePatterns?: string[];
  };
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type OperationState = 'Running' | 'Succeeded' | 'Failed';
export interface OperationStatus {
  id: string;
  state: OperationState;
  startTime?: string;
  completionTime?: string;
  message?: string;
}

export interface ObjectLocation { bucket: string; prefix: string }

export const BACKUP_PHASES = [
  'Pending', 'Queued', 'SnapshotInProgress', 'ExportInProgress', 'TransferInProgress', 'GeneratingManifest',
  'Succeeded', 'Failed',
] as const;
export type BackupPhase = (typeof BACKUP_PHASES)[number];

export interface DatabaseResult {
  engine: Engine;
  format: string;
  artifact: string;
  sizeBytes: number;
  sha256: string;
  tool: string;
}

export interface DocumentLibraryResult {
  objectCount: number;
  totalBytes: number;
  excludedPatterns: string[];
  tool: string;
}

export interface BackupRequestStatus {
  observedGeneration?: number;
  phase?: BackupPhase;
  backupId?: string;
  location?: ObjectLocation;
  startTime?: string;
  completionTime?: string;
  totalSize?: string;
  operations?: Record<string, OperationStatus>;
  database?: DatabaseResult;
  documentLibrary?: DocumentLibraryResult;
  manifest?: { bucket: string; key: string; schemaVersion: string };
  /** While Queued: place among this project's waiting backups, and why it waits. */
  queue?: { position: number; reason: string };
  conditions?: Condition[];
}

export type BackupRequest = KubeObject<BackupRequestSpec, BackupRequestStatus>;

export interface RestoreRequestSpec {
  projectId: string;
  environment: string;
  provider: ProviderName;
  initiator?: string;
  approveOverwrite?: boolean;
  source: { backupRef?: { name: string }; manifest?: { bucket: string; key: string } };
  database: { instanceId: string; databaseName: string; credentialsSecretRef?: SecretRef };
  documentLibrary: { destinationBucket: string; destinationPrefix: string };
}

export const RESTORE_PHASES = ['Pending', 'RestoringDatabase', 'RestoringDocumentLibrary', 'Succeeded', 'Failed'] as const;
export type RestorePhase = (typeof RESTORE_PHASES)[number];

/** What a restore needs from the backup's manifest, kept in status so every sync can rebuild its Jobs. */
export interface RestoreSource {
  manifest: { bucket: string; key: string };
  engine: Engine;
  bucket: string;
  artifact: string;
  sha256: string;
  documentLibraryPrefix: string;
  /** Where this restore's Jobs write their result objects (inside the backup's own folder). */
  resultsPrefix: string;
}

export interface RestoreRequestStatus {
  observedGeneration?: number;
  phase?: RestorePhase;
  backupId?: string;
  source?: RestoreSource;
  startTime?: string;
  completionTime?: string;
  operations?: Record<string, OperationStatus>;
  database?: { databaseName: string; verifiedSha256: string; tool: string };
  documentLibrary?: { bucket: string; prefix: string; objectCount: number; totalBytes: number };
  conditions?: Condition[];
}

export type RestoreRequest = KubeObject<RestoreRequestSpec, RestoreRequestStatus>;

export interface BackupScheduleSpec {
  schedule: string;
  timeZone?: string;
  suspend?: boolean;
  startingDeadlineSeconds?: number;
  concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
  retention?: { keepLast?: number; keepDaily?: number; keepWeekly?: number; keepMonthly?: number; maxAgeDays?: number };
  template: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: BackupRequestSpec };
}

export interface BackupScheduleStatus {
  observedGeneration?: number;
  lastScheduleTime?: string;
  nextScheduleTime?: string;
  lastSuccessfulBackup?: string;
  lastSuccessfulTime?: string;
  skippedRuns?: number;
  active?: string[];
  deletedByRetention?: string[];
  conditions?: Condition[];
}

export type BackupSchedule = KubeObject<BackupScheduleSpec, BackupScheduleStatus>;

export interface BackupTenantSpec {
  namespaces: string[];
  maxConcurrentBackups?: number;
  databaseInstances?: string[];
  documentLibraryBuckets?: string[];
  backupBuckets?: string[];
}
export type BackupTenant = KubeObject<BackupTenantSpec>;
