// Reading the small result object a Job writes (schemas/job-result.v1.json).
import { schemaErrors, firstErrors } from '../../../core/validation/jsonSchemas.ts';
import { ObjectTooLarge, type ObjectStore } from '../../../core/provider.ts';
import type { Consistency, DumpChunks } from '../../../core/crd.ts';
import { jobState, type KubeObject } from '../../../core/kube.ts';
import type { Observation } from '../../../core/provider.ts';

export interface JobResult {
  version: 1; step: string; status: 'succeeded' | 'failed';
  reason?: string; message?: string; startedAt?: string; completedAt?: string;
  artifact?: string; sizeBytes?: number; sha256?: string; objectCount?: number; totalBytes?: number; tool?: string;
  /** An encrypted dump: the KEK version its data key was wrapped for, and the data key's ID (SHA-256 of its public half). */
  keyVersion?: string; dataKeyId?: string;
  /** Dump: its chunk list. */
  chunks?: DumpChunks;
  /** Dump: how many document-library keys its rows refer to. Copy: those keys against the copy. */
  expectedKeys?: number; consistency?: Consistency;
  /** A drill's cleanup: what it did with the scratch database and prefix (objectCount: objects deleted). */
  cleanup?: { database: 'dropped' | 'absent' | 'refused' | 'skipped'; prefix: 'deleted' | 'skipped' };
}

export type ReadResult =
  | { kind: 'ok'; value: JobResult }
  | { kind: 'failed'; reason: string; message: string }
  | { kind: 'missing' }
  | { kind: 'invalid'; message: string };

/** A result object is a few hundred bytes; a Job (or a tenant with the project's key) may write anything there. */
const MAX_RESULT_BYTES = 64 * 1024;

/** An RFC 3339 UTC time whose fields are all in range (the schema's pattern accepts 2026-13-45T25:61:61Z). */
const realTime = (t: string) => {
  const ms = Date.parse(t);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 19) === t.slice(0, 19);
};

export async function readJobResult(store: ObjectStore, bucket: string, key: string): Promise<ReadResult> {
  let body: Buffer | null;
  try { body = await store.get(bucket, key, MAX_RESULT_BYTES); } catch (e) {
    if (e instanceof ObjectTooLarge) return { kind: 'invalid', message: `larger than ${MAX_RESULT_BYTES} bytes` };
    throw e;
  }
  if (!body) return { kind: 'missing' };
  let value: unknown;
  try { value = JSON.parse(body.toString('utf8')); } catch { return { kind: 'invalid', message: 'not JSON' }; }
  const errors = schemaErrors('jobResult', value);
  if (errors.length > 0) return { kind: 'invalid', message: firstErrors(errors) };
  const r = value as JobResult;
  // Its times go into status: one the API server would refuse (month 13, hour 25) would make every
  // status write fail and the request hang with its slots held.
  for (const t of [r.startedAt, r.completedAt]) if (t !== undefined && !realTime(t)) return { kind: 'invalid', message: `${t} is not a real UTC time` };
  if (r.status === 'failed') return { kind: 'failed', reason: r.reason ?? 'Failed', message: r.message ?? '' };
  return { kind: 'ok', value: r };
}

/**
 * One local step's observation: the Job's state from the request's children and, once it finished,
 * the result object it wrote. A refusal recorded by the Job (exit 3) wins over the Job's generic reason.
 */
export async function observeJob(job: KubeObject | undefined, store: ObjectStore, bucket: string, key: string): Promise<Observation<JobResult>> {
  const state = jobState(job);
  if (state.state === 'missing' || state.state === 'running') {
    return { state: 'running', message: state.state === 'missing' ? 'Job is being created' : 'Job is running' };
  }
  const result = await readJobResult(store, bucket, key);
  if (result.kind === 'failed') return { state: 'failed', reason: result.reason, message: result.message, retryable: false };
  if (state.state === 'failed') {
    return { state: 'failed', reason: `Job${state.reason}`, message: `Job ${job?.metadata.name}: ${state.message}; see its Pod logs`, retryable: false };
  }
  if (result.kind !== 'ok') {
    const why = result.kind === 'invalid' ? `is invalid (${result.message})` : 'is missing';
    return { state: 'failed', reason: 'ResultMissing', message: `Job ${job?.metadata.name} completed but its result object ${key} ${why}`, retryable: false };
  }
  return { state: 'done', result: result.value, completedAt: result.value.completedAt ?? '' };
}
