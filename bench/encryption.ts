// The cost of encryption at rest (docs/encryption.md): the same ~1.5 GB PostgreSQL database
// (1,000,000 rows with varied 1 KiB descriptions, as in bench/local-backup.ts) dumped by the real
// dump Job through the real hook server, with the project's KEK set on its BackupTenant and
// without, three times each, alternating. A local directory stands in for the bucket. Goal:
// encrypted ≤ 10% slower; size + age's overhead (16 bytes per 64 KiB chunk, plus a header).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { freePort, stopProcess, waitForHttp } from '../test/support/processes.ts';
import { MetacontrollerDriver } from '../test/support/driver.ts';
import { backupRequest } from '../test/support/resources.ts';
import { createSampleDatabase, dropDatabase, localPostgres } from '../demo/sample.ts';
import { API_VERSION } from '../hooks/contract/objects.ts';
import { seconds } from './measure.ts';

const ROWS = Number(process.env.LC2_BENCH_ROWS ?? 1_000_000);
// Alternating, so drift on a busy machine hits both alike.
const ORDER = [false, true, true, false, false, true];
const root = join(process.env.LC2_BENCH_DIR ?? tmpdir(), 'lc2-bench-encryption');
const buckets = join(root, 'buckets');

export async function benchEncryption(): Promise<Record<string, unknown>> {
  rmSync(root, { recursive: true, force: true });
  // The document library is not what is measured: one file, so the copy Job has something to copy.
  mkdirSync(join(buckets, 'liferay-dl', 'document_library', '20097'), { recursive: true });
  writeFileSync(join(buckets, 'liferay-dl', 'document_library', '20097', 'file.txt'), 'x');
  const db = 'lc2_bench_enc';
  createSampleDatabase(localPostgres, db, ROWS, 1024, 'varied');
  const dbBytes = Number(execFileSync('psql', ['-X', '-At', '-h', '127.0.0.1', '-U', 'postgres', '-d', db, '-c', `select pg_database_size('${db}')`], { encoding: 'utf8' }).trim());
  const recipient = await identityToRecipient(await generateX25519Identity());
  const tenant = { apiVersion: API_VERSION, kind: 'BackupTenant', metadata: { name: 'retail' }, spec: { namespaces: ['proj-retail-prd'], encryption: { keyVersion: 'v1', recipient } } };

  const port = await freePort();
  const hook = spawn(process.execPath, ['app/main.ts'], { env: { ...process.env, PORT: String(port), LC2_STORAGE_URL: `file://${buckets}`, LC2_LOG_LEVEL: 'error', LC2_TENANCY: 'off', LC2_ARCHIVE: 'off' }, stdio: 'ignore' });
  await waitForHttp(`http://127.0.0.1:${port}/healthz`);
  const runs: Array<{ encrypted: boolean; seconds: number; bytes: number }> = [];
  try {
    for (const [i, encrypted] of ORDER.entries()) {
      const br = backupRequest(`bench-enc-${i}`, {
        database: { engine: 'postgresql', type: 'dump', instanceId: '127.0.0.1:5432', databaseName: db, credentialsSecretRef: { name: 'db-credentials' } },
      });
      const driver = new MetacontrollerDriver(br, {
        hookUrl: () => `http://127.0.0.1:${port}`, syncPath: '/backuprequest/sync', secrets: { 'db-credentials': { username: 'postgres', password: '' } },
        ...(encrypted ? { related: () => ({ [`BackupTenant.${API_VERSION}`]: { retail: tenant } }) } : {}),
      });
      await driver.sync();
      const t0 = process.hrtime.bigint();
      await driver.runPendingJobs();
      const s = seconds(t0);
      await driver.runToCompletion();
      const status = driver.status as { phase?: string; database?: { sizeBytes: number; format: string } };
      if (status.phase !== 'Succeeded' || status.database?.format.endsWith('+age') !== encrypted) throw new Error(`run ${i}: ${JSON.stringify(status)}`);
      runs.push({ encrypted, seconds: +s.toFixed(2), bytes: status.database.sizeBytes });
    }
  } finally {
    await stopProcess(hook);
    dropDatabase(localPostgres, db);
    rmSync(root, { recursive: true, force: true });
  }
  const mean = (enc: boolean) => runs.filter((r) => r.encrypted === enc).reduce((n, r) => n + r.seconds, 0) / ORDER.filter((e) => e === enc).length;
  // The best run of each: on a shared machine, noise only ever adds time.
  const best = (enc: boolean) => Math.min(...runs.filter((r) => r.encrypted === enc).map((r) => r.seconds));
  return {
    data: { databaseBytes: dbBytes, rows: ROWS },
    runs,
    meanSeconds: { plain: +mean(false).toFixed(2), encrypted: +mean(true).toFixed(2) },
    bestSeconds: { plain: best(false), encrypted: best(true) },
    slowdownPercent: +((best(true) / best(false) - 1) * 100).toFixed(1),
    sizeOverheadBytes: runs.find((r) => r.encrypted)!.bytes - runs.find((r) => !r.encrypted)!.bytes,
    goal: 'slowdownPercent <= 10',
  };
}

if (process.argv[1]?.endsWith('encryption.ts')) console.log(JSON.stringify(await benchEncryption(), null, 2));
