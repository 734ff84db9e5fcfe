// A DR drill's cleanup on AWS (docs/recovery-points.md "DR drills"): the scratch instance (or Aurora
// cluster and its first instance) is deleted when it carries THIS drill's UID tag - the tag its
// restore set when it created it - whatever the (maybe cached) status says was started, so an
// instance that was there before, or another drill's, is never touched and this drill's is never
// left; then the scratch prefix, only when the drill's copy recorded in status that it found it
// empty, is emptied page by page within the sync's budget. Each sync does a part and records where
// it is in the operation's progress.
import { DeleteDBClusterCommand, DeleteDBInstanceCommand, type RDSClient } from '@aws-sdk/client-rds';
import type { DrillCleanupResult, OperationStatus } from '../../core/crd.ts';
import type { ObjectStore, Observation, RestoreContext, RestoreStep, RestoreStepResult } from '../../core/provider.ts';
import type { AwsClients } from './clients.ts';
import type { AwsProviderConfig } from './config.ts';
import { destPrefix } from './plan.ts';
import { cluster, clusterInstanceId, instance, tagsOf } from './rdsRestore.ts';
import { UID_TAG } from './rds.ts';
import { TOOL } from './backup.ts';

type DatabaseOutcome = DrillCleanupResult['database'];
interface CleanupProgress { database?: DatabaseOutcome; deleting?: boolean; deletingSince?: string; deleted?: number }

/** RDS deletes an instance in minutes; one that still refuses after this is reported, not waited for forever. */
export const DELETE_PATIENCE_MS = 2 * 3600_000;

const gone = (e: unknown) => /NotFound/.test((e as { name?: string }).name ?? '');
const busy = (e: unknown) => /InvalidDB(Instance|Cluster)State/.test((e as { name?: string }).name ?? '');

/** One pass over the scratch database: 'deleting' until RDS has removed what this drill made. */
async function dropOwn(rds: RDSClient, id: string, isCluster: boolean, uid: string, signal: AbortSignal): Promise<DatabaseOutcome | 'deleting'> {
  const opts = { abortSignal: signal };
  const first = isCluster ? clusterInstanceId(id) : id;
  // Instance and cluster are judged each on its own tag: this drill's cluster goes even beside someone else's instance.
  const found = await instance(rds, first, opts);
  const i = found && tagsOf(found.TagList)[UID_TAG] === uid ? found : undefined;
  const foundCluster = isCluster ? await cluster(rds, id, opts) : undefined;
  const c = foundCluster && tagsOf(foundCluster.TagList)[UID_TAG] === uid ? foundCluster : undefined;
  if (!i && !c) return found || foundCluster ? 'refused' : 'absent';
  try {
    if (i) {
      if ((i.DBInstanceStatus ?? '').toLowerCase() !== 'deleting') {
        await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: first, SkipFinalSnapshot: true, DeleteAutomatedBackups: true }), opts);
      }
      return 'deleting';
    }
    // The cluster goes once its instance is gone.
    // Someone else's member of THIS cluster keeps it (reported once patience runs out); an instance of that name elsewhere does not.
    if (found?.DBClusterIdentifier === id) return 'deleting';
    if ((c!.Status ?? '').toLowerCase() !== 'deleting') await rds.send(new DeleteDBClusterCommand({ DBClusterIdentifier: id, SkipFinalSnapshot: true }), opts);
    return 'deleting';
  } catch (e) {
    if (gone(e) || busy(e)) return 'deleting';
    throw e;
  }
}

export async function observeDrillCleanup(
  step: RestoreStep, ctx: RestoreContext, op: OperationStatus, aws: AwsClients, config: AwsProviderConfig, store: ObjectStore,
): Promise<Observation<RestoreStepResult>> {
  const scope = step.scope ?? { database: false, prefix: false };
  const p = (op.progress ?? {}) as CleanupProgress;
  const id = ctx.spec.database.instanceId.toLowerCase();
  if (!p.database) {
    // Always looked at (the tag decides); the scope only says what to report when nothing is the drill's.
    const r = await dropOwn(aws.rds, id, !!ctx.source.cluster, ctx.uid, aws.signal());
    if (r === 'deleting') {
      const since = p.deletingSince ?? new Date().toISOString();
      if (Date.now() - Date.parse(since) > DELETE_PATIENCE_MS) {
        return { state: 'failed', reason: 'CleanupStuck', message: `RDS ${ctx.source.cluster ? 'cluster' : 'instance'} ${id} is still not deleted ${DELETE_PATIENCE_MS / 3600_000} hours after this drill asked for it; delete it by hand`, retryable: false };
      }
      return { state: 'running', progress: { ...p, deleting: true, deletingSince: since }, resyncAfterSeconds: 15, message: `deleting the drill's RDS ${ctx.source.cluster ? 'cluster' : 'instance'} ${id}` };
    }
    // Gone after this drill asked for its deletion: dropped; never there, or someone else's outside the scope: nothing to do.
    // (A concurrent sync may have seen the deletion through: an instance the restore made that is gone now was dropped.)
    const database: DatabaseOutcome = r === 'absent' ? (p.deleting || scope.databaseCreated ? 'dropped' : scope.database ? 'absent' : 'skipped') : r === 'refused' && !scope.database ? 'skipped' : r;
    return { state: 'running', progress: { ...p, database }, resyncAfterSeconds: 1, message: `database: ${database}` };
  }
  let deleted = p.deleted ?? 0;
  // Only a prefix the copy recorded it found empty (status, not a tenant-writable object).
  const prefixOwned = scope.prefix && scope.prefixChecked === true;
  if (prefixOwned) {
    const bucket = ctx.spec.documentLibrary.destinationBucket;
    const prefix = destPrefix(ctx.spec);
    const until = Date.now() + config.stepBudgetMs;
    for (;;) {
      const keys = (await store.list(bucket, prefix, undefined, 1000)).map((o) => o.key).filter((k) => k.startsWith(prefix));
      if (keys.length === 0) break;
      await store.deleteMany(bucket, keys);
      deleted += keys.length;
      if (Date.now() > until) return { state: 'running', progress: { ...p, deleted }, resyncAfterSeconds: 1, message: `${deleted} objects deleted under ${bucket}/${prefix}` };
    }
  }
  return {
    state: 'done', completedAt: new Date().toISOString(),
    result: { tool: TOOL, cleanup: { database: p.database, prefix: prefixOwned ? 'deleted' : 'skipped', objectCount: deleted } },
  };
}
