// The BackupSchedule state machine (pure): from the schedule, its BackupRequest children and the
// clock, the full status and the full list of children - existing ones kept, expired ones left out
// (Metacontroller deletes them and each BackupRequest's finalize hook removes its data), and at most
// one new BackupRequest for the latest scheduled time. The child's name is derived from the
// schedule and that time, so repeated or concurrent syncs can never create two for one time.
import type { BackupRequest, BackupSchedule, BackupScheduleSpec, BackupScheduleStatus } from '../api.ts';
import type { KubeObject } from '../contract/types.ts';
import { API_VERSION } from '../contract/objects.ts';
import { validateSpec } from '../validation/schema.ts';
import { setCondition } from '../status/conditions.ts';
import { nextFire, parseCron, type CronSchedule } from './cron.ts';
import { isValidTimeZone } from './timezone.ts';
import { backupsToDelete } from './retention.ts';

export const SCHEDULE_LABEL = 'backup.liferay.cloud/schedule';
export const SCHEDULED_AT_ANNOTATION = 'backup.liferay.cloud/scheduled-at';
const MAX_RESYNC_SECONDS = 3600;
// A schedule that fires every minute and was down for months still settles in one sync.
const MAX_MISSED_WALK = 200_000;

export interface ScheduleInput { parent: BackupSchedule; children: readonly BackupRequest[]; now: number }
export interface ScheduleDecision { status: BackupScheduleStatus; children: KubeObject[]; resyncAfterSeconds?: number }

const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
const terminal = (c: BackupRequest) => c.status?.phase === 'Succeeded' || c.status?.phase === 'Failed';

/** A child as we want it applied: what we own of it, never the observed object echoed back. */
function desired(c: BackupRequest): KubeObject {
  const { name, labels, annotations } = c.metadata;
  return { apiVersion: API_VERSION, kind: 'BackupRequest', metadata: { name, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) }, spec: c.spec };
}

export function childName(schedule: string, at: number): string {
  return `${schedule.slice(0, 200)}-${Math.floor(at / 60_000)}`;
}

export function decideSchedule(input: ScheduleInput): ScheduleDecision {
  const { parent, now } = input;
  const name = parent.metadata.name;
  const prior: BackupScheduleStatus = parent.status ?? {};
  const generation = parent.metadata.generation;
  const nowIso = iso(now);
  const keepAll = input.children.map(desired);
  const invalid = (message: string): ScheduleDecision => ({
    status: { ...prior, conditions: setCondition(prior.conditions, { type: 'Ready', status: 'False', reason: 'InvalidSpec', message }, nowIso, generation) },
    children: keepAll, // a broken schedule never deletes the backups it already made
  });

  const validated = validateSpec<BackupScheduleSpec>('BackupSchedule', parent.spec);
  if (!validated.ok) return invalid(validated.errors.join('; '));
  const spec = validated.value;
  const zone = spec.timeZone ?? 'UTC';
  if (!isValidTimeZone(zone)) return invalid(`spec.timeZone: "${zone}" is not an IANA time zone name (e.g. Europe/Berlin)`);
  let cron: CronSchedule;
  try { cron = parseCron(spec.schedule); } catch (e) { return invalid(`spec.schedule: ${(e as Error).message}`); }

  // Retention: only children this schedule made (labelled with its name) are ever candidates.
  const mine = input.children.filter((c) => c.metadata.labels?.[SCHEDULE_LABEL] === name);
  const records = mine.map((c) => ({
    name: c.metadata.name, phase: c.status?.phase,
    time: Date.parse(c.status?.completionTime ?? c.metadata.annotations?.[SCHEDULED_AT_ANNOTATION] ?? c.metadata.creationTimestamp ?? nowIso),
    ...(c.spec?.retentionDays !== undefined ? { retentionDays: c.spec.retentionDays } : {}),
  }));
  const doomed = backupsToDelete(records, spec.retention ?? {}, zone, now);

  // Scheduled times since the last one acted on: run the latest, count the rest as skipped.
  const since = Date.parse(prior.lastScheduleTime ?? parent.metadata.creationTimestamp ?? nowIso);
  const missed: number[] = [];
  let next = nextFire(cron, zone, since);
  while (next !== undefined && next <= now && missed.length < MAX_MISSED_WALK) { missed.push(next); next = nextFire(cron, zone, next); }
  const latest = missed[missed.length - 1];

  let children = input.children.filter((c) => !doomed.has(c.metadata.name));
  let active = children.filter((c) => !terminal(c));
  let skippedRuns = prior.skippedRuns ?? 0;
  let lastScheduleTime = prior.lastScheduleTime;
  let scheduled: { reason: string; message: string } = { reason: 'Scheduled', message: next !== undefined ? `next backup at ${iso(next)}` : 'no future time matches the schedule' };
  const newChildren: KubeObject[] = [];

  if (spec.suspend) {
    scheduled = { reason: 'Suspended', message: 'schedule is suspended; no backups are created' };
  } else if (latest !== undefined) {
    const wanted = childName(name, latest);
    const older = missed.length - 1;
    lastScheduleTime = iso(latest);
    if (input.children.some((c) => c.metadata.name === wanted)) {
      // Created by an earlier (or concurrent) sync whose status we have not seen yet.
    } else if (spec.startingDeadlineSeconds !== undefined && now - latest > spec.startingDeadlineSeconds * 1000) {
      skippedRuns += missed.length;
      scheduled = { reason: 'MissedDeadline', message: `skipped ${missed.length} run(s) up to ${iso(latest)}: more than ${spec.startingDeadlineSeconds}s late (startingDeadlineSeconds)` };
    } else if ((spec.concurrencyPolicy ?? 'Forbid') === 'Forbid' && active.length > 0) {
      skippedRuns += missed.length;
      scheduled = { reason: 'PreviousRunning', message: `skipped the run at ${iso(latest)}: ${active[0]!.metadata.name} is still running (concurrencyPolicy Forbid)` };
    } else {
      if (spec.concurrencyPolicy === 'Replace') { children = children.filter((c) => terminal(c)); active = []; }
      skippedRuns += older;
      const labels = { ...spec.template.metadata?.labels, ...(name.length <= 63 ? { [SCHEDULE_LABEL]: name } : {}) };
      newChildren.push({
        apiVersion: API_VERSION, kind: 'BackupRequest',
        metadata: { name: wanted, labels, annotations: { ...spec.template.metadata?.annotations, [SCHEDULED_AT_ANNOTATION]: iso(latest) } },
        spec: {
          ...spec.template.spec,
          initiator: spec.template.spec.initiator ?? `schedule/${parent.metadata.namespace ?? ''}/${name}`,
          // Retention deletes through each backup's finalize hook, which removes data only with Delete.
          deletionPolicy: spec.template.spec.deletionPolicy ?? 'Delete',
        },
      });
      scheduled = older > 0
        ? { reason: 'CaughtUp', message: `ran the missed run at ${iso(latest)} once and skipped ${older} earlier missed run(s) since ${iso(missed[0]!)}` }
        : { reason: 'Scheduled', message: `started ${wanted}; next backup at ${next !== undefined ? iso(next) : 'never'}` };
    }
  }

  const succeeded = mine.filter((c) => c.status?.phase === 'Succeeded')
    .sort((a, b) => Date.parse(b.status?.completionTime ?? '') - Date.parse(a.status?.completionTime ?? '') || a.metadata.name.localeCompare(b.metadata.name));
  const lastFinished = mine.filter(terminal)
    .sort((a, b) => Date.parse(b.status?.completionTime ?? '') - Date.parse(a.status?.completionTime ?? ''))[0];
  const ready = lastFinished?.status?.phase === 'Failed'
    ? { type: 'Ready', status: 'False' as const, reason: 'LastBackupFailed', message: `${lastFinished.metadata.name} failed: ${lastFinished.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? 'see its status'}` }
    : { type: 'Ready', status: 'True' as const, reason: scheduled.reason, message: scheduled.message };
  let conditions = setCondition(prior.conditions, ready, nowIso, generation);
  conditions = setCondition(conditions, { type: 'Scheduled', status: spec.suspend ? 'False' : 'True', ...scheduled }, nowIso, generation);

  const activeNames = [...active.map((c) => c.metadata.name), ...newChildren.map((c) => c.metadata.name)].sort();
  const status: BackupScheduleStatus = {
    ...(lastScheduleTime ? { lastScheduleTime } : {}),
    ...(!spec.suspend && next !== undefined ? { nextScheduleTime: iso(next) } : {}),
    ...(succeeded[0] ? { lastSuccessfulBackup: succeeded[0].metadata.name, ...(succeeded[0].status?.completionTime ? { lastSuccessfulTime: succeeded[0].status.completionTime } : {}) } : {}),
    ...(skippedRuns ? { skippedRuns } : {}),
    ...(activeNames.length ? { active: activeNames } : {}),
    ...(doomed.size ? { deletedByRetention: [...doomed].sort() } : {}),
    conditions,
  };
  const resync = !spec.suspend && next !== undefined ? Math.min(MAX_RESYNC_SECONDS, Math.max(1, Math.ceil((next - now) / 1000) + 1)) : undefined;
  return { status, children: [...children.map(desired), ...newChildren], ...(resync ? { resyncAfterSeconds: resync } : {}) };
}
