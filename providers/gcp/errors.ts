// Errors of the three Google clients as one shape (pure). gaxios (Cloud SQL Admin, GCS) reports the
// HTTP status in `status`/`code` and the reason at response.data.error.errors[0].reason; google-gax
// (Storage Transfer) a numeric gRPC `code` - over the REST fallback an HTTP 409 arrives as 10 ABORTED.
export interface Classified { reason: string; message: string; retryable: boolean }

interface AnyError {
  name?: string; message?: string; code?: number | string; status?: number;
  response?: { status?: number; data?: { error?: { errors?: Array<{ reason?: string; message?: string }>; message?: string; status?: string } } };
}

const GRPC = { CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;

/** The HTTP status of a gaxios/GCS error (0 when there is none). */
export function httpStatus(e: unknown): number {
  const err = e as AnyError;
  if (typeof err.status === 'number') return err.status;
  if (typeof err.response?.status === 'number') return err.response.status;
  // GCS ApiError and gaxios put the HTTP status in `code`; google-gax puts a gRPC code (< 100) there.
  return typeof err.code === 'number' && err.code >= 100 ? err.code : 0;
}

/** The gRPC code of a google-gax error, or undefined. */
export function grpcCode(e: unknown): number | undefined {
  const code = (e as AnyError).code;
  return typeof code === 'number' && code < 100 ? code : undefined;
}

/** Cloud SQL's reason (operationInProgress, instanceAlreadyExists, notAuthorized, ...). */
export function sqlReason(e: unknown): string | undefined {
  return (e as AnyError).response?.data?.error?.errors?.[0]?.reason;
}

export const isNotFound = (e: unknown) => httpStatus(e) === 404 || grpcCode(e) === GRPC.NOT_FOUND;
/** A create that found the name taken: gRPC 6, or 10 when the REST fallback maps HTTP 409 - never trusted without a read. */
export const isAlreadyExists = (e: unknown) => grpcCode(e) === GRPC.ALREADY_EXISTS || grpcCode(e) === GRPC.ABORTED || httpStatus(e) === 409;

const NETWORK = /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|socket hang up|network|aborted|timed? ?out|premature close|other side closed|fetch failed/i;
const RETRYABLE_GRPC: ReadonlySet<number> = new Set([GRPC.CANCELLED, GRPC.UNKNOWN, GRPC.DEADLINE_EXCEEDED, GRPC.RESOURCE_EXHAUSTED, GRPC.ABORTED, GRPC.INTERNAL, GRPC.UNAVAILABLE]);

const HINTS: Record<string, string> = {
  operationInProgress: 'Cloud SQL runs one operation per instance at a time; retried later',
  notAuthorized: 'the hook\'s Google service account lacks a Cloud SQL permission listed in docs/gcp.md',
  instanceDoesNotExist: 'check spec.database.instanceId: no such Cloud SQL instance in this project',
  instanceAlreadyExists: 'an instance by the restore\'s name exists (or was deleted less than a week ago): choose another spec.database.instanceId',
};

export function classify(e: unknown): Classified {
  const err = e as AnyError;
  const status = httpStatus(e);
  const grpc = grpcCode(e);
  const reason = sqlReason(e);
  // A listing that ran out of pages: asked again later, never taken as an answer.
  if (err.name === 'ListIncomplete') return { reason: 'ListIncomplete', message: (err.message ?? '').slice(0, 400), retryable: true };
  // Our own typed errors (ownership conflicts, refusals) keep their name and are final.
  if (err.name && /Conflict$|NotEmpty$|NotAllowed$|Invalid$/.test(err.name)) return { reason: err.name, message: (err.message ?? '').slice(0, 400), retryable: false };
  const detail = `${reason ?? (status ? `HTTP ${status}` : grpc !== undefined ? `gRPC ${grpc}` : err.name ?? 'Error')}: ${(err.response?.data?.error?.message ?? err.message ?? '').slice(0, 300)}`;
  const hint = reason ? HINTS[reason] : undefined;
  const message = hint ? `${hint} (${detail})` : detail;
  if (reason === 'operationInProgress') return { reason: 'OperationInProgress', message, retryable: true };
  if (status === 429 || status >= 500 || status === 408) return { reason: status === 429 ? 'Throttled' : 'ServiceUnavailable', message, retryable: true };
  if (grpc !== undefined && RETRYABLE_GRPC.has(grpc)) return { reason: 'ServiceUnavailable', message, retryable: true };
  if (status === 403 || status === 401 || grpc === GRPC.PERMISSION_DENIED || grpc === GRPC.UNAUTHENTICATED) {
    return { reason: 'AccessDenied', message: hint ? message : `access denied: the hook's Google service account lacks a permission listed in docs/gcp.md (${detail})`, retryable: false };
  }
  if (status === 404 || grpc === GRPC.NOT_FOUND) return { reason: 'NotFound', message: hint ? message : `not found: check the instance and bucket names in the spec (${detail})`, retryable: false };
  if (!status && grpc === undefined && (err.name === 'AbortError' || err.name === 'TimeoutError' || NETWORK.test(`${String(err.code ?? '')} ${err.message ?? ''}`))) {
    return { reason: 'Unreachable', message, retryable: true };
  }
  return { reason: reason ? reason.charAt(0).toUpperCase() + reason.slice(1) : 'GcpError', message, retryable: false };
}

/**
 * 409 operationInProgress: Cloud SQL runs one operation per instance at a time, and another (a
 * maintenance, someone's backup) is running. A wait, never a failure: observed as running, so the
 * attempts that end in Failed are not counted, however long the other operation takes.
 */
export function instanceBusy(e: unknown): { state: 'running'; resyncAfterSeconds: number; message: string } | undefined {
  if (sqlReason(e) !== 'operationInProgress') return undefined;
  return { state: 'running', resyncAfterSeconds: 30, message: 'another operation on the instance is running; Cloud SQL runs one at a time, asked again in 30s' };
}
