// The BackupSchedule state machine (pure): from the schedule, its BackupRequest children and the
// clock, the full status and the full list of children - existing ones kept, expired ones left out
// (Metacontroller deletes them and each BackupRequest's finalize hook removes its data), and at most
// one new BackupRequest for the latest scheduled time. The child's name is derived from the
// schedule and that time, so repeated or concurrent syncs can never create two for one time.
// With spec.drill, also its DR drill restores (drill.ts).
import { createHash } from 'node:crypto';
import type { BackupRequest, BackupSchedule, BackupScheduleSpec, BackupScheduleStatus } from '../../core/crd.ts';
import type { KubeObject } from '../../core/kube.ts';
import { API_VERSION } from '../contract/objects.ts';
import { validateSpec } from '../../core/validation/schema.ts';
import { removeCondition, setCondition } from '../status/conditions.ts';
import { countFires, lastFireAtOrBefore, nextFire, parseCron, type CronSchedule } from './cron.ts';
import { isValidTimeZone } from './timezone.ts';
import { backupsToDelete } from './retention.ts';
import { backupsInUse, decideDrills, keptDrills, type DrillRestore } from './drill.ts';

export const SCHEDULE_LABEL = 'backup.liferay.cloud/schedule';
export const SCHEDULED_AT_ANNOTATION = 'backup.liferay.cloud/scheduled-at';
/** On a scheduled backup: what its data does when its schedule goes away (Retain unless the schedule said Delete). */
export const ON_SCHEDULE_DELETION_ANNOTATION = 'backup.liferay.cloud/on-schedule-deletion';
/** On a scheduled backup: seconds until its schedule's next run, i.e. how old this backup may get before the next one is due (the RPO alert's measure). */
export const INTERVAL_ANNOTATION = 'backup.liferay.cloud/schedule-interval-seconds';
const MAX_RESYNC_SECONDS = 3600;
// Missed runs are counted over at most the last 10 years: a status claiming a last run centuries
// ago cannot make a sync scan centuries of time-zone history. The latest run is found regardless.
const MAX_COUNTED_MS = 10 * 366 * 86_400_000;

export interface ScheduleInput { parent: BackupSchedule; children: readonly BackupRequest[]; drills?: readonly DrillRestore[]; now: number }
export interface ScheduleDecision { status: BackupScheduleStatus; children: KubeObject[]; resyncAfterSeconds?: number }

const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
const terminal = (c: BackupRequest) => c.status?.phase === 'Succeeded' || c.status?.phase === 'Failed';

/** A child as we want it applied: what we own of it, never the observed object echoed back. */
function desired(c: BackupRequest): KubeObject {
  const { name, labels, annotations } = c.metadata;
  return { apiVersion: API_VERSION, kind: 'BackupRequest', metadata: { name, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) }, spec: c.spec };
}

/** A template's labels or annotations without the service's own keys (backup.liferay.cloud/*). */
const notOurs = (m: Record<string, string> | undefined) => Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => !k.startsWith('backup.liferay.cloud/')));

/** Short, stable stand-in for a long name: 16 hex digits of its SHA-256. */
const digest = (name: string) => createHash('sha256').update(name).digest('hex').slice(0, 16);
/** A prefix of a name, cut so it does not end in '.' or '-' (a DNS label must end alphanumeric). */
const prefix = (name: string, length: number) => name.slice(0, length).replace(/[.-]+$/, '');

/**
 * The value of SCHEDULE_LABEL on a schedule's children: the name itself when it fits a label value
 * (63 characters), else a prefix and a hash of the whole name, so every schedule name, however
 * long, labels its children and gets retention.
 */
export function scheduleLabel(schedule: string): string {
  return schedule.length <= 63 ? schedule : `${prefix(schedule, 46)}-${digest(schedule)}`;
}

/**
 * A child's name: `<schedule>-<minutes since epoch>`, a valid object name (≤ 253 characters,
 * DNS subdomain) for any schedule name (itself ≤ 253): past 200 characters the name is cut and a
 * hash of the whole name keeps two long names sharing a prefix apart.
 */
export function childName(schedule: string, at: number): string {
  return `${nameBase(schedule)}-${Math.floor(at / 60_000)}`;
}

/** What a schedule's children's names start with: its name, or past 200 characters a prefix and a hash of it. */
export function nameBase(schedule: string): string {
  return schedule.length <= 200 ? schedule : `${prefix(schedule, 183)}-${digest(schedule)}`;
}

export function decideSchedule(input: ScheduleInput): ScheduleDecision {
  const { parent, now } = input;
  const name = parent.metadata.name;
  const prior: BackupScheduleStatus = parent.status ?? {};
  const generation = parent.metadata.generation;
  const nowIso = iso(now);
  const drills = input.drills ?? [];
  const keepAll = [...input.children.map(desired), ...keptDrills(drills, SCHEDULE_LABEL, scheduleLabel(name), Infinity)];
  const invalid = (message: string): ScheduleDecision => ({
    status: { ...prior, conditions: setCondition(prior.conditions, { type: 'Ready', status: 'False', reason: 'InvalidSpec', message }, nowIso, generation) },
    children: keepAll, // a broken schedule never deletes the backups (or drills) it already made
  });

  const validated = validateSpec<BackupScheduleSpec>('BackupSchedule', parent.spec);
  if (!validated.ok) return invalid(validated.errors.join('; '));
  const spec = validated.value;
  const zone = spec.timeZone ?? 'UTC';
  if (!isValidTimeZone(zone)) return invalid(`spec.timeZone: "${zone}" is not an IANA time zone name (e.g. Europe/Berlin)`);
  let cron: CronSchedule;
  try { cron = parseCron(spec.schedule); } catch (e) { return invalid(`spec.schedule: ${(e as Error).message}`); }

  // Retention: only children this schedule made (labelled by it) are ever candidates.
  const label = scheduleLabel(name);
  const mine = input.children.filter((c) => c.metadata.labels?.[SCHEDULE_LABEL] === label);
  const records = mine.map((c) => ({
    name: c.metadata.name, phase: c.status?.phase,
    time: Date.parse(c.status?.completionTime ?? c.metadata.annotations?.[SCHEDULED_AT_ANNOTATION] ?? c.metadata.creationTimestamp ?? nowIso),
    ...(c.spec?.retentionDays !== undefined ? { retentionDays: c.spec.retentionDays } : {}),
  }));
  const doomed = backupsToDelete(records, spec.retention ?? {}, zone, now);
  // A backup a drill is restoring from stays until that drill is done.
  for (const used of backupsInUse(drills, SCHEDULE_LABEL, label)) doomed.delete(used);

  // Scheduled times since the last one acted on: run the latest, count the rest as skipped. Found
  // directly (the latest fire time at or before now, and a count), never fire time by fire time.
  //
  // Suspension, as Kubernetes CronJob: while suspended nothing is computed or recorded about
  // missed runs (lastScheduleTime and skippedRuns stay as they were, no next time, no resync).
  // The times that passed while suspended are missed runs: on resume the latest of them runs once
  // (unless older than startingDeadlineSeconds) and the others are added to skippedRuns.
  const parsed = Date.parse(prior.lastScheduleTime ?? parent.metadata.creationTimestamp ?? nowIso);
  const since = Number.isFinite(parsed) ? parsed : now;
  let next: number | undefined;
  let latest: number | undefined;
  let missedCount = 0;
  let firstMissed: number | undefined;
  if (!spec.suspend) {
    next = nextFire(cron, zone, Math.max(since, now));
    const last = lastFireAtOrBefore(cron, zone, now);
    if (last !== undefined && last > since) {
      latest = last;
      const countFrom = Math.max(since, now - MAX_COUNTED_MS);
      missedCount = Math.max(1, countFires(cron, zone, countFrom, now));
      firstMissed = missedCount > 1 ? nextFire(cron, zone, countFrom) ?? latest : latest;
    }
  }

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
    const older = missedCount - 1;
    lastScheduleTime = iso(latest);
    if (input.children.some((c) => c.metadata.name === wanted)) {
      // Created by an earlier (or concurrent) sync whose status we have not seen yet.
    } else if (spec.startingDeadlineSeconds !== undefined && now - latest > spec.startingDeadlineSeconds * 1000) {
      skippedRuns += missedCount;
      scheduled = { reason: 'MissedDeadline', message: `skipped ${missedCount} run(s) up to ${iso(latest)}: more than ${spec.startingDeadlineSeconds}s late (startingDeadlineSeconds)` };
    } else if ((spec.concurrencyPolicy ?? 'Forbid') === 'Forbid' && active.length > 0) {
      skippedRuns += missedCount;
      scheduled = { reason: 'PreviousRunning', message: `skipped the run at ${iso(latest)}: ${active[0]!.metadata.name} is still running (concurrencyPolicy Forbid)` };
    } else {
      if (spec.concurrencyPolicy === 'Replace') { children = children.filter((c) => terminal(c)); active = []; }
      skippedRuns += older;
      // The service's own labels and annotations (backup.liferay.cloud/*) are never taken from a
      // template: a template's schedule-interval-seconds would otherwise set the RPO alert's bound.
      const labels = { ...notOurs(spec.template.metadata?.labels), [SCHEDULE_LABEL]: label };
      const after = nextFire(cron, zone, latest);
      newChildren.push({
        apiVersion: API_VERSION, kind: 'BackupRequest',
        metadata: { name: wanted, labels, annotations: {
          ...notOurs(spec.template.metadata?.annotations), [SCHEDULED_AT_ANNOTATION]: iso(latest), [ON_SCHEDULE_DELETION_ANNOTATION]: spec.backupsOnDeletion ?? 'Retain',
          ...(after !== undefined ? { [INTERVAL_ANNOTATION]: String(Math.round((after - latest) / 1000)) } : {}),
        } },
        spec: {
          ...spec.template.spec,
          initiator: spec.template.spec.initiator ?? `schedule/${parent.metadata.namespace ?? ''}/${name}`,
          // Retention deletes through each backup's finalize hook, which removes data only with Delete.
          deletionPolicy: spec.template.spec.deletionPolicy ?? 'Delete',
        },
      });
      scheduled = older > 0
        ? { reason: 'CaughtUp', message: `ran the missed run at ${iso(latest)} once and skipped ${older} earlier missed run(s) since ${iso(firstMissed ?? latest)}` }
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

  const drill = spec.drill ? decideDrills({
    drill: spec.drill, scheduleZone: zone, namespace: parent.metadata.namespace ?? '', uid: parent.metadata.uid ?? '', label, nameBase: nameBase(name),
    target: { projectId: spec.template.spec.projectId, environment: spec.template.spec.environment, provider: spec.template.spec.provider, initiator: spec.template.spec.initiator ?? `schedule/${parent.metadata.namespace ?? ''}/${name}` },
    backups: mine.filter((c) => !doomed.has(c.metadata.name)), drills, lastDrillScheduleTime: prior.lastDrillScheduleTime, since: Date.parse(parent.metadata.creationTimestamp ?? nowIso) || now,
    prior: prior.lastDrill, now,
  }, SCHEDULE_LABEL) : undefined;
  conditions = drill ? setCondition(conditions, drill.condition, nowIso, generation) : removeCondition(conditions, 'DrillScheduled');
  const lastDrill = drill ? drill.lastDrill : prior.lastDrill;

  const activeNames = [...active.map((c) => c.metadata.name), ...newChildren.map((c) => c.metadata.name)].sort();
  const status: BackupScheduleStatus = {
    ...(lastScheduleTime ? { lastScheduleTime } : {}),
    ...(!spec.suspend && next !== undefined ? { nextScheduleTime: iso(next) } : {}),
    ...(succeeded[0] ? { lastSuccessfulBackup: succeeded[0].metadata.name, ...(succeeded[0].status?.completionTime ? { lastSuccessfulTime: succeeded[0].status.completionTime } : {}) } : {}),
    ...(skippedRuns ? { skippedRuns } : {}),
    ...(activeNames.length ? { active: activeNames } : {}),
    ...(doomed.size ? { deletedByRetention: [...doomed].sort() } : {}),
    ...(drill?.lastDrillScheduleTime ? { lastDrillScheduleTime: drill.lastDrillScheduleTime } : {}),
    ...(drill?.nextDrillTime ? { nextDrillTime: drill.nextDrillTime } : {}),
    ...(drill?.activeDrill ? { activeDrill: drill.activeDrill } : {}),
    ...(lastDrill ? { lastDrill } : {}),
    conditions,
  };
  const wakeIns = [!spec.suspend && next !== undefined ? next - now : undefined, drill?.wakeInMs].filter((t): t is number => t !== undefined);
  const resync = wakeIns.length ? Math.min(MAX_RESYNC_SECONDS, Math.max(1, Math.ceil(Math.min(...wakeIns) / 1000) + 1)) : undefined;
  const drillChildren = drill ? drill.children : keptDrills(drills, SCHEDULE_LABEL, label);
  return { status, children: [...children.map(desired), ...newChildren, ...drillChildren], ...(resync ? { resyncAfterSeconds: resync } : {}) };
}
