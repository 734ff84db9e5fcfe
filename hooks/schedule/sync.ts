// The BackupSchedule hook: no I/O beyond the clock; everything is in decideSchedule. Children:
// BackupRequests (its backups) and RestoreRequests (its drills).
import type { BackupRequest, BackupSchedule } from '../../core/crd.ts';
import type { SyncRequest, SyncResponse } from '../contract/types.ts';
import { API_VERSION, childrenOf } from '../contract/objects.ts';
import { decideSchedule } from './machine.ts';
import type { DrillRestore } from './drill.ts';

export function syncSchedule(req: SyncRequest<BackupSchedule>, now: number): SyncResponse {
  const children = [...childrenOf(req.children, 'BackupRequest', API_VERSION, req.parent.metadata.namespace).values()] as BackupRequest[];
  const drills = [...childrenOf(req.children, 'RestoreRequest', API_VERSION, req.parent.metadata.namespace).values()] as DrillRestore[];
  const d = decideSchedule({ parent: req.parent, children, drills, now });
  return { status: d.status, children: d.children, ...(d.resyncAfterSeconds ? { resyncAfterSeconds: d.resyncAfterSeconds } : {}) };
}
