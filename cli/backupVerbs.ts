// backup create | list | describe.
import type { BackupRequest, BackupSchedule } from '../core/crd.ts';
import { bool, outputFormat, str } from './args.ts';
import { backupFromFlags, backupFromSchedule, stamp, nameWith } from './build.ts';
import { scope, serialize, type Ctx } from './context.ts';
import { createAndFollow } from './create.ts';
import { Failed, Usage } from './errors.ts';
import { formatBytes } from './format.ts';
import { backupTable, describeBackup, type ManifestRead } from './views.ts';
import { storeFor } from '../app/main.ts';
import { loadConfig } from '../app/config.ts';

const SPEC_FLAGS = ['project', 'env', 'provider', 'db-engine', 'db-type', 'db-instance', 'db-name', 'db-secret', 'dl-bucket', 'dl-prefix', 'backup-bucket', 'retention-days', 'incremental'] as const;

export async function backupCreate(ctx: Ctx): Promise<number> {
  const v = ctx.values;
  const kube = ctx.kube();
  const namespace = kube.namespace;
  const fromSchedule = str(v, 'from-schedule');
  const now = ctx.now();
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
  if (ctx.args.length > 1) throw new Usage(`backup create takes one NAME, got ${ctx.args.join(' ')}`);
  return createAndFollow(ctx, 'backuprequests', obj, 'backup describe', (b) =>
    `${b.spec!.projectId}/${b.spec!.environment}, ${b.spec!.database.type} of ${b.spec!.database.instanceId} into ${b.spec!.documentLibrary.destinationBucket}` +
    (b.status?.phase === 'Succeeded' ? ` (${formatBytes((b.status.database?.sizeBytes ?? 0) + (b.status.documentLibrary?.totalBytes ?? 0))})` : ''));
}

const newestFirst = <T extends { metadata: { name: string; creationTimestamp?: string } }>(a: T, b: T) =>
  (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name);

type Listed = { metadata: { name: string; namespace?: string; creationTimestamp?: string }; spec?: { projectId: string; environment: string } };

/** list verbs: -n or -A, --project/--env filters, newest first; json/yaml as a List, else the table. */
export async function listVerb<T extends Listed>(ctx: Ctx, plural: 'backuprequests' | 'restorerequests', what: string, render: (items: T[], wide: boolean, withNamespace: boolean) => string): Promise<number> {
  const format = outputFormat(ctx.values, ['json', 'yaml', 'wide'] as const);
  const ns = scope(ctx);
  const project = str(ctx.values, 'project');
  const env = str(ctx.values, 'env');
  const items = (await ctx.kube().list<T>(plural, ns))
    .filter((o) => (!project || o.spec?.projectId === project) && (!env || o.spec?.environment === env)).sort(newestFirst);
  if (format === 'json' || format === 'yaml') { ctx.out(serialize(format, items, true)); return 0; }
  if (!items.length) { ctx.err(`No ${what} found${ns ? ` in ${ns} namespace` : ''}.`); return 0; }
  ctx.out(render(items, format === 'wide', ns === undefined));
  return 0;
}

export const backupList = (ctx: Ctx) => listVerb<BackupRequest>(ctx, 'backuprequests', 'backups', (items, wide, all) => backupTable(items, ctx.now(), wide, all));

export async function describeOne<T extends { metadata: { name: string } }>(ctx: Ctx, plural: 'backuprequests' | 'restorerequests', group: string, text: (o: T) => string, prepare?: (o: T) => Promise<void>): Promise<number> {
  const format = outputFormat(ctx.values, ['json', 'yaml'] as const);
  const [name, extra] = ctx.args;
  if (!name || extra) throw new Usage(`${group} describe takes exactly one NAME: list them with ${ctx.prog} ${group} list`);
  const kube = ctx.kube();
  const o = await kube.get<T>(plural, kube.namespace, name);
  if (!o) throw new Failed(`${group} ${name} not found in namespace ${kube.namespace}: list them with ${ctx.prog} ${group} list -n ${kube.namespace}`);
  if (!format) await prepare?.(o);
  ctx.out(format ? serialize(format, o) : text(o));
  return 0;
}

/** --details: the manifest itself, from LC2_STORAGE_URL with your storage credentials; never fails the describe. */
async function readManifest(ctx: Ctx, b: BackupRequest): Promise<ManifestRead | undefined> {
  const m = b.status?.manifest;
  if (!bool(ctx.values, 'details') || !m) return undefined;
  if (!ctx.env.LC2_STORAGE_URL) return { unread: 'set LC2_STORAGE_URL to read it' };
  try {
    const body = await (await storeFor(loadConfig(ctx.env))).get(m.bucket, m.key);
    return body ? { manifest: JSON.parse(body.toString('utf8')) as unknown } : { unread: 'not in the storage' };
  } catch (e) { return { unread: `cannot read it: ${(e as Error).message}` }; }
}

export async function backupDescribe(ctx: Ctx): Promise<number> {
  let read: ManifestRead | undefined;
  return describeOne<BackupRequest>(ctx, 'backuprequests', 'backup', (b) => describeBackup(b, ctx.now(), bool(ctx.values, 'details'), read),
    async (b) => { read = await readManifest(ctx, b); });
}
