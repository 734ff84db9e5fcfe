// A test environment of real parts: moto S3, the hook server (in this process, restartable), the
// machine's PostgreSQL and MariaDB, and the sample Liferay environment.
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createApp } from '../../hooks/server/app.ts';
import { backupShell, restoreShell } from '../../app/registry.ts';
import { TEST_POLICY } from './inProcessHook.ts';
import { trustRequest, type ReadParent, type ReadSchedule } from '../../hooks/backup/sync.ts';
import { S3ObjectStore } from '../../providers/shared/storage/s3Store.ts';
import type { ObjectStore } from '../../core/provider.ts';
import type { LocalProviderConfig } from '../../providers/local/config.ts';
import { startS3, type S3Server } from './processes.ts';
import type { SampleFile } from '../../demo/sample.ts';


export const uniqueName = (prefix: string): string => `${prefix}_${randomBytes(4).toString('hex')}`;
export const uid = (): string => {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/** Wraps a store and counts writes per key (exactly-once assertions). */
export class CountingStore implements ObjectStore {
  readonly puts = new Map<string, number>();
  private readonly inner: ObjectStore;
  constructor(inner: ObjectStore) { this.inner = inner; }
  get(b: string, k: string, m?: number) { return this.inner.get(b, k, m); }
  head(b: string, k: string) { return this.inner.head(b, k); }
  list(b: string, p: string, a?: string, l?: number) { return this.inner.list(b, p, a, l); }
  deleteMany(b: string, k: string[]) { return this.inner.deleteMany(b, k); }
  sha256(b: string, k: string) { return this.inner.sha256(b, k); }
  async put(b: string, k: string, body: string, t: string) { this.puts.set(`${b}/${k}`, (this.puts.get(`${b}/${k}`) ?? 0) + 1); await this.inner.put(b, k, body, t); }
}

export interface TestEnvOptions {
  /** The S3 server to run against (default startS3: moto, or MinIO where moto is missing). */
  startS3?: () => Promise<S3Server>;
}

export class TestEnv {
  s3server!: S3Server;
  s3!: S3Client;
  store!: CountingStore;
  local!: LocalProviderConfig;
  /** How the hook confirms a parent before deleting data (the kube e2e gives it the real API server). */
  readParent: ReadParent = trustRequest;
  /** How the hook confirms a scheduled backup's schedule (unset: scheduled backups keep their data). */
  readSchedule: ReadSchedule | undefined;
  private server: Server | undefined;
  private port = 0;
  hookStarts = 0;
  private readonly options: TestEnvOptions;
  constructor(options: TestEnvOptions = {}) { this.options = options; }

  async start(): Promise<void> {
    this.s3server = await (this.options.startS3 ?? startS3)();
    const { endpoint, accessKeyId, secretAccessKey } = this.s3server;
    // The hook's S3 client takes its credentials from the default AWS chain, as in a cluster.
    process.env.AWS_ACCESS_KEY_ID = accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = secretAccessKey;
    process.env.AWS_REGION = 'us-east-1';
    this.s3 = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey } });
    this.store = new CountingStore(new S3ObjectStore({ endpoint, region: 'us-east-1' }));
    this.local = {
      image: 'lc2-backup-tools:test',
      storage: { kind: 's3', endpoint, region: 'us-east-1', secretName: 'lc2-storage', accessKeyIdKey: 'accessKeyId', secretAccessKeyKey: 'secretAccessKey' },
      backoffLimit: 1, activeDeadlineSeconds: 3600, transfers: 8,
    };
    await this.startHook();
  }

  async startHook(): Promise<void> {
    const settings = { local: this.local };
    const now = () => new Date().toISOString();
    const app = createApp({ backup: { ...backupShell(settings, this.store, now, TEST_POLICY), readParent: this.readParent, ...(this.readSchedule ? { readSchedule: this.readSchedule } : {}) }, restore: restoreShell(settings, this.store, now, TEST_POLICY) });
    this.server = createServer(app);
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    this.hookStarts += 1;
  }

  async restartHook(): Promise<void> {
    await this.stopHook();
    await this.startHook();
  }

  async stopHook(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); });
  }

  hookUrl = (): string => `http://127.0.0.1:${this.port}`;

  async stop(): Promise<void> {
    await this.stopHook();
    await this.s3server?.stop();
  }

  async createBucket(name: string): Promise<void> { await this.s3.send(new CreateBucketCommand({ Bucket: name })); }

  async upload(bucket: string, files: SampleFile[]): Promise<void> {
    for (let i = 0; i < files.length; i += 16) {
      await Promise.all(files.slice(i, i + 16).map((f) => this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: f.key, Body: f.body }))));
    }
  }

  async read(bucket: string, key: string): Promise<Buffer> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  }

  async keys(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      keys.push(...(out.Contents ?? []).map((o) => o.Key!));
      token = out.NextContinuationToken;
    } while (token);
    return keys.sort();
  }

  /** The namespace's Secrets: the database's, and lc2-storage with `storage` (default: the hook's own key). */
  secrets(db: { user: string; password: string }, storage: { accessKeyId: string; secretAccessKey: string } = this.s3server): Record<string, Record<string, string>> {
    const { accessKeyId, secretAccessKey } = storage;
    return { 'db-credentials': { username: db.user, password: db.password }, 'lc2-storage': { accessKeyId, secretAccessKey } };
  }
}
