// The restore's database step, which is the RTO (docs/recovery-points.md): a ~1.5 GB database
// (1,000,000 DLFileEntry rows with varied 1 KiB descriptions, as in bench/encryption.ts, plus the
// secondary indexes a Liferay DLFileEntry has, so index builds count) dumped and restored by the real
// Jobs through the real hook server, a directory standing in for the bucket; in the same run
// `pg_dump -Fc > file` and `pg_restore -d` of that file. The restore Job reads the dump twice (the
// SHA-256 check, then pg_restore in one transaction from the stream).
// Goals (issue 15): restore ≥ 2× faster than pg_restore -d; dump ≥ 2.5× faster than pg_dump -Fc at ≤ its size.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { freePort, stopProcess, waitForHttp } from '../test/support/processes.ts';
import { MetacontrollerDriver } from '../test/support/driver.ts';
import { backupRequest, restoreRequest } from '../test/support/resources.ts';
import { createSampleDatabase, dropDatabase, localPostgres, sql } from '../demo/sample.ts';
import { seconds } from './measure.ts';

const ROWS = Number(process.env.LC2_BENCH_ROWS ?? 1_000_000);
const ROUNDS = Number(process.env.LC2_BENCH_ROUNDS ?? 2);
const root = join(process.env.LC2_BENCH_DIR ?? tmpdir(), 'lc2-bench-restore');
const buckets = join(root, 'buckets');
const secrets = { 'db-credentials': { username: 'postgres', password: '' } };
const pg = '-h 127.0.0.1 -U postgres';

/** A timed bash command (the baselines), in seconds. */
function time(command: string): number {
  const t0 = process.hrtime.bigint();
  execFileSync('bash', ['-c', command], { stdio: 'ignore' });
  return seconds(t0);
}

/** One dump and one restore by the Jobs through the hook server. */
async function ours(db: string, round: number): Promise<{ dumpSeconds: number; dumpBytes: number; restoreSeconds: number; restored: string }> {
  const port = await freePort();
  const hook = spawn(process.execPath, ['app/main.ts'], { env: { ...process.env, PORT: String(port), LC2_STORAGE_URL: `file://${buckets}`, LC2_LOG_LEVEL: 'error', LC2_TENANCY: 'off', LC2_ARCHIVE: 'off'}, stdio: 'ignore' });
  await waitForHttp(`http://127.0.0.1:${port}/healthz`);
  const hookUrl = () => `http://127.0.0.1:${port}`;
  try {
    const backup = new MetacontrollerDriver(backupRequest(`bench-restore-${round}`, {
      database: { engine: 'postgresql', type: 'dump', instanceId: '127.0.0.1:5432', databaseName: db, credentialsSecretRef: { name: 'db-credentials' } },
    }), { hookUrl, syncPath: '/backuprequest/sync', secrets });
    await backup.sync();
    let t0 = process.hrtime.bigint();
    await backup.runPendingJobs();
    const dumpSeconds = seconds(t0);
    await backup.runToCompletion();
    const status = backup.status as { phase?: string; manifest?: { key: string }; database?: { sizeBytes: number; format: string } };
    if (status.phase !== 'Succeeded' || !status.manifest) throw new Error(`backup: ${JSON.stringify(status)}`);

    const restored = `lc2_bench_restore_dst_${round}`;
    dropDatabase(localPostgres, restored);
    const restore = new MetacontrollerDriver(restoreRequest(`bench-restore-r-${round}`, {
      source: { manifest: { bucket: 'lc2-backups', key: status.manifest.key } },
      database: { instanceId: '127.0.0.1:5432', databaseName: restored, credentialsSecretRef: { name: 'db-credentials' } },
      documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: `r${round}/document_library` },
    }), { hookUrl, syncPath: '/restorerequest/sync', secrets });
    await restore.sync();
    t0 = process.hrtime.bigint();
    await restore.runPendingJobs();
    const restoreSeconds = seconds(t0);
    const phase = await restore.runToCompletion();
    if (phase !== 'Succeeded') throw new Error(`restore: ${JSON.stringify(restore.status)}`);
    return { dumpSeconds, dumpBytes: status.database!.sizeBytes, restoreSeconds, restored };
  } finally {
    await stopProcess(hook);
  }
}

/** Rows and index definitions: the same after every restore, or the figures mean nothing. */
const shape = (db: string) => sql(localPostgres, db, "select (select count(*) from DLFileEntry) || '/' || (select count(*) from DLFileVersion) || '/' || (select string_agg(indexdef, ';' order by indexname) from pg_indexes where schemaname = 'public')");

const OURS = 'lc2 dump and restore Jobs';

export async function benchRestore(): Promise<Record<string, unknown>> {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(buckets, 'liferay-dl', 'document_library', '20097'), { recursive: true });
  mkdirSync(join(buckets, 'restored-dl'), { recursive: true });
  writeFileSync(join(buckets, 'liferay-dl', 'document_library', '20097', 'file.txt'), 'x');
  const db = 'lc2_bench_restore';
  let t0 = process.hrtime.bigint();
  createSampleDatabase(localPostgres, db, ROWS, 1024, 'varied');
  // Secondary indexes of Liferay's DLFileEntry (portal-impl indexes.sql: IX_... on group/folder/name, title, company, mime type).
  sql(localPostgres, db, `
    create unique index ix_dlfileentry_g_f_n on DLFileEntry (groupId, folderId, name);
    create index ix_dlfileentry_g_f_t on DLFileEntry (groupId, folderId, title);
    create index ix_dlfileentry_c on DLFileEntry (companyId);
    create index ix_dlfileentry_mime on DLFileEntry (mimeType);`);
  sql(localPostgres, db, 'vacuum analyze');
  const dbBytes = Number(sql(localPostgres, db, `select pg_database_size('${db}')`));
  const setupSeconds = seconds(t0);
  const expected = shape(db);

  const plainDump = join(root, 'plain.dump');
  const runs: Array<Record<string, number | string>> = [];
  try {
    for (let round = 0; round < ROUNDS; round += 1) {
      const plainDumpSeconds = time(`pg_dump -Fc ${pg} -d ${db} > ${plainDump}`);
      const plainRestored = `lc2_bench_restore_plain_${round}`;
      dropDatabase(localPostgres, plainRestored);
      const plainRestoreSeconds = time(`createdb ${pg} ${plainRestored} && pg_restore ${pg} -d ${plainRestored} ${plainDump}`);
      if (shape(plainRestored) !== expected) throw new Error('pg_restore restored another database');
      dropDatabase(localPostgres, plainRestored);
      runs.push({ tool: 'pg_dump -Fc / pg_restore -d', round, dumpSeconds: +plainDumpSeconds.toFixed(2), dumpBytes: statSync(plainDump).size, restoreSeconds: +plainRestoreSeconds.toFixed(2) });
      const r = await ours(db, round);
      if (shape(r.restored) !== expected) throw new Error('the restore Job restored another database');
      dropDatabase(localPostgres, r.restored);
      runs.push({ tool: OURS, round, dumpSeconds: +r.dumpSeconds.toFixed(2), dumpBytes: r.dumpBytes, restoreSeconds: +r.restoreSeconds.toFixed(2) });
      rmSync(join(buckets, 'lc2-backups'), { recursive: true, force: true });
    }
  } finally {
    dropDatabase(localPostgres, db);
    rmSync(root, { recursive: true, force: true });
  }
  // The best run of each tool: on a shared machine, noise only ever adds time.
  const best = (tool: string, field: 'dumpSeconds' | 'restoreSeconds') => Math.min(...runs.filter((r) => r.tool === tool).map((r) => Number(r[field])));
  const plain = 'pg_dump -Fc / pg_restore -d';
  const plainBytes = Number(runs.find((r) => r.tool === plain)!.dumpBytes);
  return {
    data: { databaseBytes: dbBytes, rows: ROWS, setupSeconds: +setupSeconds.toFixed(1) },
    runs,
    versusPlain: {
      restoreSpeedup: +(best(plain, 'restoreSeconds') / best(OURS, 'restoreSeconds')).toFixed(2),
      dumpSpeedup: +(best(plain, 'dumpSeconds') / best(OURS, 'dumpSeconds')).toFixed(2),
      sizeRatio: +(Number(runs.find((r) => r.tool === OURS)!.dumpBytes) / plainBytes).toFixed(3),
    },
    goal: 'restoreSpeedup >= 2; dumpSpeedup >= 2.5 at sizeRatio <= 1',
  };
}

if (process.argv[1]?.endsWith('restore.ts')) console.log(JSON.stringify(await benchRestore(), null, 2));
