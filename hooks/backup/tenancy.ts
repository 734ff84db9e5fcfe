// The tenant boundary (pure): a request may only touch its own project's namespaces, database
// instances and buckets, as the platform team's BackupTenant says - never what the tenant writes in
// its own spec. Checked before anything starts, so a refused request touches nothing.
import type { BackupRequestSpec, BackupTenant, RestoreRequestSpec } from '../api.ts';

export type TenancyMode = 'enforce' | 'off';
export interface Refusal { reason: string; message: string }

const listed = (list: string[] | undefined, value: string) => (list ?? []).includes(value);

function common(namespace: string, projectId: string, tenant: BackupTenant | undefined, mode: TenancyMode): Refusal | 'skip' | undefined {
  if (mode === 'off') return 'skip';
  if (!tenant) {
    return { reason: 'TenantNotFound', message: `no BackupTenant named "${projectId}": the platform team must map project ${projectId} to its namespaces, instances and buckets (docs/tenancy.md)` };
  }
  if (!listed(tenant.spec?.namespaces, namespace)) {
    return { reason: 'NamespaceNotAllowed', message: `namespace ${namespace} does not belong to project ${projectId} (BackupTenant ${projectId} lists ${(tenant.spec?.namespaces ?? []).join(', ') || 'none'})` };
  }
  return undefined;
}

export function backupTenancyRefusal(namespace: string, spec: BackupRequestSpec, tenant: BackupTenant | undefined, mode: TenancyMode): Refusal | undefined {
  const base = common(namespace, spec.projectId, tenant, mode);
  if (base === 'skip') return undefined;
  if (base) return base;
  const t = tenant!.spec!;
  if (!listed(t.databaseInstances, spec.database.instanceId)) {
    return { reason: 'InstanceNotAllowed', message: `spec.database.instanceId: ${spec.database.instanceId} is not one of project ${spec.projectId}'s database instances` };
  }
  if (!listed(t.documentLibraryBuckets, spec.documentLibrary.sourceBucket)) {
    return { reason: 'BucketNotAllowed', message: `spec.documentLibrary.sourceBucket: ${spec.documentLibrary.sourceBucket} is not one of project ${spec.projectId}'s document-library buckets` };
  }
  if (!listed(t.backupBuckets, spec.documentLibrary.destinationBucket)) {
    return { reason: 'BucketNotAllowed', message: `spec.documentLibrary.destinationBucket: ${spec.documentLibrary.destinationBucket} is not one of project ${spec.projectId}'s backup buckets` };
  }
  return undefined;
}

export function restoreTenancyRefusal(namespace: string, spec: RestoreRequestSpec, tenant: BackupTenant | undefined, mode: TenancyMode): Refusal | undefined {
  const base = common(namespace, spec.projectId, tenant, mode);
  if (base === 'skip') return undefined;
  if (base) return base;
  const t = tenant!.spec!;
  if (!listed(t.databaseInstances, spec.database.instanceId)) {
    return { reason: 'InstanceNotAllowed', message: `spec.database.instanceId: ${spec.database.instanceId} is not one of project ${spec.projectId}'s database instances` };
  }
  if (!listed(t.documentLibraryBuckets, spec.documentLibrary.destinationBucket)) {
    return { reason: 'BucketNotAllowed', message: `spec.documentLibrary.destinationBucket: ${spec.documentLibrary.destinationBucket} is not one of project ${spec.projectId}'s document-library buckets` };
  }
  if (spec.source.manifest && !listed(t.backupBuckets, spec.source.manifest.bucket)) {
    return { reason: 'BucketNotAllowed', message: `spec.source.manifest.bucket: ${spec.source.manifest.bucket} is not one of project ${spec.projectId}'s backup buckets` };
  }
  return undefined;
}
