// backup create and restore create: the documents Git would hold (build.ts), written or printed
// (create.ts). Separate from the read verbs, which do not load the CRD schema validator.
import type { BackupRequest, BackupSchedule } from '../core/crd.ts';
import { bool, str } from './args.ts';
import { backupFromFlags, backupFromSchedule, latestSucceeded, nameWith, restoreFromBackup, stamp } from './build.ts';
import type { Ctx } from './context.ts';
import { createAndFollow } from './create.ts';
import { Failed, Usage } from './errors.ts';

const SPEC_FLAGS = ['project', 'env', 'provider', 'db-engine', 'db-type', 'db-instance', 'db-name', 'db-secret', 'dl-bucket', 'dl-prefix', 'backup-bucket', 'retention-days', 'incremental'] as const;

export async function backupCreate(ctx: Ctx): Promise<number> {
  const v = ctx.values;
  const kube = ctx.kube();
  const namespace = kube.namespace;
  const fromSchedule = str(v, 'from-schedule');
  const now = ctx.now();
  if (ctx.args.length > 1) throw new Usage(`backup create takes one NAME, got ${ctx.args.join(' ')}`);
  let obj: BackupRequest;
  if (fromSchedule) {
    const given = SPEC_FLAGS.filter((f) => v[f] !== undefined);
    if (given.length) throw new Usage(`--from-schedule takes the whole spec from the schedule: drop ${given.map((f) => `--${f}`).join(', ')}`);
    const schedule = await kube.get<BackupSchedule>('backupschedules', namespace, fromSchedule);
    if (!schedule) throw new Failed(`BackupSchedule ${fromSchedule} not found in namespace ${namespace}: list them with kubectl get backupschedules -n ${namespace}`);
    obj = backupFromSchedule(schedule, { name: ctx.args[0] ?? nameWith(fromSchedule, `manual-${stamp(now)}`), namespace, initiator: kube.user });
  } else {
    const project = str(v, 'project');
    const env = str(v, 'env');
    obj = backupFromFlags({
      project, env, provider: str(v, 'provider'), dbEngine: str(v, 'db-engine'), dbType: str(v, 'db-type'), dbInstance: str(v, 'db-instance'),
      dbName: str(v, 'db-name'), dbSecret: str(v, 'db-secret'), dlBucket: str(v, 'dl-bucket'), dlPrefix: str(v, 'dl-prefix'),
      backupBucket: str(v, 'backup-bucket'), retentionDays: str(v, 'retention-days'), incremental: bool(v, 'incremental'),
    }, { name: ctx.args[0] ?? nameWith(`${project ?? 'backup'}-${env ?? ''}`, stamp(now)), namespace, initiator: kube.user });
  }
  return createAndFollow(ctx, 'backuprequests', obj, 'backup describe', (b) =>
    `${b.spec!.projectId}/${b.spec!.environment}, ${b.spec!.database.type} of ${b.spec!.database.instanceId} into ${b.spec!.documentLibrary.destinationBucket}`);
}

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
