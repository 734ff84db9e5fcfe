// Hook server replicas sharing one backup history and one directory standing in for the buckets,
// as several Pods of the Deployment share the archive's PostgreSQL and the object store. A real
// local backup runs through them with the driver (each Job's real command), and /metrics is read
// from each: what the state-derived metrics tests and the Prometheus end-to-end test share.
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createApiApp, createApp } from '../../hooks/server/app.ts';
import { staticTokens } from '../../hooks/rest/router.ts';
import { backupShell, restoreShell } from '../../app/registry.ts';
import { connect, type Sql } from '../../hooks/archive/db.ts';
import { Archive } from '../../hooks/archive/store.ts';
import { FileObjectStore } from '../../providers/shared/storage/fileStore.ts';
import { trustRequest, type ServicePolicy } from '../../hooks/backup/sync.ts';
import { TEST_POLICY } from './inProcessHook.ts';
import type { LocalProviderConfig } from '../../providers/local/config.ts';
import { localPostgres, type SampleFile } from '../../demo/sample.ts';
import { MetacontrollerDriver } from './driver.ts';
import type { KubeObject } from '../../core/kube.ts';
import type { ObjectGroups } from '../../hooks/contract/types.ts';

/** REST API tokens of every replica's API listener: one for project retail, one for project outlet. */
export const API_TOKENS = { retail: 'retail-token-0123456789', outlet: 'outlet-token-0123456789' };

export interface Replicas {
  urls: string[];
  /** Each replica's REST API listener (its own port, as in a cluster). */
  apiUrls: string[];
  /** The directory whose sub-directories are the buckets. */
  buckets: string;
  /** Writes files into a bucket. */
  upload(bucket: string, files: readonly SampleFile[]): void;
  close(): Promise<void>;
}

export async function startReplicas(options: { count: number; archiveUrl?: string; policy?: ServicePolicy; metricsCacheMs?: number }): Promise<Replicas> {
  const buckets = mkdtempSync(join(tmpdir(), 'lc2-buckets-'));
  const store = new FileObjectStore(buckets);
  const local: LocalProviderConfig = { image: 'lc2-backup-tools:test', storage: { kind: 'file', root: buckets }, backoffLimit: 0, activeDeadlineSeconds: 600, transfers: 4 };
  const now = () => new Date().toISOString();
  const policy = options.policy ?? TEST_POLICY;
  const pglite = options.archiveUrl ? undefined : mkdtempSync(join(tmpdir(), 'lc2-pglite-'));
  const servers: Server[] = [];
  const sqls: Sql[] = [];
  const urls: string[] = [];
  const apiUrls: string[] = [];
  const listen = async (app: Parameters<typeof createServer>[1]) => {
    const server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  };
  const authenticate = staticTokens(JSON.stringify({ [API_TOKENS.retail]: ['retail'], [API_TOKENS.outlet]: ['outlet'] }));
  for (let i = 0; i < options.count; i += 1) {
    // PGlite is one process's database: replicas of a PGlite archive share its connection.
    const sql = sqls[0] && !options.archiveUrl ? sqls[0] : await connect(options.archiveUrl, pglite);
    if (!sqls.includes(sql)) sqls.push(sql);
    const archive = new Archive(sql);
    const app = createApp({
      backup: { ...backupShell({ local }, store, now, policy, archive), readParent: trustRequest }, restore: restoreShell({ local }, store, now, policy, archive),
      metricsCacheMs: options.metricsCacheMs ?? 0,
    });
    urls.push(await listen(app));
    apiUrls.push(await listen(createApiApp({ archive, authenticate })));
  }
  return {
    urls, apiUrls, buckets,
    upload: (bucket, files) => {
      for (const f of files) {
        const path = join(buckets, bucket, f.key);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, f.body);
      }
    },
    close: async () => {
      await Promise.all(servers.map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
      for (const sql of sqls) await sql.close();
    },
  };
}

export interface Sample { name: string; labels: Record<string, string>; value: number }

/** Prometheus' text format, the lines this test reads: `name{k="v",...} value`. */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

export async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(`${url}/metrics`);
  return parseMetrics(await res.text());
}

/** A dump of the machine's PostgreSQL database `name`, with the credentials Secret the drivers below resolve. */
export const postgresDump = (name: string) => ({ engine: 'postgresql' as const, type: 'dump' as const, instanceId: '127.0.0.1:5432', databaseName: name, credentialsSecretRef: { name: 'db-credentials' } });

/** Plays Metacontroller for one backup; every call goes to the next replica, so no replica sees a backup's whole life. */
export function roundRobinDriver(replicas: Replicas, br: KubeObject, related?: () => ObjectGroups, password = localPostgres.password): MetacontrollerDriver {
  let calls = 0;
  return new MetacontrollerDriver(br, {
    hookUrl: () => replicas.urls[calls++ % replicas.urls.length]!, syncPath: '/backuprequest/sync',
    secrets: { 'db-credentials': { username: localPostgres.user, password } }, ...(related ? { related } : {}),
  });
}
