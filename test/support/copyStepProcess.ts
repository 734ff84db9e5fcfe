// One sync of the AWS provider's document-library copy step, in its own process, exactly as the
// hook runs it (leasedStep around copyStep, checkpoint signed): a test can kill this process in the
// middle of a part copy to prove that a restarted hook continues from what S3 and the checkpoint
// hold. Input: JSON on stdin; output: the step's result as JSON on stdout.
import { S3Client } from '@aws-sdk/client-s3';
import { leasedStep } from '../../providers/aws/lease.ts';
import { copyStep, type CopyProgress, type CopySpec } from '../../providers/aws/s3Copy.ts';

export interface CopyStepInput {
  endpoint: string; accessKeyId: string; secretAccessKey: string;
  spec: Omit<CopySpec, 'exclude'>; progress: CopyProgress; budgetMs: number;
  checkpointKey: string; ttlMs: number; secret: string;
}

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as CopyStepInput;
const s3 = new S3Client({ endpoint: input.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey } });
const spec: CopySpec = { ...input.spec, exclude: () => false };
const out = await leasedStep(s3, spec.destinationBucket, input.checkpointKey, input.ttlMs, 10_000, input.progress,
  (p) => p.after ?? '', (start, save) => copyStep(s3, spec, start, input.budgetMs, save), input.secret);
process.stdout.write(JSON.stringify(out));
