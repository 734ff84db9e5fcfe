// Kubernetes objects as every layer sees them (only the fields this service reads or writes are
// typed), and what the hook needs to know about an observed batch/v1 Job.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }>;
}

export interface KubeObject<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
}

export type JobState =
  | { state: 'missing' }
  | { state: 'running' }
  | { state: 'succeeded'; completionTime?: string }
  | { state: 'failed'; reason: string; message: string };

interface JobCondition { type?: string; status?: string; reason?: string; message?: string }
interface JobStatus { succeeded?: number; completionTime?: string; conditions?: JobCondition[] }

export function jobState(job: KubeObject | undefined): JobState {
  if (!job) return { state: 'missing' };
  const status = (job.status ?? {}) as JobStatus;
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
  if (failed) {
    return { state: 'failed', reason: failed.reason ?? 'JobFailed', message: failed.message ?? 'the Job failed' };
  }
  const complete = conditions.some((c) => c.type === 'Complete' && c.status === 'True');
  if (complete || (status.succeeded ?? 0) > 0) {
    return status.completionTime ? { state: 'succeeded', completionTime: status.completionTime } : { state: 'succeeded' };
  }
  return { state: 'running' };
}
