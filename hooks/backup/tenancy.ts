// The tenant boundary (pure): a request may only touch its own project's namespaces, database
// instances, databases, buckets and prefixes, as the platform team's BackupTenant says - never what
// the tenant writes in its own spec. Checked before every operation starts, so a refused request
// touches nothing.
import type { BackupRequestSpec, BackupTenant, BackupTenantSpec, RestoreRequestSpec } from '../../core/crd.ts';
import { drillDatabaseName } from '../restore/drill.ts';

export type TenancyMode = 'enforce' | 'off';
export interface Refusal { reason: string; message: string }

type TenantList = 'databaseInstances' | 'documentLibraryBuckets' | 'backupBuckets' | 'databases';
/** One field of a request that must appear in one of the tenant's lists. */
interface Claim { field: string; value: string | undefined; list: TenantList; optional?: boolean }
/** A prefix of a request that must lie under one of the tenant's prefixes, when it lists any. */
interface PrefixClaim { field: string; value: string }

const LIST_NAMES: Record<TenantList, { reason: string; noun: string }> = {
  databaseInstances: { reason: 'InstanceNotAllowed', noun: 'database instances' },
  documentLibraryBuckets: { reason: 'BucketNotAllowed', noun: 'document-library buckets' },
  backupBuckets: { reason: 'BucketNotAllowed', noun: 'backup buckets' },
  databases: { reason: 'DatabaseNotAllowed', noun: 'databases' },
};

const withSlash = (p: string) => (p === '' || p.endsWith('/') ? p : `${p}/`);
const has = (list: readonly string[] | undefined, value: string) => Array.isArray(list) && list.includes(value);

function refusal(namespace: string, projectId: string, tenant: BackupTenant | undefined, mode: TenancyMode, claims: Claim[], prefixes: PrefixClaim[]): Refusal | undefined {
  if (mode === 'off') return undefined;
  if (!tenant?.spec || tenant.metadata.name !== projectId || tenant.metadata.namespace) {
    return { reason: 'TenantNotFound', message: `no BackupTenant named "${projectId}": the platform team must map project ${projectId} to its namespaces, instances and buckets (docs/tenancy.md)` };
  }
  const t: BackupTenantSpec = tenant.spec;
  if (!has(t.namespaces, namespace)) {
    return { reason: 'NamespaceNotAllowed', message: `namespace ${namespace} does not belong to project ${projectId}` };
  }
  for (const c of claims) {
    if (c.list === 'databases' && !Array.isArray(t.databases)) continue; // no list: the whole instance is the project's
    if (c.value === undefined && c.optional) continue;
    if (c.value !== undefined && has(t[c.list], c.value)) continue;
    const { reason, noun } = LIST_NAMES[c.list];
    return { reason, message: c.value === undefined
      ? `${c.field} must be set: project ${projectId} may only touch the ${noun} its BackupTenant lists`
      : `${c.field}: ${c.value} is not one of project ${projectId}'s ${noun}` };
  }
  if (Array.isArray(t.documentLibraryPrefixes)) {
    for (const p of prefixes) {
      const value = withSlash(p.value);
      if (value.split('/').includes('..') || !t.documentLibraryPrefixes.some((allowed) => value.startsWith(allowed))) {
        return { reason: 'PrefixNotAllowed', message: `${p.field}: "${p.value}" is not under one of project ${projectId}'s document-library prefixes` };
      }
    }
  }
  return undefined;
}

export function backupTenancyRefusal(namespace: string, spec: BackupRequestSpec, tenant: BackupTenant | undefined, mode: TenancyMode): Refusal | undefined {
  const refused = listRefusal(namespace, spec, tenant, mode);
  if (refused || mode === 'off') return refused;
  // A snapshot (or a cloud backup) holds every database of the instance: on a server shared by
  // several projects it would hand this project the others' databases.
  if (Array.isArray(tenant?.spec?.databases) && spec.database.type === 'snapshot') {
    return { reason: 'SharedInstanceSnapshot', message: `spec.database.type: snapshot copies every database of instance ${spec.database.instanceId}, which project ${spec.projectId} shares with others (its BackupTenant lists only some databases): use type dump, or give the project an instance of its own` };
  }
  return undefined;
}

function listRefusal(namespace: string, spec: BackupRequestSpec, tenant: BackupTenant | undefined, mode: TenancyMode): Refusal | undefined {
  return refusal(namespace, spec.projectId, tenant, mode, [
    { field: 'spec.database.instanceId', value: spec.database.instanceId, list: 'databaseInstances' },
    // The consistency check's Job connects there: a listed instance's endpoint (host:port), never any host.
    { field: 'spec.database.endpoint', value: spec.database.endpoint, list: 'databaseInstances', optional: true },
    { field: 'spec.database.databaseName', value: spec.database.databaseName, list: 'databases' },
    { field: 'spec.documentLibrary.sourceBucket', value: spec.documentLibrary.sourceBucket, list: 'documentLibraryBuckets' },
    { field: 'spec.documentLibrary.destinationBucket', value: spec.documentLibrary.destinationBucket, list: 'backupBuckets' },
  ], [{ field: 'spec.documentLibrary.sourcePrefix', value: spec.documentLibrary.sourcePrefix ?? '' }]);
}

/**
 * A scheduled drill's scratch database on a server held to a `databases` list: the one name derived
 * from the drill's own namespace/name and its schedule's UID (its controller) is allowed besides the
 * list. The drill creates it (refusing one that exists) and drops only what carries its own mark, so
 * it can touch no other database; no tenant can derive another's (namespace and UID differ, and the
 * UID cannot be read from another namespace). A drill without a schedule uses a listed database.
 */
const ownScratchDatabase = (namespace: string, name: string, scheduleUid: string | undefined, spec: RestoreRequestSpec) =>
  !!scheduleUid && spec.drill === true && spec.approveOverwrite !== true && spec.database.databaseName === drillDatabaseName(namespace, name, scheduleUid);

/** The request as the boundary sees it: where it is, what it is called, which schedule controls it. */
export interface RequestIdentity { namespace: string; name: string; scheduleUid?: string }

export function restoreTenancyRefusal(who: RequestIdentity, spec: RestoreRequestSpec, tenant: BackupTenant | undefined, mode: TenancyMode): Refusal | undefined {
  const { namespace, name, scheduleUid } = who;
  return refusal(namespace, spec.projectId, tenant, mode, [
    { field: 'spec.database.instanceId', value: spec.database.instanceId, list: 'databaseInstances' },
    ...(ownScratchDatabase(namespace, name, scheduleUid, spec) ? [] : [{ field: 'spec.database.databaseName', value: spec.database.databaseName, list: 'databases' as const }]),
    { field: 'spec.documentLibrary.destinationBucket', value: spec.documentLibrary.destinationBucket, list: 'documentLibraryBuckets' },
    { field: 'spec.source.manifest.bucket', value: spec.source.manifest?.bucket, list: 'backupBuckets', optional: true },
  ], [{ field: 'spec.documentLibrary.destinationPrefix', value: spec.documentLibrary.destinationPrefix }]);
}

/** The backup buckets a project may read from, or undefined when tenancy is off (anything goes). */
export function allowedBackupBuckets(tenant: BackupTenant | undefined, mode: TenancyMode): readonly string[] | undefined {
  if (mode === 'off') return undefined;
  return Array.isArray(tenant?.spec?.backupBuckets) ? tenant.spec.backupBuckets : [];
}
