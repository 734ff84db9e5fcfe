// The tenant boundary (pure): a request may only touch its own project's namespaces, database
// instances and buckets, as the platform team's BackupTenant says - never what the tenant writes in
// its own spec. Checked before anything starts, so a refused request touches nothing.
import type { BackupRequestSpec, BackupTenant, BackupTenantSpec, RestoreRequestSpec } from '../api.ts';

export type TenancyMode = 'enforce' | 'off';
export interface Refusal { reason: string; message: string }

type TenantList = 'databaseInstances' | 'documentLibraryBuckets' | 'backupBuckets';
/** One field of a request that must appear in one of the tenant's lists. */
interface Claim { field: string; value: string | undefined; list: TenantList }

const LIST_NAMES: Record<TenantList, { reason: string; noun: string }> = {
  databaseInstances: { reason: 'InstanceNotAllowed', noun: 'database instances' },
  documentLibraryBuckets: { reason: 'BucketNotAllowed', noun: 'document-library buckets' },
  backupBuckets: { reason: 'BucketNotAllowed', noun: 'backup buckets' },
};

function refusal(namespace: string, projectId: string, tenant: BackupTenant | undefined, mode: TenancyMode, claims: Claim[]): Refusal | undefined {
  if (mode === 'off') return undefined;
  if (!tenant?.spec) {
    return { reason: 'TenantNotFound', message: `no BackupTenant named "${projectId}": the platform team must map project ${projectId} to its namespaces, instances and buckets (docs/tenancy.md)` };
  }
  const t: BackupTenantSpec = tenant.spec;
  if (!t.namespaces.includes(namespace)) {
    return { reason: 'NamespaceNotAllowed', message: `namespace ${namespace} does not belong to project ${projectId} (BackupTenant ${projectId} lists ${t.namespaces.join(', ') || 'none'})` };
  }
  for (const c of claims) {
    if (c.value === undefined || (t[c.list] ?? []).includes(c.value)) continue;
    const { reason, noun } = LIST_NAMES[c.list];
    return { reason, message: `${c.field}: ${c.value} is not one of project ${projectId}'s ${noun}` };
  }
  return undefined;
}

export function backupTenancyRefusal(namespace: string, spec: BackupRequestSpec, tenant: BackupTenant | undefined, mode: TenancyMode): Refusal | undefined {
  return refusal(namespace, spec.projectId, tenant, mode, [
    { field: 'spec.database.instanceId', value: spec.database.instanceId, list: 'databaseInstances' },
    { field: 'spec.documentLibrary.sourceBucket', value: spec.documentLibrary.sourceBucket, list: 'documentLibraryBuckets' },
    { field: 'spec.documentLibrary.destinationBucket', value: spec.documentLibrary.destinationBucket, list: 'backupBuckets' },
  ]);
}

export function restoreTenancyRefusal(namespace: string, spec: RestoreRequestSpec, tenant: BackupTenant | undefined, mode: TenancyMode): Refusal | undefined {
  return refusal(namespace, spec.projectId, tenant, mode, [
    { field: 'spec.database.instanceId', value: spec.database.instanceId, list: 'databaseInstances' },
    { field: 'spec.documentLibrary.destinationBucket', value: spec.documentLibrary.destinationBucket, list: 'documentLibraryBuckets' },
    { field: 'spec.source.manifest.bucket', value: spec.source.manifest?.bucket, list: 'backupBuckets' },
  ]);
}
