// status: one row per environment from the cluster's BackupRequests and BackupSchedules, plus the
// archive's last successes and last DR drills when an archive is configured (LC2_ARCHIVE_URL or
// LC2_ARCHIVE_DIR): backups and drills whose resources were deleted still count (RPO, LAST-DRILL).
import type { BackupRequest, BackupSchedule } from '../core/crd.ts';
import { outputFormat, str } from './args.ts';
import { scope, serialize, type Ctx } from './context.ts';
import { environmentHealth, healthTable, type ArchivedSuccess } from './health.ts';
import { Unavailable } from './errors.ts';
import { withArchive } from './archive.ts';
import { summarize } from '../hooks/archive/queries.ts';

async function archivedSuccesses(ctx: Ctx, project: string | undefined, environment: string | undefined): Promise<ArchivedSuccess[]> {
  if (!ctx.env.LC2_ARCHIVE_URL && !ctx.env.LC2_ARCHIVE_DIR) return [];
  try {
    return await withArchive(ctx, (archive) => archive.read((s) => summarize(s, { projects: '*', ...(project ? { project } : {}), ...(environment ? { environment } : {}) })));
  } catch (e) {
    throw new Unavailable(`the archive cannot be read (${(e as Error).message}); unset LC2_ARCHIVE_URL/LC2_ARCHIVE_DIR to see the cluster alone`);
  }
}

export async function status(ctx: Ctx): Promise<number> {
  const format = outputFormat(ctx.values, ['json', 'yaml', 'wide'] as const);
  const ns = scope(ctx);
  const project = str(ctx.values, 'project');
  const env = str(ctx.values, 'env');
  const kube = ctx.kube();
  const [backups, schedules] = await Promise.all([kube.list<BackupRequest>('backuprequests', ns), kube.list<BackupSchedule>('backupschedules', ns)]);
  const archived = await archivedSuccesses(ctx, project, env);
  // With a namespace, the archive only adds environments the cluster shows there (it spans every namespace).
  const inCluster = new Set([...backups.map((b) => b.spec), ...schedules.map((s) => s.spec?.template?.spec)].filter((s) => !!s).map((s) => `${s.projectId}/${s.environment}`));
  const rows = environmentHealth(backups, schedules, ns ? archived.filter((a) => inCluster.has(`${a.projectId}/${a.environment}`)) : archived, ctx.now())
    .filter((r) => (!project || r.projectId === project) && (!env || r.environment === env));
  if (format === 'json' || format === 'yaml') { ctx.out(serialize(format, rows)); return 0; }
  if (!rows.length) { ctx.err(`No backups or schedules found${ns ? ` in ${ns} namespace` : ''}.`); return 0; }
  ctx.out(healthTable(rows, ctx.now(), format === 'wide'));
  return 0;
}
