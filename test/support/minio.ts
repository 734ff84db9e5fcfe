// MinIO for tests that need an S3 server which ENFORCES policies (moto accepts any key for
// anything): a fresh server on a free loopback port with a temporary data directory and random
// root credentials, and MinIO's own client mc for the admin steps an operator runs (docs/deploy.md:
// `mc admin policy create`, `mc admin user add`, `mc admin policy attach`). Both binaries are built
// by scripts/bootstrap.sh into .cache/bin. No secret is ever printed or put on a command line.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopProcess, waitForHttp, type S3Server } from './processes.ts';

export const MINIO_BIN = new URL('../../.cache/bin/minio', import.meta.url).pathname;
export const MC_BIN = new URL('../../.cache/bin/mc', import.meta.url).pathname;

/** Why MinIO tests cannot run here (a skip reason), or undefined when both binaries are built. */
export function minioMissing(): string | undefined {
  const missing = [MINIO_BIN, MC_BIN].filter((p) => !existsSync(p));
  return missing.length ? `${missing.join(' and ')} not built: run scripts/bootstrap.sh (builds MinIO and mc from the Go module proxy)` : undefined;
}

export interface StorageKey { accessKeyId: string; secretAccessKey: string }

export interface MinioServer extends S3Server {
  kind: 'minio';
  /**
   * What an operator does for a project: create the canned policy `lc2-project-<projectId>`, a user
   * with a new random key, and attach the policy to it. Returns the user's key.
   */
  addProjectUser(projectId: string, policy: object): Promise<StorageKey>;
}

export async function startMinio(): Promise<MinioServer> {
  const reason = minioMissing();
  if (reason) throw new Error(reason);
  const dir = mkdtempSync(join(tmpdir(), 'lc2-minio-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  const [port, consolePort] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${port}`;
  const root: StorageKey = { accessKeyId: `lc2-root-${randomBytes(4).toString('hex')}`, secretAccessKey: randomBytes(24).toString('hex') };
  const child = spawn(MINIO_BIN, ['server', '--quiet', '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, data], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, MINIO_ROOT_USER: root.accessKeyId, MINIO_ROOT_PASSWORD: root.secretAccessKey, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off' },
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
  const stop = async () => { await stopProcess(child); rmSync(dir, { recursive: true, force: true }); };
  let onExit: ((code: number | null) => void) | undefined;
  try {
    await Promise.race([
      waitForHttp(`${endpoint}/minio/health/live`),
      new Promise<never>((_, reject) => { onExit = (code) => reject(new Error(`minio exited with ${code}: ${log}`)); child.once('exit', onExit); }),
    ]);
  } catch (e) { await stop(); throw e; } finally { if (onExit) child.off('exit', onExit); }

  // mc reads the alias, root key included, from MC_HOST_<alias> in its environment (not argv).
  const mcEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, MC_CONFIG_DIR: join(dir, 'mc'),
    MC_HOST_lc2: `http://${encodeURIComponent(root.accessKeyId)}:${encodeURIComponent(root.secretAccessKey)}@127.0.0.1:${port}`,
  };
  const mc = (args: string[], stdin = ''): Promise<void> => new Promise((resolve, reject) => {
    const p = spawn(MC_BIN, ['--no-color', ...args], { env: mcEnv, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`mc ${args.slice(0, 3).join(' ')} failed (${code}): ${err.trim()}`))));
    p.stdin!.end(stdin);
  });

  return {
    kind: 'minio', endpoint, ...root, stop,
    async addProjectUser(projectId, policy) {
      const name = `lc2-project-${projectId}`;
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify(policy));
      const key: StorageKey = { accessKeyId: `${name}-${randomBytes(3).toString('hex')}`, secretAccessKey: randomBytes(24).toString('hex') };
      await mc(['admin', 'policy', 'create', 'lc2', name, file]);
      // The secret goes on stdin, as `mc admin user add ALIAS USER` then reads it.
      await mc(['admin', 'user', 'add', 'lc2', key.accessKeyId], `${key.secretAccessKey}\n`);
      await mc(['admin', 'policy', 'attach', 'lc2', name, '--user', key.accessKeyId]);
      return key;
    },
  };
}
