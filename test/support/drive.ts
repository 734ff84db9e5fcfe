// Metacontroller's loop against hook server processes, with every request also sent `replays` more
// times at once, spread over the processes: what ten concurrent syncs of one parent look like.
import assert from 'node:assert/strict';
import type { MetacontrollerDriver } from './driver.ts';
import type { SyncResponse } from '../../hooks/contract/types.ts';

export interface DriveOptions { replays?: number; honourBackoff?: boolean; maxSyncs?: number; maxWaitSeconds?: number }

export async function driveReplayed(d: MetacontrollerDriver, hookUrls: () => string[], options: DriveOptions = {}): Promise<string> {
  const { replays = 9, honourBackoff = false, maxSyncs = 400, maxWaitSeconds = 12 } = options;
  const path = d.parent.kind === 'BackupRequest' ? '/backuprequest/sync' : '/restorerequest/sync';
  for (let i = 0; i < maxSyncs; i += 1) {
    const urls = hookUrls();
    const request = JSON.stringify(d.request());
    const extra = Array.from({ length: replays }, (_, k) => fetch(`${urls[k % urls.length]!}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: request })
      .then(async (r) => { assert.equal(r.status, 200, `replay answered ${r.status}`); await r.arrayBuffer(); }));
    const [answer] = await Promise.all([d.sync(), ...extra]) as [SyncResponse, ...unknown[]];
    if (d.phase === 'Succeeded' || d.phase === 'Failed') return d.phase;
    const wait = answer.resyncAfterSeconds ?? 0;
    if (honourBackoff && wait > 1) await new Promise((r) => setTimeout(r, Math.min(wait, maxWaitSeconds) * 1000));
  }
  throw new Error(`${d.parent.metadata.name} did not finish (phase ${d.phase}): ${JSON.stringify(d.status.conditions)}`);
}
