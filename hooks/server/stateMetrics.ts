// Backup metrics derived from state at scrape time (hooks/archive/stateQueries.ts): the same values
// from any replica, however often Metacontroller replays a sync, and nothing added to a sync's
// latency. Reads are cached briefly, so several Prometheus servers scraping cost one query round.
import { Counter, Gauge, Registry } from 'prom-client';
import type { Archive } from '../archive/store.ts';
import { readBackupState, type BackupState } from '../archive/stateQueries.ts';
import { OTHER_ENVIRONMENT } from '../archive/environmentState.ts';
import { providerLabel, reasonLabel } from './labels.ts';
import { log } from './log.ts';

// Project IDs and environments are DNS labels (CRD schema); anything else is one bounded value.
const name = (v: string) => (/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(v) ? v : 'invalid');
// The project's row for backups whose environment has none (refused at admission, over the cap).
const environmentLabel = (v: string) => (v === OTHER_ENVIRONMENT ? 'other' : name(v));

export interface StateMetrics { registry: Registry; refresh(): Promise<void> }

export function stateMetrics(archive: Archive, cacheMs = 10_000, clock: () => number = Date.now): StateMetrics {
  const registry = new Registry();
  const env = ['project', 'environment'] as const;
  const gauge = <L extends string>(n: string, help: string, labelNames: readonly L[]) => new Gauge<L>({ name: n, help, labelNames, registers: [registry] });
  const counter = <L extends string>(n: string, help: string, labelNames: readonly L[]) => new Counter<L>({ name: n, help, labelNames, registers: [registry] });

  const lastSuccess = gauge('lc2_backup_last_success_timestamp_seconds', 'Completion time of the newest Succeeded backup of the environment', env);
  const lastDuration = gauge('lc2_backup_last_duration_seconds', 'Duration (start to manifest verified) of the newest Succeeded backup', env);
  const lastSize = gauge('lc2_backup_last_size_bytes', 'Size of the newest Succeeded backup, by store (database, document_library)', [...env, 'store']);
  const lastFailure = gauge('lc2_backup_last_failure_timestamp_seconds', 'Completion time of the newest Failed backup of the environment', env);
  const interval = gauge('lc2_backup_schedule_interval_seconds', 'Seconds between the schedule\'s runs, as recorded on the environment\'s newest scheduled backup: how old its last good backup may get', env);
  const finished = counter('lc2_backups_total', 'Finished backups in the history, by provider and phase (Succeeded, Failed)', [...env, 'provider', 'phase']);
  const failures = counter('lc2_backup_failures_total', 'Failed backups in the history, by the Ready condition\'s reason', [...env, 'reason']);
  const inFlight = gauge('lc2_backups_in_flight', 'Backups not finished yet, by phase', [...env, 'phase']);
  const phaseSince = gauge('lc2_backup_phase_oldest_timestamp_seconds', 'When the longest-waiting in-flight backup entered its phase', [...env, 'phase']);
  const queueLength = gauge('lc2_backup_queue_length', 'Backups waiting Queued for a slot, per project', ['project']);
  const queueOldest = gauge('lc2_backup_queue_oldest_timestamp_seconds', 'Creation time of the project\'s oldest Queued backup', ['project']);
  const backoff = gauge('lc2_backup_operations_in_backoff', 'In-flight backups whose provider calls wait out a backoff after transient failures', ['project']);
  const drillRto = gauge('lc2_drill_rto_seconds', 'Measured restore time (RTO) of the environment\'s newest finished DR drill', env);
  const drillLast = gauge('lc2_drill_last_timestamp_seconds', 'Completion time of the environment\'s newest finished DR drill', env);
  const drillPassed = gauge('lc2_drill_last_passed', '1 when the environment\'s newest finished DR drill passed, 0 when it failed', env);
  const drillSuccess = gauge('lc2_drill_last_success_timestamp_seconds', 'Completion time of the environment\'s newest DR drill that passed', env);
  const up = gauge('lc2_archive_up', '1 when the last read of the backup history succeeded, else 0 (the other lc2_backup_* values are then from the last good read)', []);
  const readSeconds = gauge('lc2_archive_read_duration_seconds', 'Time the last read of the backup history for these metrics took', []);

  const apply = (s: BackupState) => {
    for (const m of [interval, lastSuccess, lastDuration, lastSize, lastFailure, finished, failures, inFlight, phaseSince, queueLength, queueOldest, backoff, drillRto, drillLast, drillPassed, drillSuccess]) m.reset();
    for (const d of s.drills) {
      const l = { project: name(d.projectId), environment: environmentLabel(d.environment) };
      drillLast.set(l, Date.parse(d.completedAt) / 1000);
      drillPassed.set(l, d.verdict === 'Passed' ? 1 : 0);
      if (d.rtoSeconds !== null) drillRto.set(l, d.rtoSeconds);
      if (d.lastPassedAt) drillSuccess.set(l, Date.parse(d.lastPassedAt) / 1000);
    }
    for (const b of s.lastSuccess) {
      const l = { project: name(b.projectId), environment: environmentLabel(b.environment) };
      lastSuccess.set(l, b.completedAt);
      if (b.durationSeconds !== null) lastDuration.set(l, b.durationSeconds);
      lastSize.set({ ...l, store: 'database' }, b.databaseBytes ?? 0);
      lastSize.set({ ...l, store: 'document_library' }, b.dlBytes ?? 0);
    }
    for (const i of s.intervals) interval.set({ project: name(i.projectId), environment: environmentLabel(i.environment) }, i.seconds);
    for (const f of s.lastFailure) lastFailure.set({ project: name(f.projectId), environment: environmentLabel(f.environment) }, f.completedAt);
    for (const c of s.finished) finished.inc({ project: name(c.projectId), environment: environmentLabel(c.environment), provider: providerLabel(c.provider), phase: c.phase }, c.count);
    for (const c of s.failures) failures.inc({ project: name(c.projectId), environment: environmentLabel(c.environment), reason: reasonLabel(c.reason) }, c.count);
    const backoffs = new Map<string, number>();
    for (const g of s.inFlight) {
      const l = { project: name(g.projectId), environment: environmentLabel(g.environment), phase: reasonLabel(g.phase) };
      inFlight.inc(l, g.count);
      phaseSince.set(l, g.oldestPhaseSince);
      backoffs.set(l.project, (backoffs.get(l.project) ?? 0) + g.inBackoff);
    }
    for (const [project, n] of backoffs) backoff.set({ project }, n);
    for (const q of s.queues) {
      queueLength.set({ project: name(q.projectId) }, q.length);
      queueOldest.set({ project: name(q.projectId) }, q.oldestQueuedAt);
    }
  };

  let readAt = -Infinity;
  let pending: Promise<void> | undefined;
  const read = async () => {
    const started = clock();
    try {
      apply(await archive.read(readBackupState));
      up.set(1);
    } catch (e) {
      up.set(0);
      log('warn', 'backup history unreadable for metrics', { error: e instanceof Error ? e.name : 'Error' });
    }
    readSeconds.set((clock() - started) / 1000);
    readAt = clock();
  };
  return {
    registry,
    refresh: () => {
      if (clock() - readAt < cacheMs) return Promise.resolve();
      pending ??= read().finally(() => { pending = undefined; });
      return pending;
    },
  };
}
