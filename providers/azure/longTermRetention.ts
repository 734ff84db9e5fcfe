// The optional long-term-retention backup of a Flexible Server (pg_dump by the service, up to 10
// years; API backupsLongTermRetention): for recovery points that outlive the server's 7-35-day
// backup retention. The service writes blobs of its own naming into a whole container through a
// container SAS, so each backup gets a container of its own, named from its UID and marked with it
// in metadata (deleted with the backup after that check). The SAS is made for the start request
// only: never stored, logged or put in status. The operation is named from the UID and read by name
// on every sync (one GET); it is started only when that name is unknown to the server.
import type { Checkpoint } from '../shared/leasedStep.ts';
import type { AzureClients, FlexibleServerApi } from './clients.ts';
import { codeOf, isNotFound, refusal } from './errors.ts';
import type { ServerRef } from './ids.ts';
import { holdsBlobs } from './blobCopy.ts';
import { DEFAULT_UNSEEN_DEADLINE_MS, surelyRefused, withinDeadline, type RunOptions } from './flexibleServer.ts';

/** Blob metadata keys are C# identifiers. */
export const CONTAINER_UID_META = 'lc2backupuid';
/** How long the service may write with the SAS (a dump of up to 1 TiB); at most 7 days for a user delegation SAS. */
const SAS_VALID_MS = 48 * 60 * 60_000;

export const ltrContainerName = (uid: string) => `lc2-ltr-${uid.toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 63);

export interface LtrTarget { server: ServerRef; name: string; uid: string; account: string; container: string }
/** `startedAt`: saved before the start request goes out; until the service lists the operation, it is waited for by name. */
export interface LtrProgress { containerReady?: boolean; started?: boolean; startedAt?: string; status?: string }
export const ltrRank = (p: LtrProgress) => (p.status === 'Succeeded' ? '3' : p.started ? '2' : p.containerReady ? '1' : '0');

const FAILED = new Set(['Failed', 'Cancelled']);

/** The backup's own container: created with the UID marker, or found with it; someone else's is never used. */
async function ownContainer(clients: AzureClients, t: LtrTarget): Promise<void> {
  const c = clients.container(t.account, t.container);
  const made = await clients.call((abortSignal) => c.createIfNotExists({ metadata: { [CONTAINER_UID_META]: t.uid }, abortSignal }));
  if (made.succeeded) return;
  const props = await clients.call((abortSignal) => c.getProperties({ abortSignal }));
  if (props.metadata?.[CONTAINER_UID_META] !== t.uid) {
    throw refusal('OwnershipConflict', `container ${t.account}.${t.container} exists and was not made for this backup; not writing into it`);
  }
}

/**
 * One sync of the long-term backup, under the step's lease. The "started" marker is saved before the
 * start request goes out, so a lost answer or a crash leads to reads by name, never a second start;
 * one the service has not listed by the deadline fails the step. Throws on a failed operation.
 */
export async function ltrRun(pg: FlexibleServerApi, clients: AzureClients, t: LtrTarget, start: LtrProgress, options: RunOptions<LtrProgress> = {}): Promise<Checkpoint<LtrProgress>> {
  const { resourceGroup: rg, server } = t.server;
  if (start.status === 'Succeeded') return { done: true, progress: start };
  if (!start.containerReady) {
    await ownContainer(clients, t);
    return { done: false, progress: { containerReady: true } };
  }
  let op;
  try { op = await pg.getLtr(rg, server, t.name, clients.signal()); } catch (e) { if (!isNotFound(e)) throw e; }
  if (!op) {
    if (start.started) {
      // Started, not listed yet: never started twice; not waited for forever either.
      if (withinDeadline(start.startedAt, options.unseenDeadlineMs ?? DEFAULT_UNSEEN_DEADLINE_MS)) return { done: false, progress: start };
      throw refusal('LongTermBackupLost', `long-term backup ${t.name} of ${server} was started${start.startedAt ? ` at ${start.startedAt}` : ''} but the server never listed it; delete and re-create the BackupRequest to try again`);
    }
    await pg.checkLtr(rg, server, t.name, clients.signal());
    const sas = await clients.containerUrl(t.account, t.container, 'racwl', SAS_VALID_MS);
    const sent: LtrProgress = { containerReady: true, started: true, startedAt: new Date().toISOString(), status: 'Running' };
    await options.save?.(sent);
    try { await pg.startLtr(rg, server, t.name, sas, clients.signal()); } catch (e) {
      if (surelyRefused(e)) await options.save?.({ containerReady: true });
      throw e;
    }
    return { done: false, progress: sent };
  }
  const status = op.status ?? 'Running';
  if (FAILED.has(status)) {
    throw refusal('LongTermBackupFailed', `long-term backup ${t.name} of ${server} ended ${status}${op.errorMessage ? `: ${op.errorMessage.slice(0, 300)}` : ''}`);
  }
  // Succeeded is believed only with the dump there: the backup's own container holds a blob.
  if (status === 'Succeeded' && !await holdsBlobs(clients.container(t.account, t.container), undefined, clients.signal())) {
    throw refusal('LongTermBackupEmpty', `long-term backup ${t.name} of ${server} reports Succeeded but its container ${t.account}.${t.container} holds no blob`);
  }
  return { done: status === 'Succeeded', progress: { containerReady: true, started: true, status } };
}

/**
 * Deletes the backup's own long-term container (after the UID check); false while the service still
 * writes into it. Without the server (unknown to a sweep) the operation cannot be asked: the container
 * goes anyway - the SAS cannot recreate a deleted container, so a late write only fails.
 */
export async function deleteLtr(pg: FlexibleServerApi, clients: AzureClients, t: Omit<LtrTarget, 'server'> & { server: ServerRef | undefined }, made: LtrProgress = {}, unseenDeadlineMs = DEFAULT_UNSEEN_DEADLINE_MS): Promise<boolean> {
  if (t.server) {
    try {
      const op = await pg.getLtr(t.server.resourceGroup, t.server.server, t.name, clients.signal());
      if ((op.status ?? 'Running') === 'Running') return false;
    } catch (e) {
      if (!isNotFound(e)) throw e;
      // Started but not listed yet: it may still begin writing; waited for until the deadline.
      if (made.started && made.status !== 'Succeeded' && withinDeadline(made.startedAt, unseenDeadlineMs)) return false;
    }
  }
  const c = clients.container(t.account, t.container);
  try {
    const props = await clients.call((abortSignal) => c.getProperties({ abortSignal }));
    if (props.metadata?.[CONTAINER_UID_META] !== t.uid) return true; // not ours: left alone
    await clients.call((abortSignal) => c.delete({ abortSignal }));
    return true;
  } catch (e) {
    return isNotFound(e) || codeOf(e) === 'ContainerBeingDeleted';
  }
}
