// backup list | describe.
import type { BackupRequest } from '../core/crd.ts';
import { bool } from './args.ts';
import type { Ctx } from './context.ts';
import { describeOne, listVerb } from './listing.ts';
import { storage } from './storage.ts';
import { backupTable, describeBackup, type ManifestRead } from './views.ts';

export const backupList = (ctx: Ctx) => listVerb<BackupRequest>(ctx, 'backuprequests', 'backups', (items, wide, all) => backupTable(items, ctx.now(), wide, all));

/** --details: the manifest itself, from LC2_STORAGE_URL with your storage credentials; never fails the describe. */
async function readManifest(ctx: Ctx, b: BackupRequest): Promise<ManifestRead | undefined> {
  const m = b.status?.manifest;
  if (!bool(ctx.values, 'details') || !m) return undefined;
  if (!ctx.env.LC2_STORAGE_URL) return { unread: 'set LC2_STORAGE_URL to read it' };
  try {
    const body = await (await storage(ctx)).get(m.bucket, m.key);
    return body ? { manifest: JSON.parse(body.toString('utf8')) as unknown } : { unread: 'not in the storage' };
  } catch (e) { return { unread: `cannot read it: ${(e as Error).message}` }; }
}

export async function backupDescribe(ctx: Ctx): Promise<number> {
  let read: ManifestRead | undefined;
  return describeOne<BackupRequest>(ctx, 'backuprequests', 'backup', (b) => describeBackup(b, ctx.now(), bool(ctx.values, 'details'), read),
    async (b) => { read = await readManifest(ctx, b); });
}
