// The optional portable copy: instances.export (SQL, gzip) into the backup's own folder, so the
// folder's deletion removes it and it outlives the instance. Keyed by its URI: "if the file already
// exists, the request succeeds, but the operation fails", so a repeated call is never the way to
// find it again - under the lease the instance's operations are searched for an EXPORT to this URI,
// and the operation is recorded (create-only) beside the data before the lease is released.
import type { DatabaseExportResult, ExportedObject } from '../../core/crd.ts';
import type { Observation } from '../../core/provider.ts';
import type { GcpClients, SqlOperation } from './clients.ts';
import { isNotFound } from './errors.ts';
import { readRecord, withLease, writeRecordOnce } from './lease.ts';
import { withDeadline } from './deadline.ts';

export interface ExportTarget {
  instance: string; database: string; bucket: string; key: string; uri: string; folderPrefix: string;
  recordKey: string; leaseKey: string; leaseTtlMs: number;
}

const opFailure = (op: SqlOperation) => (op.error?.errors ?? []).map((e) => `${e.code ?? ''} ${e.message ?? ''}`.trim()).join('; ') || 'no error detail';

/** The exported object's generation, CRC32C and size, or undefined when it is not there. */
export async function exportedObject(c: GcpClients, bucket: string, key: string): Promise<ExportedObject | undefined> {
  try {
    const [meta] = await withDeadline(c.storage.bucket(bucket).file(key).getMetadata(), c.callTimeoutMs, `GCS head ${key}`);
    return { generation: String(meta.generation ?? ''), crc32c: String(meta.crc32c ?? ''), sizeBytes: Number(meta.size ?? 0) };
  } catch (e) { if (isNotFound(e)) return undefined; throw e; }
}

/** The exported object's size, or undefined when it is not there. */
export const exportedSize = async (c: GcpClients, bucket: string, key: string): Promise<number | undefined> => (await exportedObject(c, bucket, key))?.sizeBytes;

async function locateOrStart(c: GcpClients, t: ExportTarget): Promise<{ busy: true } | { busy: false; value: { operation?: string } }> {
  return withLease(c.storage, t.bucket, t.leaseKey, t.leaseTtlMs, c.callTimeoutMs, async (stillHeld): Promise<{ operation?: string }> => {
    const prior = await readRecord<{ operation: string }>(c.storage, t.bucket, t.recordKey, c.callTimeoutMs);
    if (prior?.operation) return prior;
    const running = (await c.sql.listOperations(t.instance)).find((op) => op.operationType === 'EXPORT' && op.exportContext?.uri === t.uri);
    if (!running && !stillHeld()) return {}; // too slow this time: the next sync looks again
    const op = running ?? await c.sql.exportSql(t.instance, t.uri, [t.database]);
    return writeRecordOnce(c.storage, t.bucket, t.recordKey, { operation: op.name ?? '' }, c.callTimeoutMs);
  });
}

/** One sync of the export step: find or start it, then report it; done only with the object there. */
export async function observeExport(c: GcpClients, t: ExportTarget, progress: { operation?: string }): Promise<Observation<DatabaseExportResult>> {
  let operation = progress.operation ?? (await readRecord<{ operation: string }>(c.storage, t.bucket, t.recordKey, c.callTimeoutMs))?.operation;
  if (!operation) {
    const started = await locateOrStart(c, t);
    if (started.busy || !started.value.operation) return { state: 'running', resyncAfterSeconds: 2, message: `another sync is starting the export of ${t.instance}` };
    operation = started.value.operation;
  }
  const op = await c.sql.getOperation(operation);
  if (op.operationType && op.operationType !== 'EXPORT') throw Object.assign(new Error(`operation ${operation} is not an export`), { name: 'OwnershipConflict' });
  if (op.exportContext?.uri && op.exportContext.uri !== t.uri) throw Object.assign(new Error(`operation ${operation} exports to another place than ${t.uri}`), { name: 'OwnershipConflict' });
  if (op.status !== 'DONE') return { state: 'running', progress: { operation }, resyncAfterSeconds: 10, message: `exporting ${t.instance} to ${t.uri}: ${(op.status ?? 'pending').toLowerCase()}` };
  if (op.error) return { state: 'failed', reason: 'ExportFailed', message: `Cloud SQL export of ${t.instance} to ${t.uri} failed: ${opFailure(op).slice(0, 400)}`, retryable: false };
  const object = await exportedObject(c, t.bucket, t.key);
  if (!object?.sizeBytes) return { state: 'failed', reason: 'ExportMissing', message: `the export operation finished but ${t.uri} is ${object ? 'empty' : 'not there'}`, retryable: false };
  // Its generation and CRC32C go into status and the manifest: a later swap of the object shows.
  return { state: 'done', completedAt: op.endTime ?? new Date().toISOString(), result: { taskId: t.uri, bucket: t.bucket, prefix: t.folderPrefix, object } };
}

/**
 * Before the folder is deleted: every EXPORT still running to this backup's URI is cancelled - the one
 * status names, the one the record names, and any the instance's operations show (a sync may have
 * started one without its progress reaching status). Only an EXPORT to our own URI is ever cancelled.
 * True once none runs.
 */
export async function quiesceExport(c: GcpClients, t: ExportTarget, known: string | undefined): Promise<boolean> {
  const record = await readRecord<{ operation?: string }>(c.storage, t.bucket, t.recordKey, c.callTimeoutMs).catch((e: unknown) => {
    if ((e as { name?: string }).name === 'RecordInvalid') return undefined;
    throw e;
  });
  const ops: SqlOperation[] = [];
  for (const name of new Set([known, record?.operation].filter((n): n is string => !!n))) {
    try { ops.push(await c.sql.getOperation(name)); } catch (e) { if (!isNotFound(e)) throw e; }
  }
  if (t.instance) {
    try { ops.push(...await c.sql.listOperations(t.instance)); } catch (e) { if (!isNotFound(e)) throw e; }
  }
  const running = new Set(ops.filter((op) => op.operationType === 'EXPORT' && op.exportContext?.uri === t.uri && op.status !== 'DONE').map((op) => op.name ?? ''));
  for (const name of running) await c.sql.cancelOperation(name).catch(() => undefined);
  return running.size === 0;
}
