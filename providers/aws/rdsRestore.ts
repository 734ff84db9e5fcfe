// Restore of an RDS snapshot into a NEW instance (or a NEW Aurora cluster plus its first
// instance). The identifier is the RestoreRequest's spec.database.instanceId; "already exists"
// means started only when the existing resource carries this restore's UID tag - an instance that
// was there before is never touched.
import {
  RDSClient, RestoreDBInstanceFromDBSnapshotCommand, RestoreDBClusterFromSnapshotCommand, CreateDBInstanceCommand,
  DescribeDBInstancesCommand, DescribeDBClustersCommand, type Tag,
} from '@aws-sdk/client-rds';
import type { Observation } from '../../core/provider.ts';
import { UID_TAG } from './rds.ts';

export interface RestoreTarget {
  instanceId: string; snapshotId: string; cluster: boolean; engine: 'postgresql' | 'mysql'; uid: string;
  tags: Record<string, string>; instanceClass?: string; subnetGroupName?: string;
}
export interface RestoredInstance { instanceId: string; endpoint?: string }

const tagList = (t: RestoreTarget): Tag[] => Object.entries({ ...t.tags, [UID_TAG]: t.uid }).map(([Key, Value]) => ({ Key, Value }));
export const tagsOf = (list: Tag[] | undefined) => Object.fromEntries((list ?? []).map((x) => [x.Key ?? '', x.Value ?? '']));
/** The first instance of a restored Aurora cluster. */
export const clusterInstanceId = (clusterId: string) => `${clusterId.slice(0, 59)}-i1`;
const FAILED = new Set(['failed', 'incompatible-restore', 'incompatible-parameters', 'incompatible-network', 'storage-full', 'deleting', 'inaccessible-encryption-credentials']);

function conflict(kind: string, id: string): Error {
  return Object.assign(new Error(`${kind} ${id} already exists and was not made by this restore: restores only create NEW instances; choose another spec.database.instanceId`), { name: 'TargetNotEmpty' });
}

export async function instance(rds: RDSClient, id: string, opts: { abortSignal?: AbortSignal }) {
  try { return (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }), opts)).DBInstances?.[0]; } catch (e) {
    if ((e as { name?: string }).name === 'DBInstanceNotFoundFault') return undefined;
    throw e;
  }
}

export async function cluster(rds: RDSClient, id: string, opts: { abortSignal?: AbortSignal }) {
  try { return (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }), opts)).DBClusters?.[0]; } catch (e) {
    if ((e as { name?: string }).name === 'DBClusterNotFoundFault') return undefined;
    throw e;
  }
}

/**
 * Whether the restore's target is free: nothing by that identifier, or this restore's own (a replay
 * after it was created). Anything else is someone else's database, never touched.
 */
export async function targetTaken(rds: RDSClient, t: Pick<RestoreTarget, 'instanceId' | 'cluster' | 'uid'>, signal?: AbortSignal): Promise<string | undefined> {
  const opts = signal ? { abortSignal: signal } : {};
  // Aurora: the cluster's first instance too (a foreign one of that name would stop the restore after its cluster was made).
  const targets: Array<['cluster' | 'instance', string]> = t.cluster ? [['cluster', t.instanceId], ['instance', clusterInstanceId(t.instanceId)]] : [['instance', t.instanceId]];
  for (const [kind, id] of targets) {
    const existing = kind === 'cluster' ? await cluster(rds, id, opts) : await instance(rds, id, opts);
    if (existing && tagsOf(existing.TagList)[UID_TAG] !== t.uid) return `RDS ${kind} ${id} already exists; a restore creates a NEW one: choose another spec.database.instanceId`;
  }
  return undefined;
}

/** One idempotent step of the restore: start what is missing (after an ownership check), report where it is. */
export async function restoreStep(rds: RDSClient, t: RestoreTarget, signal?: AbortSignal): Promise<Observation<RestoredInstance>> {
  const opts = signal ? { abortSignal: signal } : {};
  if (t.cluster) {
    const c = await cluster(rds, t.instanceId, opts);
    if (c && tagsOf(c.TagList)[UID_TAG] !== t.uid) throw conflict('cluster', t.instanceId);
    if (!c) {
      await rds.send(new RestoreDBClusterFromSnapshotCommand({
        DBClusterIdentifier: t.instanceId, SnapshotIdentifier: t.snapshotId, Engine: t.engine === 'postgresql' ? 'aurora-postgresql' : 'aurora-mysql',
        Tags: tagList(t), ...(t.subnetGroupName ? { DBSubnetGroupName: t.subnetGroupName } : {}),
      }), opts).catch((e: unknown) => { if ((e as { name?: string }).name !== 'DBClusterAlreadyExistsFault') throw e; });
      return { state: 'running', message: `restoring cluster ${t.instanceId} from ${t.snapshotId}`, resyncAfterSeconds: 15 };
    }
    const status = (c.Status ?? '').toLowerCase();
    if (FAILED.has(status)) return { state: 'failed', reason: 'RestoreFailed', message: `cluster ${t.instanceId} is ${status}`, retryable: false };
    if (status !== 'available') return { state: 'running', message: `cluster ${t.instanceId} ${status || 'creating'}` };
  }
  const id = t.cluster ? clusterInstanceId(t.instanceId) : t.instanceId;
  const i = await instance(rds, id, opts);
  if (i && tagsOf(i.TagList)[UID_TAG] !== t.uid) throw conflict('instance', id);
  if (!i) {
    const started = t.cluster
      ? rds.send(new CreateDBInstanceCommand({ DBInstanceIdentifier: id, DBClusterIdentifier: t.instanceId, DBInstanceClass: t.instanceClass ?? 'db.r6g.large',
        Engine: t.engine === 'postgresql' ? 'aurora-postgresql' : 'aurora-mysql', Tags: tagList(t) }), opts)
      : rds.send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: id, DBSnapshotIdentifier: t.snapshotId, Tags: tagList(t),
        ...(t.instanceClass ? { DBInstanceClass: t.instanceClass } : {}), ...(t.subnetGroupName ? { DBSubnetGroupName: t.subnetGroupName } : {}) }), opts);
    await started.catch((e: unknown) => { if ((e as { name?: string }).name !== 'DBInstanceAlreadyExistsFault') throw e; });
    return { state: 'running', message: `creating instance ${id} from ${t.snapshotId}`, resyncAfterSeconds: 15 };
  }
  const status = (i.DBInstanceStatus ?? '').toLowerCase();
  if (FAILED.has(status)) return { state: 'failed', reason: 'RestoreFailed', message: `instance ${id} is ${status}`, retryable: false };
  if (status !== 'available') return { state: 'running', message: `instance ${id} ${status || 'creating'}` };
  return { state: 'done', completedAt: new Date().toISOString(), result: { instanceId: id, ...(i.Endpoint?.Address ? { endpoint: i.Endpoint.Address } : {}) } };
}
