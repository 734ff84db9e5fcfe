// Reads BackupRequests and BackupSchedules from the API server. A hook request says what
// Metacontroller's cache holds; before any data is deleted the hook asks the API server itself
// (same UID, being deleted or due to expire; for a scheduled backup, whether its schedule is
// alive), so a crafted or replayed request can never make it delete anything.
import { ApiException, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { BackupRequest, BackupSchedule, RestoreRequest } from '../../core/crd.ts';
import type { ReadParent, ReadSchedule } from '../backup/sync.ts';
import { GROUP } from '../contract/objects.ts';

/** One namespaced object of ours, or undefined when it does not exist; never waits longer than timeoutMs. */
function reader<T>(kc: KubeConfig, plural: string, timeoutMs: number): (namespace: string, name: string) => Promise<T | undefined> {
  const api = kc.makeApiClient(CustomObjectsApi);
  return async (namespace, name) => {
    try {
      const read = api.getNamespacedCustomObject({ group: GROUP, version: 'v1alpha1', namespace, plural, name });
      return await Promise.race([read, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('API server read timed out')), timeoutMs).unref())]) as T;
    } catch (e) {
      if (e instanceof ApiException && e.code === 404) return undefined;
      throw e;
    }
  };
}

export function parentReader(kc: KubeConfig, timeoutMs = 5000): ReadParent {
  const read = reader<BackupRequest>(kc, 'backuprequests', timeoutMs);
  return (claimed) => read(claimed.metadata.namespace ?? '', claimed.metadata.name);
}

/** Is the owner of a scheduled backup alive (its retention decision), or gone? */
export function scheduleReader(kc: KubeConfig, timeoutMs = 5000): ReadSchedule {
  return reader<BackupSchedule>(kc, 'backupschedules', timeoutMs);
}

/** The UIDs of every BackupRequest in these namespaces (the retention sweep: a UID alive anywhere is governed by its resource). */
export function liveBackupUidsReader(kc: KubeConfig, timeoutMs = 10_000): (namespaces: readonly string[]) => Promise<Set<string>> {
  return liveUidsReader(kc, 'backuprequests', timeoutMs);
}

/** The UIDs of every RestoreRequest in these namespaces (the sweep forgets in-flight rows of restores gone: they have no finalizer). */
export function liveRestoreUidsReader(kc: KubeConfig, timeoutMs = 10_000): (namespaces: readonly string[]) => Promise<Set<string>> {
  return liveUidsReader(kc, 'restorerequests', timeoutMs);
}

function liveUidsReader(kc: KubeConfig, plural: 'backuprequests' | 'restorerequests', timeoutMs: number): (namespaces: readonly string[]) => Promise<Set<string>> {
  const api = kc.makeApiClient(CustomObjectsApi);
  return async (namespaces) => {
    const uids = new Set<string>();
    // One deadline for the whole listing, well inside the 30 s sync: an unfinished list deletes nothing.
    const deadline = Date.now() + timeoutMs;
    for (const namespace of namespaces) {
      let _continue: string | undefined;
      do {
        const list = api.listNamespacedCustomObject({ group: GROUP, version: 'v1alpha1', namespace, plural, limit: 500, ...(_continue ? { _continue } : {}) });
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('API server list took too long');
        const page = await Promise.race([list, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('API server list timed out')), left).unref())]) as { items: Array<BackupRequest | RestoreRequest>; metadata?: { continue?: string } };
        for (const item of page.items) if (item.metadata.uid) uids.add(item.metadata.uid);
        _continue = page.metadata?.continue || undefined;
      } while (_continue);
    }
    return uids;
  };
}
