// The provider interface (DESIGN.md §3). A backup or restore is an ordered list of steps; each step
// is one provider operation with an ID derived from the resource UID. `children` is pure (the Jobs
// a local step needs); `start` and `observe` are the imperative shell around one operation. Both
// must be idempotent: a sync may run them any number of times, concurrently, after a crash.
// This is the port: a provider implements BackupRuntime and RestoreRuntime (planner, observeStep,
// store, and optionally quiesce, deleteExternal, verifyExternal); the shells in hooks/ call them. It
// imports only core/, so a provider needs nothing from hooks/.
import type {
  BackupPhase, BackupRequest, BackupRequestSpec, DatabaseResult, DocumentLibraryResult, BackupRequestStatus, ObjectLocation, RestorePhase, RestoreRequestSpec, RestoreSource, OperationStatus, TenantEncryption, Consistency, DrillCleanupResult,
} from './crd.ts';
import type { KubeObject } from './kube.ts';

export type Observation<R> =
  /** progress is kept in status for the next sync; resyncAfterSeconds asks to be called again sooner. */
  | { state: 'running'; message?: string; progress?: Record<string, unknown>; resyncAfterSeconds?: number }
  | { state: 'done'; result: R; completedAt: string }
  | { state: 'failed'; reason: string; message: string; retryable: boolean };

export interface Step<Name extends string, Phase extends string> {
  name: Name;
  /** The parent phase while this step runs. */
  phase: Phase;
  /** Deterministic operation ID (Job name for local; snapshot/task identifier for clouds). */
  operationId: string;
  /** Children the step needs; kept after it finishes so Metacontroller never re-creates them. */
  children: KubeObject[];
}

/** keys and consistency: a snapshot backup's consistency check (a Job before the snapshot, one after the copy). */
export type BackupStepName = 'keys' | 'snapshot' | 'export' | 'transfer' | 'consistency';
export type BackupStep = Step<BackupStepName, BackupPhase>;
export type RestoreStepName = 'database' | 'documentLibrary' | 'reindex' | 'cleanup';
export type RestoreStep = Step<RestoreStepName, RestorePhase> & {
  /** OPTIONAL. A drill's cleanup step: what it may touch (a cloud cleanup has no Job to carry it). */
  scope?: DrillScope;
  /** OPTIONAL. Observe only, start nothing: a failed or deleted drill waits for a running step to end. */
  settle?: boolean;
};

/** Why a provider refuses a spec before anything starts (bad input, not a transient failure). */
export interface SpecProblem { field: string; message: string }

/** What a backup step is planned from: the resource, its validated spec and its frozen location. */
export interface BackupContext {
  name: string;
  uid: string;
  spec: BackupRequestSpec;
  location: ObjectLocation;
  /** Incremental backups: the full backup whose unchanged objects are referenced, not copied. */
  base?: { backupId: string; prefix: string };
  /** The database step's result, once it finished (the export step exports that snapshot). */
  database?: DatabaseResult;
  /** The document-library step's result, once it finished (the consistency step adds its check). */
  documentLibrary?: DocumentLibraryResult;
  /** The project's encryption settings, frozen when the backup started: dumps are encrypted for this KEK. */
  encryption?: TenantEncryption;
}

/** A finished backup step adds these to status (the database, its export, or the document library). */
export type BackupStepResult = Pick<BackupRequestStatus, 'database' | 'databaseExport' | 'documentLibrary'>;

export interface RestoreContext { name: string; uid: string; spec: RestoreRequestSpec; source: RestoreSource }
export interface RestoreStepResult { sha256?: string; instanceId?: string; objectCount?: number; totalBytes?: number; tool: string; consistency?: Consistency; cleanup?: DrillCleanupResult }

/** Which of a drill's scratch targets its cleanup may touch (what the drill's own steps may have created). */
export interface DrillScope {
  database: boolean; prefix: boolean;
  /**
   * The copy step recorded (in status) that it found the prefix empty, or finished: a cloud cleanup
   * empties only such a prefix. A cloud copy step records it as `progress.checked: true`.
   */
  prefixChecked?: boolean;
  /** The database step finished: its target existed (a cloud cleanup that finds it gone reports it dropped). */
  databaseCreated?: boolean;
}

/** What a provider contributes to the pure decision (no I/O). */
export interface BackupPlanner {
  /** `encryption`: the project's settings; a provider that cannot honour them refuses (never writes in the clear). */
  problems(spec: BackupRequestSpec, encryption?: TenantEncryption): SpecProblem[];
  steps(ctx: BackupContext): BackupStep[];
}

/** Whether what a backup made is really there (the manifest read back, an external artifact re-read). */
export type ManifestCheck = { ok: true } | { ok: false; message: string; retryable: boolean };

/** One provider as the backup shell uses it. */
export interface BackupRuntime {
  planner: BackupPlanner;
  /** Where this provider's backups live: manifests are written and verified, folders deleted, here. */
  store: ObjectStore;
  /** Starts (idempotently, by operation ID) and observes one step; `op.progress` is what the last sync recorded. */
  observeStep(step: BackupStep, ctx: BackupContext, job: KubeObject | undefined, op: OperationStatus): Promise<Observation<BackupStepResult>>;
  /** Before a folder is deleted: cancels what still writes into it (an export, a copy); true once nothing does. */
  quiesce?(parent: BackupRequest): Promise<boolean>;
  /** Deletes what the backup made outside its folder (an RDS snapshot); true once it is gone. */
  deleteExternal?(parent: BackupRequest): Promise<boolean>;
  /** Before Succeeded: what lives outside the folder is still there (the snapshot is available). */
  verifyExternal?(ctx: BackupContext): Promise<ManifestCheck>;
  /** OPTIONAL. The account's manual-snapshot quota (shared by every project in it), when the provider has one. */
  snapshotQuota?(): Promise<{ used: number; max: number } | undefined>;
}

/** What a provider contributes to the pure restore decision (no I/O). */
export interface RestorePlanner {
  problems(spec: RestoreRequestSpec): SpecProblem[];
  steps(ctx: RestoreContext): RestoreStep[];
  /** OPTIONAL. A DR drill's cleanup step (phase CleaningUp); a provider without it refuses drills. */
  drillCleanup?(ctx: RestoreContext, scope: DrillScope): RestoreStep;
}

/** One provider as the restore shell uses it. */
/** A refusal known before anything is created (a target that is not new), or ok. */
export type Preflight = { ok: true } | { ok: false; reason: string; message: string; retryable: boolean };

export interface RestoreRuntime {
  planner: RestorePlanner;
  /** Where this provider's backups (and their manifests) live. */
  store: ObjectStore;
  /**
   * OPTIONAL. Everything that would refuse the restore and can be known before the first step
   * creates anything (the target instance exists, the target prefix holds objects, the snapshot is
   * not this project's): checked once, before the first operation starts.
   */
  preflight?(ctx: RestoreContext): Promise<Preflight>;
  observeStep(step: RestoreStep, ctx: RestoreContext, job: KubeObject | undefined, op: OperationStatus): Promise<Observation<RestoreStepResult>>;
}

// The few object-store calls the hook itself makes: small result objects, manifests, existence
// checks and deletes. Backup data never passes through here.
export interface ObjectInfo { key: string; size: number }

/** An object larger than the reader allows: it is never buffered (a planted 500 MB "manifest" must not take the server down). */
export class ObjectTooLarge extends Error {
  constructor(bucket: string, key: string, maxBytes: number) {
    super(`${bucket}/${key} is larger than ${maxBytes} bytes`);
    this.name = 'ObjectTooLarge';
  }
}

/** The most the hook ever reads of a small object (manifests, Job results, checkpoints). */
export const MAX_SMALL_OBJECT_BYTES = 1024 * 1024;

export interface ObjectStore {
  /** The object's bytes, or null if it does not exist; throws ObjectTooLarge past maxBytes (default 1 MiB) without reading the rest. */
  get(bucket: string, key: string, maxBytes?: number): Promise<Buffer | null>;
  put(bucket: string, key: string, body: string, contentType: string): Promise<void>;
  head(bucket: string, key: string): Promise<ObjectInfo | null>;
  /** One page of keys under a prefix, in key order, starting after `after`. */
  list(bucket: string, prefix: string, after?: string, limit?: number): Promise<ObjectInfo[]>;
  deleteMany(bucket: string, keys: string[]): Promise<void>;
  /** SHA-256 of an object, streamed (never held in memory); null if it does not exist. */
  sha256(bucket: string, key: string): Promise<string | null>;
}

export type StorageConfig =
  | { kind: 's3'; endpoint: string; region: string; secretName: string; accessKeyIdKey: string; secretAccessKeyKey: string }
  | { kind: 'file'; root: string };
