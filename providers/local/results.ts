// Reading the small result object a Job writes (schemas/job-result.v1.json).
import { schemaErrors } from '../../hooks/validation/jsonSchemas.ts';
import type { ObjectStore } from '../storage/objectStore.ts';

export interface JobResult {
  version: 1; step: string; status: 'succeeded' | 'failed';
  reason?: string; message?: string; startedAt?: string; completedAt?: string;
  artifact?: string; sizeBytes?: number; sha256?: string; objectCount?: number; totalBytes?: number; tool?: string;
}

export type ReadResult =
  | { kind: 'ok'; value: JobResult }
  | { kind: 'failed'; reason: string; message: string }
  | { kind: 'missing' }
  | { kind: 'invalid'; message: string };

export async function readJobResult(store: ObjectStore, bucket: string, key: string): Promise<ReadResult> {
  const body = await store.get(bucket, key);
  if (!body) return { kind: 'missing' };
  let value: unknown;
  try { value = JSON.parse(body.toString('utf8')); } catch { return { kind: 'invalid', message: 'not JSON' }; }
  const errors = schemaErrors('jobResult', value);
  if (errors.length > 0) return { kind: 'invalid', message: errors.join('; ') };
  const r = value as JobResult;
  if (r.status === 'failed') return { kind: 'failed', reason: r.reason ?? 'Failed', message: r.message ?? '' };
  return { kind: 'ok', value: r };
}
