// Reads a BackupRequest from the API server. A hook request says what Metacontroller's cache holds;
// before any data is deleted the hook asks the API server itself (same UID, being deleted or due
// to expire), so a crafted or replayed request can never make it delete anything.
import { ApiException, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { BackupRequest, BackupSchedule } from '../api.ts';
import type { ReadParent, ReadSchedule } from '../backup/sync.ts';
import { GROUP } from '../contract/objects.ts';

export function parentReader(kc: KubeConfig, timeoutMs = 5000): ReadParent {
  const api = kc.makeApiClient(CustomObjectsApi);
  return async (claimed) => {
    const { namespace = '', name } = claimed.metadata;
    try {
      const read = api.getNamespacedCustomObject({ group: GROUP, version: 'v1alpha1', namespace, plural: 'backuprequests', name });
      return await Promise.race([read, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('API server read timed out')), timeoutMs).unref())]) as BackupRequest;
    } catch (e) {
      if (e instanceof ApiException && e.code === 404) return undefined;
      throw e;
    }
  };
}

/** Reads a BackupSchedule: is the owner of a scheduled backup alive (its retention decision), or gone? */
export function scheduleReader(kc: KubeConfig, timeoutMs = 5000): ReadSchedule {
  const api = kc.makeApiClient(CustomObjectsApi);
  return async (namespace, name) => {
    try {
      const read = api.getNamespacedCustomObject({ group: GROUP, version: 'v1alpha1', namespace, plural: 'backupschedules', name });
      return await Promise.race([read, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('API server read timed out')), timeoutMs).unref())]) as BackupSchedule;
    } catch (e) {
      if (e instanceof ApiException && e.code === 404) return undefined;
      throw e;
    }
  };
}
