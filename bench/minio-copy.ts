// The document-library copy on a real, multi-threaded S3 server (MinIO from .cache/bin): the AWS
// provider's server-side copy run by the real hook server (RDS on moto, S3 on MinIO via
// LC2_AWS_S3_ENDPOINT, a BackupRequest synced back to back as Metacontroller does), against
// `rclone copy` (one remote, so server-side; as the local provider's Job runs it, then tuned) and
// `aws s3 sync`, on the same library: LC2_BENCH_MINIO_FILES originals (12,000 by default) of a
// Liferay-like size mix plus ~40% generated files (excluded by all three), and a few multi-GB files.
// Prints MB/s, objects/s and each client's CPU seconds per 1,000 objects. Goals (issue 18): >= 100 MB/s,
// >= 1.0x the faster tool's wall time, <= its CPU.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  S3Client, CreateBucketCommand, PutObjectCommand, CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand,
} from '@aws-sdk/client-s3';
import { RDSClient, CreateDBInstanceCommand } from '@aws-sdk/client-rds';
import { freePort, startS3, stopProcess, waitForHttp } from '../test/support/processes.ts';
import { startMinio } from '../test/support/minio.ts';
import { MetacontrollerDriver } from '../test/support/driver.ts';
import { backupRequest } from '../test/support/resources.ts';
import { excludePatterns } from '../core/exclusions.ts';
import { COMPANY_ID, GROUP_ID } from '../demo/sample.ts';
import { cpuOf, imageNodeOptions, kib, seconds, timed } from './measure.ts';

const ORIGINALS = Number(process.env.LC2_BENCH_MINIO_FILES ?? 12_000);
/** The multi-GB files, in MiB (LC2_BENCH_MINIO_BIG_MB, comma-separated). */
const BIG_MB = (process.env.LC2_BENCH_MINIO_BIG_MB ?? '2048,1536,1024').split(',').filter(Boolean).map(Number);
const MiB = 1024 ** 2;
/**
 * Before each measured copy: dirty pages written out and the page cache dropped (where allowed), so
 * no tool pays for the writeback of the one before it, nor reads what another left in memory.
 */
function settle(): void {
  execFileSync('sync');
  try { writeFileSync('/proc/sys/vm/drop_caches', '3'); } catch { /* not allowed here: sync alone */ }
}

/** A Liferay-like size mix: most files small, some large, a few very large. */
const sizeOf = (i: number) => { const r = i % 100; return r < 60 ? 30_000 : r < 90 ? 200_000 : r < 99 ? 1_500_000 : 12_000_000; };

interface Entry { key: string; size: number; generated: boolean }
function library(): Entry[] {
  const root = `document_library/${COMPANY_ID}`;
  const out: Entry[] = [];
  for (let i = 1; i <= ORIGINALS; i += 1) {
    const name = 30000 + i;
    out.push({ key: `${root}/${GROUP_ID}/${name}/1.0`, size: sizeOf(i), generated: false });
    // About 40% of all objects are generated: previews of every other file, thumbnails of every sixth.
    if (i % 2 === 0) out.push({ key: `${root}/0/document_preview/${GROUP_ID}/${name}/1.0/1.png`, size: 50_000, generated: true });
    if (i % 6 === 0) out.push({ key: `${root}/0/document_thumbnail/${GROUP_ID}/${name}/1.0.jpg`, size: 10_000, generated: true });
  }
  BIG_MB.forEach((mb, k) => out.push({ key: `${root}/${GROUP_ID}/${90001 + k}/1.0`, size: mb * MiB, generated: false }));
  return out;
}

/** Bodies are slices of one random block with the key in front: distinct objects, no memory per object. */
const block = randomBytes(16 * MiB);
const body = (key: string, size: number) => { const b = Buffer.from(block.subarray(0, size)); b.write(key.slice(-Math.min(key.length, size))); return b; };

async function upload(s3: S3Client, entries: Entry[]): Promise<void> {
  const small = entries.filter((e) => e.size <= 16 * MiB);
  for (let i = 0; i < small.length; i += 64) {
    await Promise.all(small.slice(i, i + 64).map((e) => s3.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: e.key, Body: body(e.key, e.size) }))));
  }
  // The multi-GB files are uploaded in parts, as Liferay's S3 store does: their ETags are multipart ones.
  for (const e of entries.filter((x) => x.size > 16 * MiB)) {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'liferay-dl', Key: e.key }));
    const partSize = 16 * MiB;
    const parts: Array<{ PartNumber: number; ETag: string }> = [];
    const numbers = Array.from({ length: Math.ceil(e.size / partSize) }, (_, k) => k + 1);
    for (let k = 0; k < numbers.length; k += 8) {
      await Promise.all(numbers.slice(k, k + 8).map(async (n) => {
        const out = await s3.send(new UploadPartCommand({ Bucket: 'liferay-dl', Key: e.key, UploadId, PartNumber: n, Body: body(`${e.key}#${n}`, Math.min(partSize, e.size - (n - 1) * partSize)) }));
        parts.push({ PartNumber: n, ETag: out.ETag! });
      }));
    }
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'liferay-dl', Key: e.key, UploadId, MultipartUpload: { Parts: parts } }));
  }
}

export async function benchMinioCopy(): Promise<Record<string, unknown>> {
  const minio = await startMinio();
  const moto = await startS3();
  if (moto.kind !== 'moto') throw new Error('this benchmark needs moto_server for RDS');
  const home = mkdtempSync(join(tmpdir(), 'lc2-bench-minio-'));
  const credentials = { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey };
  const s3 = new S3Client({ endpoint: minio.endpoint, forcePathStyle: true, region: 'us-east-1', credentials });
  try {
    for (const b of ['liferay-dl', 'lc2-backups']) await s3.send(new CreateBucketCommand({ Bucket: b }));
    const entries = library();
    let t0 = process.hrtime.bigint();
    await upload(s3, entries);
    const uploadSeconds = seconds(t0);
    const originals = entries.filter((e) => !e.generated);
    const bytes = originals.reduce((n, e) => n + e.size, 0);
    // moto (RDS) accepts any key: the hook holds MinIO's, as a pod holds one role for both services.
    await new RDSClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials }).send(new CreateDBInstanceCommand({
      DBInstanceIdentifier: 'bench-db', Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'liferay', MasterUserPassword: 'not-a-real-one-1',
    }));
    const env = { PATH: process.env.PATH, HOME: home, AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_DEFAULT_REGION: 'us-east-1' };

    const port = await freePort();
    const hook = spawn(process.execPath, ['app/main.ts'], {
      env: { ...env, NODE_OPTIONS: process.env.NODE_OPTIONS ?? imageNodeOptions(), PORT: String(port), LC2_AWS_REGION: 'us-east-1', LC2_AWS_ENDPOINT: moto.endpoint,
        LC2_AWS_S3_ENDPOINT: minio.endpoint, LC2_LOG_LEVEL: 'error', LC2_TENANCY: 'off', LC2_ARCHIVE: 'off' }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let hookErrors = '';
    hook.stderr!.on('data', (d: Buffer) => { hookErrors = (hookErrors + d.toString()).slice(-4000); });
    hook.once('exit', (code, signal) => { if (code !== 0 && signal !== 'SIGTERM') console.error(`hook server exited (${code ?? signal}): ${hookErrors}`); });
    await waitForHttp(`http://127.0.0.1:${port}/healthz`);
    const rssStart = kib(hook.pid!, 'VmRSS');
    const driver = new MetacontrollerDriver(backupRequest('bench-minio', {
      provider: 'aws', database: { engine: 'postgresql', type: 'snapshot', instanceId: 'bench-db' },
    }), { hookUrl: () => `http://127.0.0.1:${port}`, syncPath: '/backuprequest/sync', secrets: {} });
    const phase = () => driver.phase as string | undefined;
    for (let i = 0; phase() !== 'TransferInProgress'; i += 1) { if (i > 50 || phase() === 'Failed') throw new Error(JSON.stringify(driver.status)); await driver.sync(); }
    // The tools first (the same order every run), then ours, each after settle().
    const excludes = join(home, 'excludes.txt');
    writeFileSync(excludes, `${excludePatterns(true, []).join('\n')}\n`);
    // rclone reads the remote from RCLONE_CONFIG_STORE_* (as the Job does): no key on a command line.
    const rcloneEnv = { ...env, RCLONE_CONFIG_STORE_TYPE: 's3', RCLONE_CONFIG_STORE_PROVIDER: 'Minio', RCLONE_CONFIG_STORE_ENDPOINT: minio.endpoint,
      RCLONE_CONFIG_STORE_ACCESS_KEY_ID: credentials.accessKeyId, RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY: credentials.secretAccessKey, RCLONE_CONFIG_STORE_FORCE_PATH_STYLE: 'true' };
    const rclone = (dest: string, flags: string) => { settle(); return timed(`rclone copy store:liferay-dl/document_library store:lc2-backups/${dest} --exclude-from ${excludes} ${flags}`, rcloneEnv); };
    const rcloneRuns = Object.fromEntries(Object.entries(RCLONE_FLAGS).map(([name, flags]) => [name, { flags, ...rclone(`rclone-${name}/dl`, flags) }]));
    const config = join(home, 'aws-config');
    writeFileSync(config, '[default]\ns3 =\n  max_concurrent_requests = 32\n  multipart_chunksize = 128MB\n');
    const awsExcludes = excludePatterns(true, []).map((p) => `--exclude '*/${p.replace(/\*\*$/, '*')}'`).join(' ');
    settle();
    const awsSync = timed(`aws --endpoint-url ${minio.endpoint} s3 sync s3://liferay-dl/document_library/ s3://lc2-backups/awscli/dl/ ${awsExcludes} --only-show-errors`, { ...env, AWS_CONFIG_FILE: config });

    // Nothing may have been copied before the clock starts (the copy begins in the sync after the one that records its operation).
    const before = (driver.status as { operations?: { transfer?: { progress?: { copied?: number } } } }).operations?.transfer?.progress?.copied ?? 0;
    if (before > 0) throw new Error(`${before} objects were copied before the measurement`);
    settle();
    const cpu0 = cpuOf(hook.pid!);
    t0 = process.hrtime.bigint();
    const syncs0 = driver.syncs;
    while ((driver.status as { operations?: { transfer?: { state: string } } }).operations?.transfer?.state === 'Running') {
      // After the minutes the tools took, the driver's kept-alive connection has been closed by the
      // hook server: the first POST on it fails before reaching the hook (Metacontroller retries too).
      await driver.sync().catch(() => driver.sync());
      if (process.env.LC2_BENCH_DEBUG) console.error(JSON.stringify((driver.status as { operations?: unknown }).operations));
    }
    const oursSeconds = seconds(t0);
    const oursCpu = cpuOf(hook.pid!) - cpu0;
    const copySyncs = driver.syncs - syncs0;
    for (let i = 0; phase() !== 'Succeeded' && phase() !== 'Failed'; i += 1) {
      if (i > 100) throw new Error(`no end after the copy: ${JSON.stringify(driver.status)}`);
      await driver.sync();
    }
    const rssPeak = kib(hook.pid!, 'VmHWM');
    await stopProcess(hook);
    const dl = (driver.status as { documentLibrary?: { objectCount: number; totalBytes: number } }).documentLibrary;

    const rate = (s: number, cpu: number) => ({
      seconds: +s.toFixed(1), megabytesPerSecond: +(bytes / s / 1e6).toFixed(1), objectsPerSecond: +(originals.length / s).toFixed(0),
      cpuSecondsPer1000Objects: +(cpu / originals.length * 1000).toFixed(2),
    });
    const fastest = Math.min(awsSync.seconds, ...Object.values(rcloneRuns).map((r) => r.seconds));
    return {
      data: { objects: entries.length, originals: originals.length, generatedExcluded: entries.length - originals.length, originalBytes: bytes,
        multiGbFilesMiB: BIG_MB, uploadSeconds: +uploadSeconds.toFixed(1), copiedByOurs: dl?.objectCount, bytesByOurs: dl?.totalBytes, phase: driver.phase, copySyncs },
      ours: rate(oursSeconds, oursCpu),
      rclone: Object.fromEntries(Object.entries(rcloneRuns).map(([name, r]) => [name, { flags: r.flags, ...rate(r.seconds, r.cpuSeconds) }])),
      awsS3Sync: rate(awsSync.seconds, awsSync.cpuSeconds),
      oursVsFastestTool: +(fastest / oursSeconds).toFixed(2),
      hookServerRss: { startMiB: +(rssStart / 1024).toFixed(1), peakMiB: +(rssPeak / 1024).toFixed(1) },
      goals: '>= 100 MB/s; >= 1.0x the fastest tool on wall time; <= its CPU per 1,000 objects',
    };
  } finally {
    await moto.stop();
    await minio.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * rclone as the local provider's Job ran it before this benchmark, as it runs it now
 * (providers/shared/jobs/scripts/copy-document-library.sh), and with every flag that trades memory or
 * checks for speed (--fast-list holds the whole listing in memory; --s3-no-head skips the check of
 * each copy) - the fastest rclone, as the bar for ours.
 */
const RCLONE_FLAGS = {
  before: '--transfers 32 --checkers 32',
  job: '--transfers 32 --checkers 32 --s3-no-check-bucket',
  fastest: '--transfers 64 --checkers 64 --fast-list --s3-no-check-bucket --s3-no-head',
};

if (process.argv[1]?.endsWith('minio-copy.ts')) console.log(JSON.stringify(await benchMinioCopy(), null, 2));
