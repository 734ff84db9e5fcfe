// Metacontroller's loop for the cloud end-to-end tests: every sync request is also sent `replays`
// more times at once to the hook processes (concurrent replicas, replayed requests), until the
// parent is Succeeded or Failed. Optionally honours the answer's resyncAfterSeconds (backoff).
import assert from 'node:assert/strict';
import type { SyncResponse } from '../../hooks/contract/types.ts';
import type { MetacontrollerDriver } from './driver.ts';

export interface DriveOptions {
  replays?: number; honourBackoff?: boolean; maxSyncs?: number; pauseMs?: number;
  /** After each sync, as the cluster would between syncs: run the Jobs the answer created (driver.runPendingJobs). */
  afterSync?: () => Promise<void>;
}

export async function driveWithReplays(d: MetacontrollerDriver, hookUrls: () => string[], options: DriveOptions = {}): Promise<string> {
  const { replays = 9, honourBackoff = false, maxSyncs = 400, pauseMs = 0 } = options;
  const path = d.parent.kind === 'BackupRequest' ? '/backuprequest/sync' : '/restorerequest/sync';
  for (let i = 0; i < maxSyncs; i += 1) {
    const request = JSON.stringify(d.request());
    const urls = hookUrls();
    const extra = Array.from({ length: replays }, (_, k) => fetch(`${urls[k % urls.length]!}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: request })
      .then(async (r) => { assert.equal(r.status, 200, `replay answered ${r.status}`); await r.arrayBuffer(); }));
    const [answer] = await Promise.all([d.sync(), ...extra]) as [SyncResponse, ...unknown[]];
    if (d.phase === 'Succeeded' || d.phase === 'Failed') return d.phase;
    await options.afterSync?.();
    const wait = answer.resyncAfterSeconds ?? 0;
    if (honourBackoff && wait > 1) await new Promise((r) => setTimeout(r, Math.min(wait, 12) * 1000));
    else if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
  }
  throw new Error(`${d.parent.metadata.name} did not finish (phase ${d.phase}): ${JSON.stringify(d.status.conditions)}`);
}
