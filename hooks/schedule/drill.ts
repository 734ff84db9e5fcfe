// A schedule's DR drills (pure): at each drill time, one RestoreRequest with `drill: true` that
// restores the schedule's newest verified backup into a scratch database and prefix of its own
// (the restore checks, times and removes them: hooks/restore). At most one drill at a time: a
// drill time that comes while one runs waits for it. The newest `keep` finished drills stay for
// inspection; older ones are left out of the children (Metacontroller deletes them).
import type { BackupRequest, Condition, DrillSchedule, LastDrill, RestoreRequest, RestoreRequestSpec } from '../../core/crd.ts';
import type { KubeObject } from '../../core/kube.ts';
import { API_VERSION } from '../contract/objects.ts';
import { lastFireAtOrBefore, nextFire, parseCron, type CronSchedule } from './cron.ts';
import { isValidTimeZone } from './timezone.ts';
import { drillDatabaseName } from '../restore/drill.ts';

export const DRILL_KEEP_DEFAULT = 3;
/** On a drill restore: the drill time it was created for (what orders drills, whatever their status says). */
export const DRILL_AT_ANNOTATION = 'backup.liferay.cloud/drill-at';

/** A drill is a RestoreRequest with spec.drill; its status.drill is the restore side's report (hooks/restore/drill.ts). */
export type DrillRestore = RestoreRequest;

export interface DrillInput {
  drill: DrillSchedule;
  /** The schedule's time zone, the drill's default. */
  scheduleZone: string;
  namespace: string;
  /** The schedule's UID (part of its drills' scratch database names, unknown to other tenants). */
  uid: string;
  /** The schedule's own label value (SCHEDULE_LABEL) and what its children's names start with. */
  label: string;
  nameBase: string;
  /** Project, environment and provider of the drills: the schedule's template. */
  target: { projectId: string; environment: string; provider: RestoreRequestSpec['provider']; initiator: string };
  /** The schedule's BackupRequest children it labelled, minus those its retention deletes now. */
  backups: readonly BackupRequest[];
  /** The schedule's RestoreRequest children (any: only its own labelled drills are ever left out). */
  drills: readonly DrillRestore[];
  lastDrillScheduleTime: string | undefined;
  /** When nothing was acted on yet: the schedule's creation. */
  since: number;
  prior: LastDrill | undefined;
  now: number;
}

export interface DrillDecision {
  /** Drill children to keep plus at most one new one. */
  children: KubeObject[];
  condition: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;
  lastDrillScheduleTime?: string;
  nextDrillTime?: string;
  activeDrill?: string;
  lastDrill?: LastDrill;
  /** Milliseconds from now to the next drill time. */
  wakeInMs?: number;
}

const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A drill restore's name: `<schedule base>-drill-<minutes since epoch>` (base as childName cuts it). */
export function drillName(nameBase: string, at: number): string {
  return `${nameBase}-drill-${Math.floor(at / 60_000)}`;
}


export function drillPrefix(prefix: string, name: string): string {
  return `${prefix.replace(/\/+$/, '')}/${name}/`;
}

const finished = (d: DrillRestore) => d.status?.phase === 'Succeeded' || d.status?.phase === 'Failed';
/** Running, or finished with its scratch targets still being removed: the next drill waits either way. */
const busy = (d: DrillRestore) => !finished(d) || d.status?.drill?.cleanup === 'Pending';
const drillTime = (d: DrillRestore) => {
  const t = Date.parse(d.metadata.annotations?.[DRILL_AT_ANNOTATION] ?? d.metadata.creationTimestamp ?? '');
  return Number.isFinite(t) ? t : 0;
};
const inconsistent = (b: BackupRequest) => b.status?.conditions?.some((c) => c.type === 'Consistent' && c.status === 'False') ?? false;

/** The newest Succeeded backup not known to be inconsistent (Consistent=False), by completion time. */
export function newestVerifiedBackup(backups: readonly BackupRequest[]): BackupRequest | undefined {
  return backups.filter((b) => b.status?.phase === 'Succeeded' && b.status.completionTime && !inconsistent(b))
    .sort((a, b) => Date.parse(b.status!.completionTime!) - Date.parse(a.status!.completionTime!) || a.metadata.name.localeCompare(b.metadata.name))[0];
}

/** A finished drill as the schedule reports it: the restore's own verdict, or Failed when it ended without one. */
export function drillOutcome(d: DrillRestore): LastDrill {
  const s = d.status ?? {};
  const ready = s.conditions?.find((c) => c.type === 'Ready');
  const verdict = s.drill?.verdict ?? (s.phase === 'Succeeded' ? 'Passed' : 'Failed');
  const message = s.drill?.message ?? (verdict === 'Failed' ? ready?.message : undefined);
  const rto = s.drill?.rtoSeconds;
  return {
    name: d.metadata.name,
    ...(d.spec?.source?.backupRef?.name ? { backup: d.spec.source.backupRef.name } : {}),
    ...(s.startTime ? { startTime: s.startTime } : {}),
    ...(s.completionTime ? { completionTime: s.completionTime } : {}),
    verdict,
    ...(typeof rto === 'number' && Number.isFinite(rto) && rto >= 0 ? { rtoSeconds: Math.round(rto) } : {}),
    ...(message ? { message: message.slice(0, 1024) } : {}),
  };
}

/** A child as we want it applied: what we own of it, never the observed object echoed back. */
function desired(d: DrillRestore): KubeObject {
  const { name, labels, annotations } = d.metadata;
  return { apiVersion: API_VERSION, kind: 'RestoreRequest', metadata: { name, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) }, spec: d.spec };
}

/** The schedule's own drills (labelled by it): running ones newest first, and the rest. */
function own(drills: readonly DrillRestore[], labelKey: string, label: string) {
  const mine = drills.filter((d) => d.metadata.labels?.[labelKey] === label);
  return { mine, active: mine.filter(busy).sort((a, b) => drillTime(b) - drillTime(a)) };
}

/** Backups the schedule's running drills restore from: retention must not delete them under a drill. */
export function backupsInUse(drills: readonly DrillRestore[], labelKey: string, label: string): Set<string> {
  return new Set(own(drills, labelKey, label).active.map((d) => d.spec?.source?.backupRef?.name).filter((n): n is string => !!n));
}

/** The drill children to keep: all but the schedule's finished drills beyond the newest `keep` (running ones always stay). */
export function keptDrills(drills: readonly DrillRestore[], labelKey: string, label: string, keep = DRILL_KEEP_DEFAULT): KubeObject[] {
  const done = own(drills, labelKey, label).mine.filter((d) => !busy(d)).sort((a, b) => drillTime(b) - drillTime(a) || b.metadata.name.localeCompare(a.metadata.name));
  const dropped = new Set(done.slice(keep).map((d) => d.metadata.name));
  return drills.filter((d) => !dropped.has(d.metadata.name)).map(desired);
}

export function decideDrills(input: DrillInput, scheduleLabelKey: string): DrillDecision {
  const { drill, now } = input;
  const { mine, active } = own(input.drills, scheduleLabelKey, input.label);
  const kept = keptDrills(input.drills, scheduleLabelKey, input.label, drill.keep);
  const newestFinished = mine.filter(finished).sort((a, b) => Date.parse(b.status?.completionTime ?? '') - Date.parse(a.status?.completionTime ?? '') || drillTime(b) - drillTime(a))[0];
  const lastDrill = newestFinished ? drillOutcome(newestFinished) : input.prior;
  const base = { lastDrillScheduleTime: input.lastDrillScheduleTime, ...(lastDrill ? { lastDrill } : {}), ...(active[0] ? { activeDrill: active[0].metadata.name } : {}) };
  const invalid = (message: string): DrillDecision => ({ ...base, children: kept, condition: { type: 'DrillScheduled', status: 'False', reason: 'InvalidDrill', message } });

  const zone = drill.timeZone ?? input.scheduleZone;
  if (!isValidTimeZone(zone)) return invalid(`spec.drill.timeZone: "${zone}" is not an IANA time zone name (e.g. Europe/Berlin)`);
  let cron: CronSchedule;
  try { cron = parseCron(drill.schedule); } catch (e) { return invalid(`spec.drill.schedule: ${(e as Error).message}`); }
  if (drill.suspend) return { ...base, children: kept, condition: { type: 'DrillScheduled', status: 'False', reason: 'Suspended', message: 'drills are suspended' } };

  const parsed = Date.parse(input.lastDrillScheduleTime ?? '');
  const since = Number.isFinite(parsed) ? parsed : input.since;
  const next = nextFire(cron, zone, Math.max(since, now));
  const latest = lastFireAtOrBefore(cron, zone, now);
  const nextText = next !== undefined ? iso(next) : 'never';
  const timing = { ...(next !== undefined ? { nextDrillTime: iso(next), wakeInMs: next - now } : {}) };
  let condition: DrillDecision['condition'] = { type: 'DrillScheduled', status: 'True', reason: 'Scheduled', message: `next drill at ${nextText}` };
  if (latest === undefined || latest <= since) return { ...base, ...timing, children: kept, condition };

  const wanted = drillName(input.nameBase, latest);
  if (input.drills.some((d) => d.metadata.name === wanted)) {
    // Made by an earlier (or concurrent) sync whose status we have not seen yet.
    return { ...base, ...timing, lastDrillScheduleTime: iso(latest), children: kept, condition };
  }
  if (active[0]) {
    // Deferred, not skipped: lastDrillScheduleTime stays, so the drill starts once this one is done.
    condition = { type: 'DrillScheduled', status: 'True', reason: 'PreviousDrillRunning', message: `the drill due at ${iso(latest)} waits for ${active[0].metadata.name} to finish` };
    return { ...base, children: kept, condition };
  }
  // Only backups of the environment the drill restores (a template changed since may have made others).
  const backup = newestVerifiedBackup(input.backups.filter((b) => b.spec?.projectId === input.target.projectId && b.spec?.environment === input.target.environment));
  if (!backup) {
    condition = { type: 'DrillScheduled', status: 'False', reason: 'NoVerifiedBackup', message: `skipped the drill at ${iso(latest)}: this schedule has no Succeeded backup that is not known inconsistent; next drill at ${nextText}` };
    return { ...base, ...timing, lastDrillScheduleTime: iso(latest), children: kept, condition };
  }
  const spec: RestoreRequestSpec & { drill: true } = {
    projectId: input.target.projectId, environment: input.target.environment, provider: input.target.provider,
    initiator: input.target.initiator, drill: true,
    source: { backupRef: { name: backup.metadata.name } },
    database: { instanceId: drill.database.instanceId, databaseName: drillDatabaseName(input.namespace, wanted, input.uid), ...(drill.database.credentialsSecretRef ? { credentialsSecretRef: drill.database.credentialsSecretRef } : {}) },
    documentLibrary: { destinationBucket: drill.documentLibrary.bucket, destinationPrefix: drillPrefix(drill.documentLibrary.prefix, wanted) },
  };
  const created: KubeObject = {
    apiVersion: API_VERSION, kind: 'RestoreRequest',
    metadata: { name: wanted, labels: { [scheduleLabelKey]: input.label }, annotations: { [DRILL_AT_ANNOTATION]: iso(latest) } },
    spec,
  };
  condition = { type: 'DrillScheduled', status: 'True', reason: 'DrillStarted', message: `started ${wanted} from ${backup.metadata.name}; next drill at ${nextText}` };
  return { ...base, ...timing, lastDrillScheduleTime: iso(latest), activeDrill: wanted, children: [...kept, created], condition };
}
