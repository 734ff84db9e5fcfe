// Restore into a NEW Flexible Server by point-in-time restore (servers.beginCreateOrUpdate with
// createMode PointInTimeRestore, sourceServerResourceId, pointInTimeUTC = the on-demand backup's
// completion). A PUT on an existing server name is an update, so the name is always read first: a
// server there is ours only when its tags carry this restore's UID; anything else is never touched.
// Like the backup, the PUT is sent once and its poller state resumed with one GET per sync.
import type { Server } from '@azure/arm-postgresql-flexible';
import type { Checkpoint } from '../shared/leasedStep.ts';
import type { FlexibleServerApi } from './clients.ts';
import { isNotFound, refusal } from './errors.ts';
import { UID_TAG, type ServerRef } from './ids.ts';

export interface ServerRestoreTarget {
  server: ServerRef; uid: string; tags: Record<string, string>;
  source: ServerRef; sourceServerResourceId: string; pointInTime: string;
}
export interface ServerRestoreProgress { token?: string; ready?: boolean; fqdn?: string }
export const serverRank = (p: ServerRestoreProgress) => (p.ready ? '2' : p.token ? '1' : '0');

const FAILED_LRO = new Set(['failed', 'canceled', 'cancelled']);
const FAILED_STATES = new Set(['Dropping', 'Disabled', 'Inaccessible']);

/** Whether the restore's target is free: nothing by that name, or this restore's own (a replay). */
export async function targetTaken(pg: FlexibleServerApi, t: Pick<ServerRestoreTarget, 'server' | 'uid'>, signal: AbortSignal): Promise<string | undefined> {
  try {
    const s = await pg.getServer(t.server.resourceGroup, t.server.server, signal);
    if (s.tags?.[UID_TAG] === t.uid) return undefined;
    return `Flexible Server ${t.server.server} already exists in resource group ${t.server.resourceGroup}; a restore creates a NEW server: choose another spec.database.instanceId`;
  } catch (e) { if (isNotFound(e)) return undefined; throw e; }
}

function state(t: ServerRestoreTarget, s: Server): Checkpoint<ServerRestoreProgress> {
  if (s.tags?.[UID_TAG] !== t.uid) throw refusal('TargetExists', `Flexible Server ${t.server.server} exists and was not made by this restore; choose another spec.database.instanceId`);
  if (s.state && FAILED_STATES.has(s.state)) throw refusal('RestoreFailed', `the new server ${t.server.server} is ${s.state}`);
  if (s.state === 'Ready') return { done: true, progress: { ready: true, ...(s.fullyQualifiedDomainName ? { fqdn: s.fullyQualifiedDomainName } : {}) } };
  return { done: false, progress: {} };
}

export async function restoreRun(pg: FlexibleServerApi, t: ServerRestoreTarget, start: ServerRestoreProgress, signal: () => AbortSignal): Promise<Checkpoint<ServerRestoreProgress>> {
  const { resourceGroup: rg, server } = t.server;
  if (start.ready) return { done: true, progress: start };
  if (start.token) {
    // Resumed: no PUT is sent, the parameters are not used.
    const lro = await pg.beginCreateServer(rg, server, { location: '' }, start.token, signal());
    if (FAILED_LRO.has(lro.status)) throw Object.assign(new Error(`The long-running operation has failed. restore into ${server} ended ${lro.status}`), { name: 'LongRunningOperationFailed' });
    if (!lro.done) return { done: false, progress: { token: lro.token } };
    const s = state(t, await pg.getServer(rg, server, signal()));
    return s.done ? s : { done: false, progress: { token: lro.token } };
  }
  try {
    // There already (a PUT whose answer was lost, or someone else's server): never PUT again.
    return state(t, await pg.getServer(rg, server, signal()));
  } catch (e) { if (!isNotFound(e)) throw e; }
  const source = await pg.getServer(t.source.resourceGroup, t.source.server, signal());
  let lro;
  try {
    lro = await pg.beginCreateServer(rg, server, {
      location: source.location ?? '', createMode: 'PointInTimeRestore', sourceServerResourceId: t.sourceServerResourceId,
      pointInTimeUTC: new Date(t.pointInTime), tags: { ...t.tags, [UID_TAG]: t.uid },
    }, undefined, signal());
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode !== 409) throw e;
    // A conflict on a name our resource group does not hold: ours being made (a retried PUT whose
    // first answer was lost), or a name taken elsewhere - server names are global DNS names, so that
    // never frees itself and is not retried.
    try { return state(t, await pg.getServer(rg, server, signal())); } catch (again) { if (!isNotFound(again)) throw again; }
    throw refusal('TargetExists', `the server name ${server} is already used elsewhere in Azure (Flexible Server names are global); choose another spec.database.instanceId`);
  }
  if (!lro.done) return { done: false, progress: { token: lro.token } };
  const s = state(t, await pg.getServer(rg, server, signal()));
  return s.done ? s : { done: false, progress: { token: lro.token } };
}
