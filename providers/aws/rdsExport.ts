// The optional portable copy of an RDS snapshot: StartExportTask to S3 (Parquet), written under the
// backup's own prefix so the backup's deletion removes it too. The task identifier is derived from
// the BackupRequest UID: "already exists" means started.
import { RDSClient, StartExportTaskCommand, DescribeExportTasksCommand } from '@aws-sdk/client-rds';
import type { Observation } from '../../core/provider.ts';

export interface ExportTarget { taskId: string; snapshotArn: string; bucket: string; prefix: string; iamRoleArn: string; kmsKeyId: string }
export interface ExportResult { taskId: string; bucket: string; prefix: string; extractedGb?: number; warning?: string }

export async function startExport(rds: RDSClient, t: ExportTarget, signal?: AbortSignal): Promise<void> {
  try {
    await rds.send(new StartExportTaskCommand({
      ExportTaskIdentifier: t.taskId, SourceArn: t.snapshotArn, S3BucketName: t.bucket, S3Prefix: t.prefix.replace(/\/+$/, ''),
      IamRoleArn: t.iamRoleArn, KmsKeyId: t.kmsKeyId,
    }), signal ? { abortSignal: signal } : {});
  } catch (e) {
    if ((e as { name?: string }).name !== 'ExportTaskAlreadyExistsFault') throw e;
    // Ours if it exports this snapshot: the identifier is this backup's, the source proves it.
    const task = (await rds.send(new DescribeExportTasksCommand({ ExportTaskIdentifier: t.taskId }))).ExportTasks?.[0];
    if (task && task.SourceArn !== t.snapshotArn) {
      throw Object.assign(new Error(`export task ${t.taskId} exists but exports ${task.SourceArn}, not this backup's snapshot`), { name: 'ExportOwnershipConflict' });
    }
  }
}

export async function observeExport(rds: RDSClient, t: ExportTarget, signal?: AbortSignal): Promise<Observation<ExportResult>> {
  const task = (await rds.send(new DescribeExportTasksCommand({ ExportTaskIdentifier: t.taskId }), signal ? { abortSignal: signal } : {})).ExportTasks?.[0];
  if (!task) return { state: 'running', message: `export task ${t.taskId} is starting` };
  const status = (task.Status ?? '').toUpperCase();
  if (status === 'COMPLETE') {
    return { state: 'done', completedAt: (task.TaskEndTime ?? new Date()).toISOString(), result: {
      taskId: t.taskId, bucket: t.bucket, prefix: `${t.prefix.replace(/\/+$/, '')}/${t.taskId}/`,
      ...(task.TotalExtractedDataInGB !== undefined ? { extractedGb: task.TotalExtractedDataInGB } : {}),
      ...(task.WarningMessage ? { warning: task.WarningMessage.slice(0, 500) } : {}),
    } };
  }
  if (status === 'FAILED' || status === 'CANCELED' || status === 'CANCELING') {
    return { state: 'failed', reason: 'ExportFailed', message: `export task ${t.taskId} is ${status.toLowerCase()}: ${(task.FailureCause ?? 'no cause given').slice(0, 400)}`, retryable: false };
  }
  return { state: 'running', message: `export task ${t.taskId} ${status.toLowerCase() || 'starting'}${task.PercentProgress !== undefined ? `, ${task.PercentProgress}%` : ''}` };
}
