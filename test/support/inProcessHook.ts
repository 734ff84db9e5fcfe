// The hook server on a loopback port with a file-backed store: enough for contract tests that
// never run a Job.
import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../hooks/server/app.ts';
import { backupShell, restoreShell, DEFAULT_POLICY } from '../../app/registry.ts';
import { trustRequest, type BackupShell, type ReadParent, type ReadSchedule, type ServicePolicy } from '../../hooks/backup/sync.ts';
import { FileObjectStore } from '../../providers/shared/storage/fileStore.ts';
import type { ObjectStore } from '../../core/provider.ts';
import type { LocalProviderConfig } from '../../providers/local/config.ts';
import type { Archive } from '../../hooks/archive/store.ts';

export interface Hook { url: string; root: string; store: ObjectStore; close(): Promise<void> }

/** Tests that are not about tenancy run single-tenant; test/tenancy.test.ts turns it on. */
export const TEST_POLICY: ServicePolicy = { ...DEFAULT_POLICY, tenancy: 'off' };

/**
 * `readParent` is how the hook confirms a parent before deleting data; tests that are not about
 * that believe the request (test/security/ plays the API server's part exactly).
 */
export async function startHook(options: { store?: ObjectStore; now?: () => string; policy?: ServicePolicy; readParent?: ReadParent; readSchedule?: ReadSchedule; hookToken?: string; archive?: Archive; liveBackupUids?: BackupShell['liveBackupUids']; liveRestoreUids?: BackupShell['liveRestoreUids']; clock?: () => number } = {}): Promise<Hook> {
  const root = mkdtempSync(join(tmpdir(), 'lc2-store-'));
  const store = options.store ?? new FileObjectStore(root);
  const local: LocalProviderConfig = { image: 'tools:test', storage: { kind: 'file', root }, backoffLimit: 2, activeDeadlineSeconds: 3600, transfers: 4 };
  const now = options.now ?? (() => new Date().toISOString());
  const policy = options.policy ?? TEST_POLICY;
  const app = createApp({
    backup: { ...backupShell({ local }, store, now, policy, options.archive), readParent: options.readParent ?? trustRequest, ...(options.readSchedule ? { readSchedule: options.readSchedule } : {}), ...(options.liveBackupUids ? { liveBackupUids: options.liveBackupUids } : {}), ...(options.liveRestoreUids ? { liveRestoreUids: options.liveRestoreUids } : {}) },
    restore: restoreShell({ local }, store, now, policy),
    ...(options.hookToken ? { hookToken: options.hookToken } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const server: Server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return { url, root, store, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

export async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}
