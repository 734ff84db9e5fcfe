// The AWS provider's pure side: what it refuses and which steps (with their identifiers) a backup
// or restore has. No SDK here: the hook server loads the AWS SDKs (about 40 MiB) only when a
// request for the aws provider arrives (index.ts), so a GCP- or Azure-only server never does.
import type { BackupRequestSpec, RestoreRequestSpec, TenantEncryption } from '../../core/crd.ts';
import type { BackupContext, BackupStep, DrillScope, RestoreContext, RestoreStep, SpecProblem } from '../../core/provider.ts';
import type { AwsProviderConfig } from './config.ts';
import { consistencyProblems, consistencySteps } from './consistencyJobs.ts';

/** RDS identifier rules: letter first, letters/digits/hyphens, no "--", no trailing hyphen, ≤ 63. */
export function snapshotIdentifier(uid: string, step = 's'): string {
  return `lc2-${step}-${uid.toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 63).replace(/-+$/, '');
}

export function awsBackupProblems(config: AwsProviderConfig) {
  return (spec: BackupRequestSpec, encryption?: TenantEncryption): SpecProblem[] => {
    const problems: SpecProblem[] = [];
    if (encryption && !encryption.awsKmsKeyArn) {
      problems.push({ field: `BackupTenant ${spec.projectId} spec.encryption.awsKmsKeyArn`, message: 'the project requires encryption with its own key, and the aws provider needs a KMS key ARN for it (SSE-KMS on the copies, the export); nothing was written (docs/encryption.md)' });
    }
    if (spec.database.type !== 'snapshot') {
      problems.push({ field: 'spec.database.type', message: 'the aws provider takes RDS snapshots (add spec.database.export for a portable copy); use "snapshot"' });
    }
    if (spec.database.instanceId.includes(':') || spec.database.instanceId.includes('.')) {
      problems.push({ field: 'spec.database.instanceId', message: 'name the RDS instance (or Aurora cluster with cluster: true) by its identifier, not a host name' });
    }
    const exp = spec.database.export;
    if (exp && !(exp.iamRoleArn ?? config.exportRoleArn)) problems.push({ field: 'spec.database.export.iamRoleArn', message: 'an export needs an IAM role for RDS to write to S3: set it here or LC2_AWS_EXPORT_ROLE_ARN on the hook server' });
    if (exp && !(encryption?.awsKmsKeyArn ?? exp.kmsKeyId ?? config.exportKmsKeyId)) problems.push({ field: 'spec.database.export.kmsKeyId', message: 'an export needs a KMS key: set it here or LC2_AWS_EXPORT_KMS_KEY on the hook server' });
    return [...problems, ...consistencyProblems(spec, config)];
  };
}

/** Database first: the check's key list right before the snapshot, its comparison after the copy. */
export const awsBackupSteps = (config: AwsProviderConfig) => (ctx: BackupContext): BackupStep[] => {
  const check = consistencySteps(ctx, config);
  return [
    ...(check ? [check.keys] : []),
    { name: 'snapshot', phase: 'SnapshotInProgress', operationId: snapshotIdentifier(ctx.uid), children: [] },
    ...(ctx.spec.database.export ? [{ name: 'export' as const, phase: 'ExportInProgress' as const, operationId: snapshotIdentifier(ctx.uid, 'e'), children: [] }] : []),
    { name: 'transfer', phase: 'TransferInProgress', operationId: snapshotIdentifier(ctx.uid, 't'), children: [] },
    ...(check ? [check.consistency] : []),
  ];
};

export function awsRestoreProblems(spec: RestoreRequestSpec): SpecProblem[] {
  const id = spec.database.instanceId;
  return /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,62}$/.test(id) && !id.endsWith('-') ? [] : [{
    field: 'spec.database.instanceId',
    message: 'the NEW RDS identifier: 1-63 letters, digits or hyphens, starting with a letter, no "--", not ending in "-"',
  }];
}

export function awsRestoreSteps(ctx: RestoreContext): RestoreStep[] {
  return [
    { name: 'database', phase: 'RestoringDatabase', operationId: `rds:${ctx.spec.database.instanceId.toLowerCase()}`, children: [] },
    { name: 'documentLibrary', phase: 'RestoringDocumentLibrary', operationId: `s3:${ctx.spec.documentLibrary.destinationBucket}/${destPrefix(ctx.spec)}`, children: [] },
  ];
}

/** A drill's cleanup: the scratch instance (only if this drill's restore made it) and prefix. */
export function awsDrillCleanup(ctx: RestoreContext, scope: DrillScope): RestoreStep {
  return { name: 'cleanup', phase: 'CleaningUp', operationId: `drill-cleanup:${ctx.spec.database.instanceId.toLowerCase()}`, children: [], scope };
}

export const destPrefix = (spec: RestoreRequestSpec) => `${spec.documentLibrary.destinationPrefix.replace(/\/+$/, '')}/`;
