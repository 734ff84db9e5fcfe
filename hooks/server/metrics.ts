// Prometheus metrics of the hook server (served at /metrics).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const syncDuration = new Histogram({
  name: 'lc2_hook_sync_duration_seconds',
  help: 'Time to answer one Metacontroller hook call',
  labelNames: ['controller', 'hook', 'outcome'] as const,
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
  registers: [registry],
});

export const phaseTransitions = new Counter({
  name: 'lc2_phase_transitions_total',
  help: 'Phase changes decided by the hook, by kind, provider and new phase',
  labelNames: ['kind', 'provider', 'phase'] as const,
  registers: [registry],
});

export const terminalResults = new Counter({
  name: 'lc2_terminal_total',
  help: 'Backups and restores that reached Succeeded or Failed, with the failure reason',
  labelNames: ['kind', 'provider', 'phase', 'reason'] as const,
  registers: [registry],
});

/** The cloud account's manual-snapshot quota as the last BackupTenant sweep read it (one account per provider configuration). */
export const snapshotQuota = new Gauge({
  name: 'lc2_snapshot_quota',
  help: 'Manual database snapshots in use and allowed in the cloud account (alert at used/max >= 0.8)',
  labelNames: ['provider', 'kind'] as const,
  registers: [registry],
});

/** Writes to the history that failed (per replica, an event count: alert on its rate). */
export const archiveWriteFailures = new Counter({
  name: 'lc2_archive_write_failures_total',
  help: 'Writes to the backup history (archive) that failed, by table',
  labelNames: ['table'] as const,
  registers: [registry],
});
