// Names on Azure: operation IDs derived from the resource UID, and how the spec's generic fields
// (instanceId, buckets) name Azure resources. Pure.

/** The UID marker in metadata and tags (blob metadata keys must be C# identifiers: no dots or dashes). */
export const UID_TAG = 'lc2-backup-uid';
export const PROJECT_TAG = 'lc2-backup-project';
export const ENVIRONMENT_TAG = 'lc2-backup-environment';

/**
 * An ARM child resource name from the UID and a step letter: lowercase letters, digits and single
 * hyphens, at most 63 characters (valid for on-demand backup names and server names alike). The
 * whole UID is kept (32 hex digits): the name itself is the ownership proof where the resource has
 * no tags (an on-demand backup is a proxy resource).
 */
export function operationId(uid: string, step: string): string {
  return `lc2-${step}-${uid.toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 63).replace(/-+$/, '');
}

export interface ServerRef { resourceGroup: string; server: string }
export interface ContainerRef { account: string; container: string }

/** Flexible Server names: 3-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen. */
export const SERVER_NAME = /^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/;
const RESOURCE_GROUP = /^[-\w._()]{0,89}[-\w_()]$/;
const ACCOUNT = /^[a-z0-9]{3,24}$/;
const CONTAINER = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;

/**
 * spec.database.instanceId: "<server>" (in the hook's default resource group) or
 * "<resourceGroup>.<server>" (server names have no dots, so the last dot splits). The tenancy lists
 * compare the whole string, so a tenant is held to the resource groups its BackupTenant names.
 */
export function serverRef(instanceId: string, defaultResourceGroup: string): ServerRef | undefined {
  const dot = instanceId.lastIndexOf('.');
  const resourceGroup = dot < 0 ? defaultResourceGroup : instanceId.slice(0, dot);
  const server = instanceId.slice(dot + 1);
  return SERVER_NAME.test(server) && RESOURCE_GROUP.test(resourceGroup) ? { resourceGroup, server } : undefined;
}

/** A bucket: "<container>" (in the hook's default storage account) or "<account>.<container>". */
export function containerRef(bucket: string, defaultAccount: string | undefined): ContainerRef | undefined {
  const dot = bucket.indexOf('.');
  const account = dot < 0 ? defaultAccount : bucket.slice(0, dot);
  const container = bucket.slice(dot + 1);
  return account && ACCOUNT.test(account) && CONTAINER.test(container) ? { account, container } : undefined;
}

/** The ARM ID of a server (a restore's sourceServerResourceId). */
export const serverResourceId = (subscriptionId: string, s: ServerRef) =>
  `/subscriptions/${subscriptionId}/resourceGroups/${s.resourceGroup}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${s.server}`;

const ARM_BACKUP = /^\/subscriptions\/([0-9a-f-]{36})\/resourceGroups\/([^/]+)\/providers\/Microsoft\.DBforPostgreSQL\/flexibleServers\/([^/]+)\/backups\/([^/]+)$/i;

/** An on-demand backup's ARM ID read back: its server and name, if it is in this subscription. */
export function backupOfId(id: string | undefined, subscriptionId: string): { server: ServerRef; name: string } | undefined {
  const m = ARM_BACKUP.exec(id ?? '');
  if (!m || m[1]!.toLowerCase() !== subscriptionId.toLowerCase()) return undefined;
  return { server: { resourceGroup: m[2]!, server: m[3]! }, name: m[4]! };
}
