// One RDS and one S3 client per hook server. The SDK retries a throttled call a couple of times
// itself; beyond that the machine backs off through resyncAfterSeconds (never a busy loop).
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import type { AwsProviderConfig } from './config.ts';

export interface AwsClients { rds: RDSClient; s3: S3Client; signal(): AbortSignal }

export function awsClients(config: AwsProviderConfig): AwsClients {
  // A backstop for calls made without their own abort signal: no socket waits longer than a copy may.
  const requestHandler = { connectionTimeout: config.callTimeoutMs, requestTimeout: Math.round(config.callTimeoutMs * 2.5) };
  const common = { region: config.region, maxAttempts: 3, requestHandler, ...(config.endpoint ? { endpoint: config.endpoint } : {}) };
  const s3Endpoint = config.s3Endpoint ?? config.endpoint;
  return {
    rds: new RDSClient(common),
    s3: new S3Client({ ...common, ...(s3Endpoint ? { endpoint: s3Endpoint, forcePathStyle: true } : {}) }),
    signal: () => AbortSignal.timeout(config.callTimeoutMs),
  };
}
