// The BackupSchedule hook: no I/O beyond the clock; everything is in decideSchedule.
import type { BackupRequest, BackupSchedule } from '../../core/crd.ts';
import type { SyncRequest, SyncResponse } from '../contract/types.ts';
import { API_VERSION, childrenOf } from '../contract/objects.ts';
import { decideSchedule } from './machine.ts';

export function syncSchedule(req: SyncRequest<BackupSchedule>, now: number): SyncResponse {
  const children = [...childrenOf(req.children, 'BackupRequest', API_VERSION, req.parent.metadata.namespace).values()] as BackupRequest[];
  const d = decideSchedule({ parent: req.parent, children, now });
  return { status: d.status, children: d.children, ...(d.resyncAfterSeconds ? { resyncAfterSeconds: d.resyncAfterSeconds } : {}) };
}
