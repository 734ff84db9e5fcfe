// Azure errors as the machine needs them: a reason, a message that says what to fix (docs/azure.md),
// and whether to retry with backoff. ARM and Blob errors are RestErrors (statusCode + code); a
// long-running operation that ended Failed surfaces as a plain Error from core-lro.

export interface Classified { reason: string; message: string; retryable: boolean }

const RETRYABLE_CODES = new Set([
  'TooManyRequests', 'ServerBusy', 'OperationTimedOut', 'InternalError', 'InternalServerError', 'ServiceUnavailable',
  // Another operation is running on the server (a backup, a scale, maintenance): ARM answers 409.
  'Conflict', 'OperationInProgress', 'AnotherOperationInProgress', 'ServerIsBusy',
  // A copy whose source changed under it (source If-Match): the next sync copies it afresh.
  'SourceConditionNotMet', 'ConditionNotMet', 'CannotVerifyCopySource', 'PendingCopyOperation',
  'REQUEST_SEND_ERROR', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT',
]);

const HINTS: Record<string, string> = {
  ResourceNotFound: 'check spec.database.instanceId ("<server>" or "<resourceGroup>.<server>"): no such Flexible Server in this subscription',
  ResourceGroupNotFound: 'check spec.database.instanceId: no such resource group in this subscription (LC2_AZURE_RESOURCE_GROUP is the default)',
  ParentResourceNotFound: 'check spec.database.instanceId: no such Flexible Server in this resource group',
  AuthorizationFailed: 'access denied: the hook\'s managed identity lacks an ARM permission listed in docs/azure.md',
  AuthorizationPermissionMismatch: 'access denied: the hook\'s managed identity needs "Storage Blob Data Contributor" on the storage account (docs/azure.md)',
  AuthorizationFailure: 'access denied by the storage account (network rules or role assignment; docs/azure.md)',
  ContainerNotFound: 'a container named in the spec does not exist in that storage account: check spec.documentLibrary.sourceBucket/destinationBucket ("<container>" or "<account>.<container>")',
  InvalidResourceName: 'an Azure name derived from the spec is not valid: check spec.database.instanceId',
  SubscriptionNotFound: 'LC2_AZURE_SUBSCRIPTION_ID names no subscription the hook\'s identity can see',
  LongRunningOperationFailed: 'the Azure operation ended Failed; the server\'s activity log says why',
};

/** Never let a SAS signature into a message (a RestError may quote a URL). */
export const redact = (s: string) => s.replace(/([?&](?:sig|se|st|sv|skoid|sktid|skt|ske|sks|skv|sp|sr|spr)=)[^&\s"']*/gi, '$1…');

export function classify(e: unknown): Classified {
  const err = e as { name?: string; code?: string; statusCode?: number; message?: string };
  const status = err.statusCode ?? 0;
  const lroFailed = !status && /long-running operation has failed/i.test(err.message ?? '');
  const code = lroFailed ? 'LongRunningOperationFailed' : err.code && err.code !== 'undefined' ? err.code : err.name === 'AbortError' ? 'Timeout' : err.name ?? 'Error';
  const detail = redact(`${code}: ${(err.message ?? '').split('\n')[0]}`).slice(0, 400);
  const retryable = !lroFailed && (RETRYABLE_CODES.has(code) || code === 'Timeout' || status === 429 || status === 408 || status >= 500);
  // A bare 404 without an ARM code: the resource (group) the spec names is missing.
  const hint = HINTS[code] ?? (status === 404 ? HINTS.ResourceNotFound : status === 403 ? HINTS.AuthorizationFailed : undefined);
  return { reason: code.replace(/[^A-Za-z0-9]/g, '') || 'Error', message: hint ? `${hint} (${detail})` : detail, retryable };
}

export const isNotFound = (e: unknown) => (e as { statusCode?: number }).statusCode === 404;
export const codeOf = (e: unknown) => (e as { code?: string }).code ?? '';

/** A named, non-retryable refusal (ownership, a taken target). */
export const refusal = (name: string, message: string) => Object.assign(new Error(message), { name, code: name });
