// Settings of the AWS provider, read from the hook server's environment (app/config.ts).
// Credentials are never configured here: the SDK's default chain finds them (IRSA in the cluster).

/** At most this many large objects are under way at once (status and checkpoint stay small; s3Copy.ts). */
export const MAX_KEPT_UPLOADS = 64;

export interface AwsProviderConfig {
  region: string;
  /** Tests only (moto): one endpoint for RDS and S3, path-style S3 addressing. */
  endpoint?: string;
  /** Tests and benchmarks only: S3 elsewhere than RDS (e.g. MinIO, with RDS on moto). */
  s3Endpoint?: string;
  /** Defaults for spec.database.export. */
  exportRoleArn?: string;
  exportKmsKeyId?: string;
  copy: { parallelism: number; multipartThreshold: number; partSize: number; pageSize: number };
  /** Time one sync may spend copying before it records the cursor and asks to be called again. */
  stepBudgetMs: number;
  /** Timeout of one SDK call (copies get 2.5x), well under the 30 s webhook timeout. */
  callTimeoutMs: number;
  /** Signs copy checkpoints (HMAC): shared by every replica (LC2_CHECKPOINT_KEY, else LC2_HOOK_TOKEN); unset in tests = unsigned. */
  checkpointSecret?: string;
  /** The account's manual-snapshot quota where RDS cannot tell it (DescribeAccountAttributes unavailable); AWS's default is 100. */
  manualSnapshotQuota?: number;
  /**
   * The consistency check's Jobs (docs/recovery-points.md), run in the request's namespace: the tools
   * image and limits, and how they reach the backup bucket: a Secret there with AWS_ACCESS_KEY_ID and
   * AWS_SECRET_ACCESS_KEY, or a service account with a workload identity (IRSA), either limited to
   * the project's prefix by the platform team. Unset: backups that ask for the check are refused.
   */
  jobs?: AwsJobConfig;
}

export interface AwsJobConfig {
  image: string;
  backoffLimit: number;
  activeDeadlineSeconds: number;
  transfers: number;
  credentialsSecret?: string;
  serviceAccountName?: string;
}
