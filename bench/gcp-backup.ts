// The GCP provider's cost per backup as the hook server sees it: a BackupRequest (Cloud SQL backup,
// SQL export, Storage Transfer job) of a 20,000-object library (LC2_BENCH_GCP_FILES), run by the
// real hook server (its own process, with the V8 options of images/hooks/Dockerfile; RSS sampled
// every 100 ms) against fake-gcs-server and the in-repo fakes of Cloud SQL Admin and Storage
// Transfer, synced back to back. Prints the Google API calls the hook made per sync (Cloud SQL,
// Storage Transfer and GCS, counted by the fakes and a counting proxy in front of GCS) for a small
// and the large library: the copy is Storage Transfer's, so the hook's calls per sync must not
// grow with the object count. Goal: O(1) calls per sync; hook RSS flat < 150 MiB.
import { spawn } from 'node:child_process';
import { createServer, request } from 'node:http';
import { freePort, stopProcess, waitForHttp } from '../test/support/processes.ts';
import { startFakeGcs } from '../test/support/fakeGcs.ts';
import { startFakeCloudSql } from '../test/support/fakeCloudSql.ts';
import { startFakeStorageTransfer } from '../test/support/fakeStorageTransfer.ts';
import { MetacontrollerDriver } from '../test/support/driver.ts';
import { backupRequest } from '../test/support/resources.ts';
import { sampleDocumentLibrary } from '../demo/sample.ts';
import { imageNodeOptions, kib, seconds } from './measure.ts';

const PROJECT = 'lc2-bench-project';

/** A forwarding proxy in front of fake-gcs-server that counts the hook's GCS requests. */
async function countingProxy(target: string): Promise<{ endpoint: string; count: () => number; close: () => void }> {
  const up = new URL(target);
  let n = 0;
  const server = createServer((req, res) => {
    n += 1;
    const out = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (r) => { res.writeHead(r.statusCode ?? 502, r.headers); r.pipe(res); });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  return { endpoint: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, count: () => n, close: () => { server.closeAllConnections(); server.close(); } };
}

async function oneBackup(files: number): Promise<Record<string, unknown>> {
  const gcs = await startFakeGcs();
  const sql = await startFakeCloudSql(gcs.storage, PROJECT);
  const sts = await startFakeStorageTransfer(gcs.storage);
  const proxy = await countingProxy(gcs.endpoint);
  try {
    for (const b of ['liferay-dl', 'lc2-backups']) await gcs.storage.createBucket(b);
    sql.addInstance('bench-db', 'POSTGRES_15');
    const library = sampleDocumentLibrary(Math.round(files / 1.9), (i) => 2_000 + (i % 13) * 1_500);
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < library.length; i += 64) {
      await Promise.all(library.slice(i, i + 64).map((f) => gcs.storage.bucket('liferay-dl').file(f.key).save(f.body, { resumable: false, validation: false })));
    }
    const uploadSeconds = seconds(t0);
    const port = await freePort();
    const hook = spawn(process.execPath, ['app/main.ts'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_OPTIONS: process.env.NODE_OPTIONS ?? imageNodeOptions(), PORT: String(port), LC2_LOG_LEVEL: 'error', LC2_TENANCY: 'off', LC2_ARCHIVE: 'off',
        LC2_GCP_PROJECT: PROJECT, LC2_GCP_SQLADMIN_ENDPOINT: `${sql.endpoint}/`, LC2_GCP_TRANSFER_ENDPOINT: sts.endpoint, LC2_GCP_STORAGE_ENDPOINT: proxy.endpoint },
      stdio: 'ignore',
    });
    await waitForHttp(`http://127.0.0.1:${port}/healthz`);
    const rssStart = kib(hook.pid!, 'VmRSS');
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(kib(hook.pid!, 'VmRSS')), 100);
    const driver = new MetacontrollerDriver(backupRequest('bench-gcp', {
      provider: 'gcp', database: { type: 'snapshot', instanceId: 'bench-db', export: {} },
    }), { hookUrl: () => `http://127.0.0.1:${port}`, syncPath: '/backuprequest/sync', secrets: {} });
    const calls = () => [...sql.received.values(), ...sts.received.values()].reduce((a, b) => a + b, 0) + proxy.count();
    const perSync: number[] = [];
    t0 = process.hrtime.bigint();
    while (driver.phase !== 'Succeeded' && driver.phase !== 'Failed' && driver.syncs < 5_000) {
      const before = calls();
      await driver.sync();
      perSync.push(calls() - before);
      await new Promise((r) => setTimeout(r, 50));
    }
    const wall = seconds(t0);
    clearInterval(sampler);
    const rssPeak = kib(hook.pid!, 'VmHWM');
    await stopProcess(hook);
    const total = perSync.reduce((a, b) => a + b, 0);
    return {
      objects: library.length, originals: library.filter((f) => !f.generated).length, uploadSeconds: +uploadSeconds.toFixed(1),
      phase: driver.phase, copied: (driver.status as { documentLibrary?: { objectCount: number } }).documentLibrary?.objectCount, backupSeconds: +wall.toFixed(1), syncs: driver.syncs,
      googleCalls: { total, perSyncMean: +(total / perSync.length).toFixed(2), perSyncMax: Math.max(...perSync), perObject: +(total / library.length).toFixed(4) },
      hookServerRss: {
        startMiB: +(rssStart / 1024).toFixed(1), maxSampledMiB: +(Math.max(...samples) / 1024).toFixed(1), peakMiB: +(rssPeak / 1024).toFixed(1), samples: samples.length,
        // Flat or growing: the largest sample in each quarter of the backup.
        maxByQuarterMiB: [0, 1, 2, 3].map((q) => +(Math.max(...samples.slice(Math.floor(q * samples.length / 4), Math.floor((q + 1) * samples.length / 4))) / 1024).toFixed(1)),
        goal: 'flat, < 150 MiB',
      },
    };
  } finally {
    proxy.close();
    await sts.close(); await sql.close(); await gcs.stop();
  }
}

export async function benchGcpBackup(): Promise<Record<string, unknown>> {
  const large = Number(process.env.LC2_BENCH_GCP_FILES ?? 20_000);
  return { small: await oneBackup(Math.max(200, Math.round(large / 10))), large: await oneBackup(large), goal: 'perSyncMax the same for both: O(1) Google calls per sync, not per object' };
}

if (process.argv[1]?.endsWith('gcp-backup.ts')) console.log(JSON.stringify(await benchGcpBackup(), null, 2));
