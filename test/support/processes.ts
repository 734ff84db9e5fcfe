// Starting and stopping the real servers tests need (moto, the hook server in a child process).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitForHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try { const r = await fetch(url); if (r.status < 500) return; } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms: ${String(last)}`);
}

export interface S3Server { kind: 'moto' | 'minio'; endpoint: string; accessKeyId: string; secretAccessKey: string; stop(): Promise<void> }

/** The test server's keys as the default AWS credential chain reads them from the environment. */
export const credentialEnv = (s: S3Server): Record<string, string> => ({ AWS_ACCESS_KEY_ID: s.accessKeyId, AWS_SECRET_ACCESS_KEY: s.secretAccessKey });

/**
 * A real S3 server on a free loopback port: moto (preinstalled on the project's machines; it also
 * emulates RDS) or, where moto is missing, MinIO built by scripts/bootstrap.sh into .cache/bin.
 */
export async function startS3(): Promise<S3Server> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const minio = new URL('../../.cache/bin/minio', import.meta.url).pathname;
  if (!commandExists('moto_server') && existsSync(minio)) {
    const dir = mkdtempSync(join(tmpdir(), 'lc2-minio-'));
    const child = spawn(minio, ['server', '--quiet', '--address', `127.0.0.1:${port}`, dir], {
      stdio: 'ignore', env: { ...process.env, MINIO_ROOT_USER: 'lc2-test', MINIO_ROOT_PASSWORD: 'lc2-test-secret' },
    });
    await waitForHttp(`${endpoint}/minio/health/live`);
    return { kind: 'minio', endpoint, accessKeyId: 'lc2-test', secretAccessKey: 'lc2-test-secret', stop: async () => { await stopProcess(child); rmSync(dir, { recursive: true, force: true }); } };
  }
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  await waitForHttp(`${endpoint}/moto-api/`);
  return { kind: 'moto', endpoint, accessKeyId: 'test', secretAccessKey: 'test', stop: () => stopProcess(child) };
}

function commandExists(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, name)));
}

export function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode) { resolve(); return; }
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}
