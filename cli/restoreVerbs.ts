// restore create | list | describe.
import type { BackupRequest, RestoreRequest } from '../core/crd.ts';
import { bool, str } from './args.ts';
import { latestSucceeded, nameWith, restoreFromBackup, stamp } from './build.ts';
import type { Ctx } from './context.ts';
import { createAndFollow } from './create.ts';
import { Failed, Usage } from './errors.ts';
import { describeRestore, restoreTable } from './views.ts';
import { describeOne, listVerb } from './backupVerbs.ts';

export async function restoreCreate(ctx: Ctx): Promise<number> {
  const v = ctx.values;
  const kube = ctx.kube();
  const namespace = kube.namespace;
  const fromBackup = str(v, 'from-backup');
  const latest = bool(v, 'latest');
  const project = str(v, 'project');
  const env = str(v, 'env');
  if (!!fromBackup === latest) throw new Usage('name the backup to restore: --from-backup NAME, or --latest --project P --env E');
  if (ctx.args.length > 1) throw new Usage(`restore create takes one NAME, got ${ctx.args.join(' ')}`);
  let backup: BackupRequest | undefined;
  if (latest) {
    if (!project || !env) throw new Usage('--latest needs --project and --env');
    backup = latestSucceeded(await kube.list<BackupRequest>('backuprequests', namespace), project, env);
    if (!backup) throw new Failed(`no Succeeded backup of ${project}/${env} in namespace ${namespace}: check ${ctx.prog} backup list -n ${namespace}, or restore from a manifest (RestoreRequest spec.source.manifest)`);
  } else {
    backup = await kube.get<BackupRequest>('backuprequests', namespace, fromBackup!);
    if (!backup) throw new Failed(`backup ${fromBackup} not found in namespace ${namespace}: list them with ${ctx.prog} backup list -n ${namespace}`);
    const spec = backup.spec;
    if ((project && spec?.projectId !== project) || (env && spec?.environment !== env)) {
      throw new Usage(`backup ${fromBackup} is of ${spec?.projectId}/${spec?.environment}, not ${project ?? spec?.projectId}/${env ?? spec?.environment}`);
    }
  }
  const obj = restoreFromBackup(backup, {
    database: str(v, 'database'), dbInstance: str(v, 'db-instance'), dbSecret: str(v, 'db-secret'), dlBucket: str(v, 'dl-bucket'),
    dlPrefix: str(v, 'dl-prefix'), approveOverwrite: bool(v, 'approve-overwrite'),
  }, { name: ctx.args[0] ?? nameWith(`${backup.metadata.name.slice(0, 30)}-restore`, stamp(ctx.now())), namespace, initiator: kube.user }, ctx.now());
  return createAndFollow(ctx, 'restorerequests', obj, 'restore describe', (r) =>
    `backup ${backup.metadata.name} into database ${r.spec!.database.databaseName} on ${r.spec!.database.instanceId}, document library ${r.spec!.documentLibrary.destinationBucket}/${r.spec!.documentLibrary.destinationPrefix}`);
}

export const restoreList = (ctx: Ctx) => listVerb<RestoreRequest>(ctx, 'restorerequests', 'restores', (items, wide, all) => restoreTable(items, ctx.now(), wide, all));

export const restoreDescribe = (ctx: Ctx) => describeOne<RestoreRequest>(ctx, 'restorerequests', 'restore', (r) => describeRestore(r, ctx.now(), bool(ctx.values, 'details')));
