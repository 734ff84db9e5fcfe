// Local backup of a ~1 GB PostgreSQL database and a ~2 GB document library, through the real hook
// server (its own process, RSS sampled) and the real Jobs, each step compared in the same run with
// the plain tool: `pg_dump -Fc > file` for the dump, `rclone copy` with the same filters for the
// document library. A local directory stands in for the buckets (on moto, S3 timings measure moto).
// Goals: dump ≥ 2.5× faster with an artifact no larger; DL ≥ 0.9× plain rclone; hook RSS flat < 150 MB.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { freePort, stopProcess, waitForHttp } from '../test/support/processes.ts';
import { MetacontrollerDriver } from '../test/support/driver.ts';
import { backupRequest } from '../test/support/resources.ts';
import { createSampleDatabase, dropDatabase, localPostgres, sampleDocumentLibrary } from '../demo/sample.ts';
import { excludePatterns } from '../core/exclusions.ts';
import { kib, seconds } from './measure.ts';

const ROWS = Number(process.env.LC2_BENCH_ROWS ?? 1_000_000);
const DL_FILES = Number(process.env.LC2_BENCH_DL_FILES ?? 2000);
const root = join(process.env.LC2_BENCH_DIR ?? tmpdir(), 'lc2-bench-backup');
const buckets = join(root, 'buckets');

export async function benchLocalBackup(): Promise<Record<string, unknown>> {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(buckets, { recursive: true });
  const db = 'lc2_bench_1g';
  let t0 = process.hrtime.bigint();
  createSampleDatabase(localPostgres, db, ROWS, 1024, 'varied');
  const dbBytes = Number(execFileSync('psql', ['-X', '-At', '-h', '127.0.0.1', '-U', 'postgres', '-d', db, '-c', `select pg_database_size('${db}')`], { encoding: 'utf8' }).trim());
  const library = sampleDocumentLibrary(DL_FILES, (i) => 1_000_000 + (i % 97) * 1024);
  for (const f of library) {
    const p = join(buckets, 'liferay-dl', f.key);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.body);
  }
  const dlBytes = library.reduce((n, f) => n + f.body.length, 0);
  const setupSeconds = seconds(t0);

  // Baseline dump: plain pg_dump custom format (its built-in zlib), to a file.
  const plainDump = join(root, 'plain.dump');
  t0 = process.hrtime.bigint();
  execFileSync('bash', ['-c', `pg_dump -Fc -h 127.0.0.1 -U postgres -d ${db} > ${plainDump}`]);
  const plainDumpSeconds = seconds(t0);
  const plainDumpBytes = statSync(plainDump).size;

  // The hook server in its own process, RSS sampled every 50 ms while the backup runs.
  const port = await freePort();
  const hook = spawn(process.execPath, ['app/main.ts'], { env: { ...process.env, PORT: String(port), LC2_STORAGE_URL: `file://${buckets}`, LC2_LOG_LEVEL: 'error', LC2_TENANCY: 'off', LC2_ARCHIVE: 'off' }, stdio: 'ignore' });
  await waitForHttp(`http://127.0.0.1:${port}/healthz`);
  const rssStart = kib(hook.pid!, 'VmRSS');
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(kib(hook.pid!, 'VmRSS')), 50);

  const br = backupRequest('bench-1g', {
    database: { engine: 'postgresql', type: 'dump', instanceId: '127.0.0.1:5432', databaseName: db, credentialsSecretRef: { name: 'db-credentials' } },
  });
  const driver = new MetacontrollerDriver(br, { hookUrl: () => `http://127.0.0.1:${port}`, syncPath: '/backuprequest/sync', secrets: { 'db-credentials': { username: 'postgres', password: '' } } });
  await driver.sync();
  t0 = process.hrtime.bigint();
  await driver.runPendingJobs();
  const dumpSeconds = seconds(t0);
  await driver.sync();
  t0 = process.hrtime.bigint();
  await driver.runPendingJobs();
  const dlSeconds = seconds(t0);
  const phase = await driver.runToCompletion();
  clearInterval(sampler);
  const rssPeak = kib(hook.pid!, 'VmHWM');
  await stopProcess(hook);
  const status = driver.status as { database?: { sizeBytes: number }; documentLibrary?: { objectCount: number; totalBytes: number } };

  // Baseline DL: plain rclone copy with the same filters, directory to directory.
  const excludes = join(root, 'excludes.txt');
  writeFileSync(excludes, `${excludePatterns(true, []).join('\n')}\n`);
  t0 = process.hrtime.bigint();
  execFileSync('rclone', ['copy', join(buckets, 'liferay-dl', 'document_library'), join(root, 'plain-dl'), '--exclude-from', excludes, '--transfers', '32', '--checkers', '32'], { env: { PATH: process.env.PATH, HOME: root } });
  const plainDlSeconds = seconds(t0);

  dropDatabase(localPostgres, db);
  rmSync(root, { recursive: true, force: true });
  return {
    phase,
    data: { databaseBytes: dbBytes, rows: ROWS, documentLibraryBytes: dlBytes, documentLibraryFiles: library.length, originals: status.documentLibrary?.objectCount, setupSeconds: +setupSeconds.toFixed(1) },
    dump: {
      plainPgDumpFc: { seconds: +plainDumpSeconds.toFixed(2), bytes: plainDumpBytes },
      lc2DumpJob: { seconds: +dumpSeconds.toFixed(2), bytes: status.database?.sizeBytes },
      speedup: +(plainDumpSeconds / dumpSeconds).toFixed(2),
      sizeRatio: +((status.database?.sizeBytes ?? 0) / plainDumpBytes).toFixed(3),
      goal: 'speedup >= 2.5, sizeRatio <= 1',
    },
    documentLibrary: {
      plainRcloneCopy: { seconds: +plainDlSeconds.toFixed(2) },
      lc2CopyJob: { seconds: +dlSeconds.toFixed(2), bytes: status.documentLibrary?.totalBytes },
      ratio: +(plainDlSeconds / dlSeconds).toFixed(2),
      goal: 'ratio >= 0.9 (the Job also lists the copy to count it)',
    },
    hookServerRss: { startMiB: +(rssStart / 1024).toFixed(1), maxSampledMiB: +(Math.max(...samples) / 1024).toFixed(1), peakMiB: +(rssPeak / 1024).toFixed(1), samples: samples.length, goal: 'flat, < 150 MiB' },
  };
}

if (process.argv[1]?.endsWith('local-backup.ts')) console.log(JSON.stringify(await benchLocalBackup(), null, 2));
