// The AWS provider's server-side document-library copy against `rclone copy` (server-side within one
// S3 remote) and `aws s3 sync`, on the same moto server and the same library (20,000 objects by
// default, LC2_BENCH_AWS_FILES), with the same Liferay exclusions. Ours runs in the real hook server
// (its own process, driven through a BackupRequest like Metacontroller would; RSS sampled).
// moto is one Python process: wall-clock ratios largely measure moto, so each client's own CPU
// time per 1,000 objects is printed too. Goal: objects/s and bytes/s ratios >= 1.0; hook RSS flat < 150 MB.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { RDSClient, CreateDBInstanceCommand } from '@aws-sdk/client-rds';
import { credentialEnv, freePort, startS3, stopProcess, waitForHttp } from '../test/support/processes.ts';
import { MetacontrollerDriver } from '../test/support/driver.ts';
import { backupRequest } from '../test/support/resources.ts';
import { sampleDocumentLibrary } from '../demo/sample.ts';
import { excludePatterns } from '../core/exclusions.ts';
import { cpuOf, imageNodeOptions, kib, seconds, timed } from './measure.ts';

const FILES = Number(process.env.LC2_BENCH_AWS_FILES ?? 20_000);
export async function benchAwsCopy(): Promise<Record<string, unknown>> {
  const moto = await startS3();
  if (moto.kind !== 'moto') throw new Error('this benchmark needs moto_server (RDS and S3)');
  const home = mkdtempSync(join(tmpdir(), 'lc2-bench-aws-'));
  const credentials = { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey };
  const s3 = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1', credentials });
  const rds = new RDSClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials });
  try {
    for (const b of ['liferay-dl', 'lc2-backups']) await s3.send(new CreateBucketCommand({ Bucket: b }));
    const library = sampleDocumentLibrary(Math.round(FILES / 1.9), (i) => 2_000 + (i % 13) * 1_500);
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < library.length; i += 64) {
      await Promise.all(library.slice(i, i + 64).map((f) => s3.send(new PutObjectCommand({ Bucket: 'liferay-dl', Key: f.key, Body: f.body }))));
    }
    const uploadSeconds = seconds(t0);
    const originals = library.filter((f) => !f.generated);
    const bytes = originals.reduce((n, f) => n + f.body.length, 0);
    await rds.send(new CreateDBInstanceCommand({ DBInstanceIdentifier: 'bench-db', Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'liferay', MasterUserPassword: 'not-a-real-one-1' }));
    const env = { PATH: process.env.PATH, HOME: home, ...credentialEnv(moto), AWS_DEFAULT_REGION: 'us-east-1' };

    // Ours: the hook server, a BackupRequest synced back to back (as Metacontroller does on resyncAfterSeconds: 1).
    const port = await freePort();
    const hook = spawn(process.execPath, ['app/main.ts'], {
      env: { ...env, NODE_OPTIONS: process.env.NODE_OPTIONS ?? imageNodeOptions(), PORT: String(port), LC2_AWS_REGION: 'us-east-1', LC2_AWS_ENDPOINT: moto.endpoint, LC2_LOG_LEVEL: 'error', LC2_TENANCY: 'off', LC2_ARCHIVE: 'off' }, stdio: 'ignore',
    });
    await waitForHttp(`http://127.0.0.1:${port}/healthz`);
    const rssStart = kib(hook.pid!, 'VmRSS');
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(kib(hook.pid!, 'VmRSS')), 100);
    const driver = new MetacontrollerDriver(backupRequest('bench-aws', {
      provider: 'aws', database: { engine: 'postgresql', type: 'snapshot', instanceId: 'bench-db' },
    }), { hookUrl: () => `http://127.0.0.1:${port}`, syncPath: '/backuprequest/sync', secrets: {} });
    const phase = () => driver.phase as string | undefined;
    for (let i = 0; phase() !== 'TransferInProgress'; i += 1) { if (i > 50 || phase() === 'Failed') throw new Error(JSON.stringify(driver.status)); await driver.sync(); }
    const cpu0 = cpuOf(hook.pid!);
    t0 = process.hrtime.bigint();
    while ((driver.status as { operations?: { transfer?: { state: string } } }).operations?.transfer?.state === 'Running') await driver.sync();
    const oursSeconds = seconds(t0);
    const oursCpu = cpuOf(hook.pid!) - cpu0;
    while (phase() !== 'Succeeded' && phase() !== 'Failed') await driver.sync();
    clearInterval(sampler);
    const rssPeak = kib(hook.pid!, 'VmHWM');
    await stopProcess(hook);
    const copied = (driver.status as { documentLibrary?: { objectCount: number } }).documentLibrary?.objectCount;

    if (process.env.LC2_BENCH_AWS_BASELINES === 'off') {
      return { data: { originals: originals.length, copiedByOurs: copied, phase: driver.phase }, ours: { seconds: +oursSeconds.toFixed(1), cpuSeconds: +oursCpu.toFixed(1) },
        hookServerRss: { startMiB: +(rssStart / 1024).toFixed(1), peakMiB: +(rssPeak / 1024).toFixed(1) } };
    }
    // rclone: one remote, so copies between its buckets are server-side; same exclusions, 32 transfers.
    const excludes = join(home, 'excludes.txt');
    writeFileSync(excludes, `${excludePatterns(true, []).join('\n')}\n`);
    const remote = `--s3-provider Other --s3-endpoint ${moto.endpoint} --s3-access-key-id ${moto.accessKeyId} --s3-secret-access-key ${moto.secretAccessKey} --s3-force-path-style`;
    const rclone = timed(`rclone copy :s3:liferay-dl/document_library :s3:lc2-backups/rclone/dl ${remote} --exclude-from ${excludes} --transfers 32 --checkers 32`, env);

    // aws s3 sync with 32 concurrent requests (its default is 10).
    const config = join(home, 'aws-config');
    writeFileSync(config, '[default]\ns3 =\n  max_concurrent_requests = 32\n');
    const awsExcludes = excludePatterns(true, []).map((p) => `--exclude '*/${p.replace(/\*\*$/, '*')}'`).join(' ');
    const awsSync = timed(`aws --endpoint-url ${moto.endpoint} s3 sync s3://liferay-dl/document_library/ s3://lc2-backups/awscli/dl/ ${awsExcludes} --only-show-errors`, { ...env, AWS_CONFIG_FILE: config });

    const rate = (s: number) => ({ objectsPerSecond: +(originals.length / s).toFixed(1), megabytesPerSecond: +(bytes / s / 1e6).toFixed(2) });
    const cpuPer1000 = (cpu: number) => +(cpu / originals.length * 1000).toFixed(3);
    return {
      data: { objects: library.length, originals: originals.length, copiedByOurs: copied, originalBytes: bytes, uploadSeconds: +uploadSeconds.toFixed(1), phase: driver.phase, syncs: driver.syncs },
      ours: { seconds: +oursSeconds.toFixed(1), ...rate(oursSeconds), cpuSecondsPer1000Objects: cpuPer1000(oursCpu) },
      rcloneCopy: { seconds: +rclone.seconds.toFixed(1), ...rate(rclone.seconds), cpuSecondsPer1000Objects: cpuPer1000(rclone.cpuSeconds) },
      awsS3Sync: { seconds: +awsSync.seconds.toFixed(1), ...rate(awsSync.seconds), cpuSecondsPer1000Objects: cpuPer1000(awsSync.cpuSeconds) },
      ratios: { vsRclone: +(rclone.seconds / oursSeconds).toFixed(2), vsAwsS3Sync: +(awsSync.seconds / oursSeconds).toFixed(2), goal: '>= 1.0 (same objects and bytes, so objects/s and bytes/s ratios are equal)' },
      hookServerRss: { startMiB: +(rssStart / 1024).toFixed(1), maxSampledMiB: +(Math.max(...samples) / 1024).toFixed(1), peakMiB: +(rssPeak / 1024).toFixed(1), samples: samples.length, goal: 'flat, < 150 MiB' },
    };
  } finally {
    await moto.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('aws-copy.ts')) console.log(JSON.stringify(await benchAwsCopy(), null, 2));
