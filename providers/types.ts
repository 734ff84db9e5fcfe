// The provider interface (DESIGN.md §3). A backup or restore is an ordered list of steps; each step
// is one provider operation with an ID derived from the resource UID. `children` is pure (the Jobs
// a local step needs); `start` and `observe` are the imperative shell around one operation. Both
// must be idempotent: a sync may run them any number of times, concurrently, after a crash.
import type { BackupPhase, RestorePhase } from '../hooks/api.ts';
import type { KubeObject } from '../hooks/contract/types.ts';

export type Observation<R> =
  | { state: 'running'; message?: string }
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

export type BackupStepName = 'snapshot' | 'export' | 'transfer';
export type BackupStep = Step<BackupStepName, BackupPhase>;
export type RestoreStepName = 'database' | 'documentLibrary';
export type RestoreStep = Step<RestoreStepName, RestorePhase>;

/** Why a provider refuses a spec before anything starts (bad input, not a transient failure). */
export interface SpecProblem { field: string; message: string }
