// TypeScript view of the CRDs in crds/. The CRD schemas stay the source of truth for validation
// (validation/schema.ts compiles them); these types only describe the shapes for the compiler.
import type { KubeObject } from './kube.ts';

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
    /** Required for a dump; a snapshot backup takes it from the snapshot when omitted. */
    engine?: Engine;
    type: 'dump' | 'snapshot';
    instanceId: string;
    databaseName?: string;
    databasesToIgnore?: string[];
    credentialsSecretRef?: SecretRef;
    /**
     * Snapshot backups: host:port of the instance's (writer) endpoint. With databaseName and
     * credentialsSecretRef, a Job reads the document-library keys the rows refer to right before the
     * snapshot, and another checks the copy against them (docs/recovery-points.md).
     */
    endpoint?: string;
    /** AWS: instanceId names an Aurora DB cluster, not a DB instance. */
    cluster?: boolean;
    /** Also export the database beside the backup: AWS the snapshot to S3 (Parquet; role and key default from the server config), GCP a SQL export into the backup folder (`{}`), Azure a long-term-retention (pg_dump) backup (`{}`). */
    export?: { iamRoleArn?: string; kmsKeyId?: string };
  };
  documentLibrary: {
    sourceBucket: string;
    sourcePrefix?: string;
    destinationBucket: string;
    destinationPrefix?: string;
    excludeGeneratedFiles?: boolean;
    excludePatterns?: string[];
    /** Cloud providers: objects unchanged since the environment's last full backup are referenced, not copied. */
    incremental?: boolean;
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
  /** A failed step's reason (e.g. TargetNotEmpty): a drill's cleanup never touches a target its step found taken. */
  reason?: string;
  /** Provider bookkeeping between syncs (e.g. the copy cursor); opaque to the machine, never secret. */
  progress?: Record<string, unknown>;
  /** Transient failures in a row (throttling, 5xx, timeouts); any answer resets it. */
  attempts?: number;
  /** No provider call for this operation before this time (backoff after a transient failure). */
  notBefore?: string;
}

export interface ObjectLocation { bucket: string; prefix: string }

export const BACKUP_PHASES = [
  'Pending', 'Queued', 'SnapshotInProgress', 'ExportInProgress', 'TransferInProgress', 'GeneratingManifest',
  'Succeeded', 'Failed',
] as const;
export type BackupPhase = (typeof BACKUP_PHASES)[number];

/**
 * A dump's stored bytes as chunks of `bytes` (the last one shorter): `count` lines of hex SHA-256,
 * in order, at chunkListKey(artifact); `sha256` is the list's own. Recorded with the dump's checksum,
 * it lets a restore check every chunk before passing any of it on, reading the dump once.
 */
export interface DumpChunks { bytes: number; count: number; sha256: string }

export interface DatabaseResult {
  engine: Engine;
  format: string;
  /** Object key of a dump (type dump). */
  artifact?: string;
  /** Provider snapshot identifier and ARN (type snapshot). */
  snapshotId?: string;
  snapshotArn?: string;
  /** A snapshot copied into the customer's KMS key: that key (the recovery point is the copy). */
  kmsKeyId?: string;
  sizeBytes: number;
  /** SHA-256 of the stored bytes (the ciphertext, when encrypted). */
  sha256?: string;
  /** The chunk list of those bytes (a one-read verified restore); absent on dumps made before it. */
  chunks?: DumpChunks;
  tool: string;
  /** Set when the dump is encrypted (docs/encryption.md). */
  encryption?: DumpEncryption;
}

/**
 * How a dump is encrypted: with a data key of its own (an age X25519 identity made inside the dump
 * Job), which is stored only wrapped by the project's key-encryption key, as `<keysPrefix><keyVersion>.age`.
 * Never a key. Not even the data key's public half: whoever knew it could encrypt a forged dump that
 * decrypts cleanly; `dataKeyId` (the SHA-256 of that public half) only lets a restore or a rekey
 * prove it unwrapped the right key.
 */
export interface DumpEncryption {
  algorithm: typeof DUMP_ENCRYPTION_ALGORITHM;
  /** The KEK version the data key was first wrapped for (a rekey adds others under keysPrefix). */
  keyVersion: string;
  keysPrefix: string;
  dataKeyId: string;
}
export const DUMP_ENCRYPTION_ALGORITHM = 'age-v1/X25519+ChaCha20-Poly1305';

/** The project's encryption settings (BackupTenant spec.encryption), frozen in a backup's status when it starts. */
export interface TenantEncryption {
  /** Dumps (local provider): the current KEK version (new backups are wrapped for it) and its age recipient (public key). */
  keyVersion?: string;
  recipient?: string;
  /** The Secret, in each of the project's namespaces, holding the KEK identities by version (restore Jobs only). */
  secretName?: string;
  /** Cloud copies (AWS provider): the customer's KMS key (key ARN) for SSE-KMS on the document-library copy and the export. */
  awsKmsKeyArn?: string;
}

/** How a cloud copy is encrypted at rest with the customer's key. */
export interface ServerSideEncryption { type: 'aws:kms'; kmsKeyArn: string }

/** The portable export of a snapshot (AWS StartExportTask), beside the backup. */
export interface DatabaseExportResult {
  taskId: string; bucket: string; prefix: string; extractedGb?: number; warning?: string; kmsKeyId?: string;
  /** A single exported object (GCP): its generation, CRC32C (base64) and size when the export ended, to tell a later swap. */
  object?: ExportedObject;
}
export interface ExportedObject { generation: string; crc32c: string; sizeBytes: number }

export interface DocumentLibraryResult {
  objectCount: number;
  totalBytes: number;
  excludedPatterns: string[];
  tool: string;
  /** Cloud copies: objects copied by this backup, found already copied (replays), and left out by the exclusions. */
  copiedObjects?: number;
  excludedObjects?: number;
  /** Incremental: objects not copied because the base backup holds them unchanged. */
  referencedObjects?: number;
  referencedBytes?: number;
  base?: { backupId: string; prefix: string };
  /** Cloud copies: every object was written with this server-side encryption (each copy's answer checked). */
  encryption?: ServerSideEncryption;
  /** The recovery point's consistency: files the dumped rows refer to against the copy (docs/recovery-points.md). */
  consistency?: Consistency;
}

/** Referred-to files missing from the copy (a broken recovery point) and copied files no row refers to (harmless). */
export interface Consistency {
  expected: number; missing: number; orphans: number; missingSample: string[]; orphanSample: string[];
  /** Restores only: orphans deleted because the RestoreRequest asked for it (cleanupOrphans). */
  orphansDeleted?: number;
  /** Restores only: cleanupOrphans deleted nothing because most referred-to files were missing (a layout mismatch). */
  cleanupSkipped?: boolean;
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
  databaseExport?: DatabaseExportResult;
  documentLibrary?: DocumentLibraryResult;
  manifest?: { bucket: string; key: string; schemaVersion: string };
  /** Incremental backups: the full backup chosen as base when this one started. */
  incrementalBase?: { backupId: string; prefix: string };
  /** The project's encryption settings when the backup started (its Jobs are built from these). */
  encryption?: TenantEncryption;
  /** While Queued: place among this project's waiting backups, and why it waits. */
  queue?: { position: number; reason: string };
  /** The spec as admitted when the first operation started: every later step is built from it. */
  admitted?: Admitted<BackupRequestSpec>;
  conditions?: Condition[];
}

/** A spec frozen at admission, with its digest (a later spec that differs fails with SpecChanged). */
export interface Admitted<Spec> { generation?: number; specSha256: string; spec: Spec }

export type BackupRequest = KubeObject<BackupRequestSpec, BackupRequestStatus>;

export interface RestoreRequestSpec {
  projectId: string;
  environment: string;
  provider: ProviderName;
  initiator?: string;
  approveOverwrite?: boolean;
  /** A DR drill: restore into scratch targets, check, measure the RTO, then remove them (docs/recovery-points.md). */
  drill?: boolean;
  /** Delete restored files no restored row refers to (counted either way). */
  cleanupOrphans?: boolean;
  /** No reindex phase for this restore, whatever the project configured. */
  skipReindex?: boolean;
  source: { backupRef?: { name: string }; manifest?: { bucket: string; key: string } };
  database: { instanceId: string; databaseName: string; credentialsSecretRef?: SecretRef; instanceClass?: string; subnetGroupName?: string };
  documentLibrary: { destinationBucket: string; destinationPrefix: string };
}

export const RESTORE_PHASES = ['Pending', 'RestoringDatabase', 'RestoringDocumentLibrary', 'Reindexing', 'CleaningUp', 'Succeeded', 'Failed'] as const;
export type RestorePhase = (typeof RESTORE_PHASES)[number];

/** What a restore needs from the backup's manifest, kept in status so every sync can rebuild its Jobs. */
export interface RestoreSource {
  manifest: { bucket: string; key: string };
  engine: Engine;
  bucket: string;
  /** A dump (local provider) ... */
  artifact?: string;
  sha256?: string;
  chunks?: DumpChunks;
  /** ... or a provider snapshot (cloud). */
  snapshotId?: string;
  cluster?: boolean;
  documentLibraryPrefix: string;
  /** Incremental backups: where the referenced objects live, and the index naming them. */
  base?: { prefix: string; refsPrefix: string };
  /** Where this restore's Jobs write their result objects (inside the backup's own folder). */
  resultsPrefix: string;
  /** The UID of the BackupRequest that made the backup (a snapshot must carry it as a tag). */
  sourceUid?: string;
  /**
   * Set when the restore named its backup by reference and that BackupRequest's status - written
   * only by the hook - recorded this manifest, snapshotId and UID: a provider may take it as proof
   * that the snapshot is the project's own without any signed record beside the data.
   */
  recordedByBackup?: boolean;
  /** An encrypted dump: where its wrapped data keys are, and the Secret with this project's KEKs. */
  encryption?: { keysPrefix: string; secretName: string; dataKeyId: string };
}

export interface RestoreRequestStatus {
  observedGeneration?: number;
  phase?: RestorePhase;
  backupId?: string;
  source?: RestoreSource;
  startTime?: string;
  completionTime?: string;
  operations?: Record<string, OperationStatus>;
  database?: { instanceId?: string; databaseName: string; verifiedSha256?: string; tool: string };
  documentLibrary?: { bucket: string; prefix: string; objectCount: number; totalBytes: number; consistency?: Consistency };
  /** A DR drill's outcome: its verdict, measured RTO and the removal of its scratch targets. */
  drill?: DrillStatus;
  /** The reindex phase: the project's settings frozen when the restore started, or why there is none. */
  reindex?: { config?: TenantReindex; skipped?: 'NotConfigured' | 'SkippedByRequest'; completionTime?: string };
  /** The spec as admitted when the backup to restore was resolved. */
  admitted?: Admitted<RestoreRequestSpec>;
  conditions?: Condition[];
}

export type RestoreRequest = KubeObject<RestoreRequestSpec, RestoreRequestStatus>;

export type DrillVerdict = 'Passed' | 'Failed';
export type DrillCleanup = 'Pending' | 'Done' | 'Failed';
export interface DrillStatus {
  /** Seconds from the database step's start to the document-library step's end (both recorded times); absent when a step failed. */
  rtoSeconds?: number;
  verdict: DrillVerdict;
  reason?: string;
  message?: string;
  cleanup: DrillCleanup;
  /** What the cleanup did or why it left something (never a secret). */
  cleanupMessage?: string;
}

/** What a drill's cleanup Job did with each scratch target. */
export interface DrillCleanupResult {
  /** dropped: carried this drill's marker; absent: not there; refused: no marker of this drill, left in place; skipped: not this drill's to touch. */
  database: 'dropped' | 'absent' | 'refused' | 'skipped';
  prefix: 'deleted' | 'skipped';
  /** Objects deleted under the scratch prefix. */
  objectCount: number;
}

/** Which finished backups to keep: the newest of each of the last N days/weeks/months, the last N, none older than maxAgeDays. */
export interface RetentionPolicy { keepLast?: number; keepDaily?: number; keepWeekly?: number; keepMonthly?: number; maxAgeDays?: number }

export interface BackupScheduleSpec {
  schedule: string;
  timeZone?: string;
  suspend?: boolean;
  startingDeadlineSeconds?: number;
  concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
  /** What happens to this schedule's backups when the schedule itself goes away (default Retain). */
  backupsOnDeletion?: 'Retain' | 'Delete';
  retention?: RetentionPolicy;
  /** Scheduled DR drills of this schedule's backups (docs/recovery-points.md, Scheduled drills). */
  drill?: DrillSchedule;
  template: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: BackupRequestSpec };
}

/** When and where a schedule's drills restore: a scratch database on `database.instanceId` and `<prefix>/<drill>/` in the bucket. */
export interface DrillSchedule {
  schedule: string;
  timeZone?: string;
  suspend?: boolean;
  /** Finished drill restores kept (default 3). */
  keep?: number;
  database: { instanceId: string; credentialsSecretRef?: SecretRef };
  documentLibrary: { bucket: string; prefix: string };
}

/** The newest finished drill of a schedule, as its schedule reports it. */
export interface LastDrill {
  name: string;
  backup?: string;
  startTime?: string;
  completionTime?: string;
  verdict: DrillVerdict;
  rtoSeconds?: number;
  message?: string;
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
  /** The latest drill time acted on (a drill started, or skipped for want of a verified backup). */
  lastDrillScheduleTime?: string;
  nextDrillTime?: string;
  /** The drill restore running now, if any (the next drill waits for it). */
  activeDrill?: string;
  lastDrill?: LastDrill;
  conditions?: Condition[];
}

export type BackupSchedule = KubeObject<BackupScheduleSpec, BackupScheduleStatus>;

export interface BackupTenantSpec {
  namespaces: string[];
  maxConcurrentBackups?: number;
  databaseInstances?: string[];
  documentLibraryBuckets?: string[];
  backupBuckets?: string[];
  /** When set: the only database names this project may dump or restore into (shared database servers). */
  databases?: string[];
  /** When set: the only prefixes of its document-library buckets this project may read or restore into (shared buckets). */
  documentLibraryPrefixes?: string[];
  /** Database snapshots this project may hold (its share of the account's quota); at the cap, new snapshot backups wait. */
  maxSnapshots?: number;
  /** Environment → namespace, for REST requests that name no namespace (default: proj-<projectId>-<environment>); each must be in `namespaces`. */
  environmentNamespaces?: Record<string, string>;
  /** One retention policy per environment over all its recovery points (hooks/backup/environmentRetention.ts). */
  retention?: { default?: RetentionPolicy; environments?: Record<string, RetentionPolicy> };
  /** Encryption at rest of database dumps with the project's key (docs/encryption.md). */
  encryption?: TenantEncryption;
  /** The reindex phase of this project's restores. */
  reindex?: TenantReindex;
}

/** How a project's restores rebuild the search index (BackupTenant spec.reindex): exactly one of http or job. */
export interface TenantReindex {
  /** An HTTP call made by a Job (the service's tools image) in the restore's namespace. */
  http?: { url: string; method?: 'POST' | 'PUT' | 'GET'; body?: string; authorizationSecret?: { name: string; key: string }; timeoutSeconds?: number };
  /** A Job of the platform team's own. */
  job?: { image: string; command: string[]; args?: string[]; serviceAccountName?: string; envFromSecret?: string };
  activeDeadlineSeconds?: number;
  backoffLimit?: number;
}

/** One environment's recovery points as the last retention sweep saw them. */
export interface EnvironmentRecoveryPoints {
  name: string;
  /** Verified backups whose data is still there. */
  recoveryPoints: number;
  /** Of those, the ones no BackupRequest governs any more (the environment's policy decides). */
  ungoverned: number;
  newestBackupId?: string;
  newestCompletedAt?: string;
  /** Recovery points the policy let go whose deletion is not finished yet. */
  expiring: number;
}

export interface BackupTenantStatus {
  observedGeneration?: number;
  lastSweepTime?: string;
  environments?: EnvironmentRecoveryPoints[];
  /** Data deleted by the environment policy since the tenant was created (a counter, for alerts on surprises). */
  expiredTotal?: number;
  /** Database snapshots this project's recovery points hold (cloud providers), as of the last sweep. */
  snapshots?: number;
  /** The cloud account's manual-snapshot quota, as the provider reports it (shared by every project in that account). */
  snapshotQuota?: { provider: string; used: number; max: number };
  conditions?: Condition[];
}
export type BackupTenant = KubeObject<BackupTenantSpec, BackupTenantStatus>;
