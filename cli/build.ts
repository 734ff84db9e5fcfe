// The resources the create verbs write, built as pure functions of the flags, the objects read
// from the cluster and the clock: the same documents a person would commit to Git.
import type { BackupRequest, BackupRequestSpec, BackupSchedule, Engine, ProviderName, RestoreRequest, RestoreRequestSpec } from '../core/crd.ts';
import { validateSpec, type Kind } from '../core/validation/schema.ts';
import { Failed, Usage } from './errors.ts';

export const API_VERSION = 'backup.liferay.cloud/v1alpha1';
const SERVICE_PREFIX = 'backup.liferay.cloud/';

/** 20261123-020500 (UTC): sorts by time, valid in names. */
export const stamp = (now: Date) => now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

/** A DNS-1123 name of at most 63 characters ending in the suffix. */
export function nameWith(base: string, suffix: string): string {
  const head = base.slice(0, 63 - suffix.length - 1).replace(/[^a-z0-9-]/g, '-').replace(/-+$/, '');
  return `${head}-${suffix}`;
}

function checked<T>(kind: Kind, spec: unknown): T {
  const v = validateSpec<T>(kind, spec);
  if (!v.ok) throw new Usage(`the ${kind} would be refused: ${v.errors.join('; ')}`);
  return spec as T;
}

export interface BackupFlags {
  project?: string; env?: string; provider?: string; dbEngine?: string; dbType?: string; dbInstance?: string; dbName?: string;
  dbSecret?: string; dlBucket?: string; dlPrefix?: string; backupBucket?: string; retentionDays?: string; incremental: boolean;
}

const need = (value: string | undefined, flag: string, why: string): string => {
  if (!value) throw new Usage(`${flag} is required ${why}`);
  return value;
};

export function backupFromFlags(f: BackupFlags, meta: { name: string; namespace: string; initiator: string }): BackupRequest {
  const why = '(or use --from-schedule SCHEDULE)';
  const type = f.dbType ?? 'dump';
  const retention = f.retentionDays === undefined ? undefined : Number(f.retentionDays);
  if (retention !== undefined && !Number.isInteger(retention)) throw new Usage(`--retention-days must be a whole number of days, got ${f.retentionDays}`);
  const spec = {
    projectId: need(f.project, '--project', why), environment: need(f.env, '--env', why), provider: (f.provider ?? 'local') as ProviderName,
    initiator: meta.initiator,
    ...(retention !== undefined ? { retentionDays: retention } : {}),
    database: {
      ...(f.dbEngine ? { engine: f.dbEngine as Engine } : {}), type: type as 'dump' | 'snapshot', instanceId: need(f.dbInstance, '--db-instance', why),
      ...(f.dbName ? { databaseName: f.dbName } : {}), ...(f.dbSecret ? { credentialsSecretRef: { name: f.dbSecret } } : {}),
    },
    documentLibrary: {
      sourceBucket: need(f.dlBucket, '--dl-bucket', why), ...(f.dlPrefix ? { sourcePrefix: f.dlPrefix } : {}),
      destinationBucket: need(f.backupBucket, '--backup-bucket', why), ...(f.incremental ? { incremental: true } : {}),
    },
  };
  if (type === 'dump' && !f.dbEngine) throw new Usage('--db-engine (postgresql or mysql) is required for a dump');
  return { apiVersion: API_VERSION, kind: 'BackupRequest', metadata: { name: meta.name, namespace: meta.namespace }, spec: checked<BackupRequestSpec>('BackupRequest', spec) };
}

/** A one-off backup with a schedule's template: its labels (not the service's own, so the schedule's retention never counts it) and its spec. */
export function backupFromSchedule(schedule: BackupSchedule, meta: { name: string; namespace: string; initiator: string }): BackupRequest {
  const template = schedule.spec?.template;
  if (!template?.spec) throw new Failed(`BackupSchedule ${schedule.metadata.name} has no template.spec`);
  const labels = Object.fromEntries(Object.entries(template.metadata?.labels ?? {}).filter(([k]) => !k.startsWith(SERVICE_PREFIX)));
  const spec = { ...template.spec, initiator: `${meta.initiator} (from schedule ${schedule.metadata.name})`.slice(0, 253) };
  return {
    apiVersion: API_VERSION, kind: 'BackupRequest',
    metadata: { name: meta.name, namespace: meta.namespace, ...(Object.keys(labels).length ? { labels } : {}) },
    spec: checked<BackupRequestSpec>('BackupRequest', spec),
  };
}

const time = (b: BackupRequest) => Date.parse(b.status?.completionTime ?? '') || 0;

/** The newest Succeeded backup of one environment (by completion time), or undefined. */
export function latestSucceeded(backups: readonly BackupRequest[], project: string, environment: string): BackupRequest | undefined {
  return backups
    .filter((b) => b.spec?.projectId === project && b.spec.environment === environment && b.status?.phase === 'Succeeded' && !b.metadata.deletionTimestamp)
    .sort((a, b) => time(b) - time(a) || b.metadata.name.localeCompare(a.metadata.name))[0];
}

export interface RestoreFlags { database?: string; dbInstance?: string; dbSecret?: string; dlBucket?: string; dlPrefix?: string; approveOverwrite: boolean }

/**
 * A restore of `backup` into a NEW database and document-library prefix. What is not given comes
 * from the backup as admitted: the same database server and Secret (local), the source bucket, and
 * new names stamped with the time, so a restore at 3 a.m. never lands on live data by default.
 */
export function restoreFromBackup(backup: BackupRequest, f: RestoreFlags, meta: { name: string; namespace: string; initiator: string }, now: Date): RestoreRequest {
  const source = backup.status?.admitted?.spec ?? backup.spec;
  if (!source) throw new Failed(`BackupRequest ${backup.metadata.name} has no spec`);
  if (backup.status?.phase !== 'Succeeded') throw new Failed(`BackupRequest ${backup.metadata.name} is ${backup.status?.phase ?? 'Pending'}, not Succeeded: pick a finished backup (backup list) or use --latest`);
  const when = stamp(now).replace('-', '_').slice(0, 13);
  const dbName = (source.database.databaseName ?? 'lportal').replace(/[^A-Za-z0-9_$-]/g, '_');
  const oldPrefix = (source.documentLibrary.sourcePrefix ?? 'document_library').replace(/\/+$/, '') || 'document_library';
  if (source.provider !== 'local' && !f.dbInstance) throw new Usage(`a ${source.provider} restore creates a NEW database instance: name it with --db-instance`);
  const secret = f.dbSecret ?? source.database.credentialsSecretRef?.name;
  const spec = {
    projectId: source.projectId, environment: source.environment, provider: source.provider, initiator: meta.initiator,
    ...(f.approveOverwrite ? { approveOverwrite: true } : {}),
    source: { backupRef: { name: backup.metadata.name } },
    database: {
      instanceId: f.dbInstance ?? source.database.instanceId,
      databaseName: f.database ?? `${dbName.slice(0, 63 - when.length - 10)}_restored_${when}`,
      ...(secret ? { credentialsSecretRef: { name: secret } } : {}),
    },
    documentLibrary: { destinationBucket: f.dlBucket ?? source.documentLibrary.sourceBucket, destinationPrefix: f.dlPrefix ?? `${oldPrefix}-restored-${stamp(now)}` },
  };
  return {
    apiVersion: API_VERSION, kind: 'RestoreRequest', metadata: { name: meta.name, namespace: meta.namespace },
    spec: checked<RestoreRequestSpec>('RestoreRequest', spec),
  };
}
