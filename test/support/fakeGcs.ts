// fake-gcs-server (github.com/fsouza/fake-gcs-server, built by scripts/bootstrap.sh from the Go
// module proxy into .cache/bin) on a free loopback port, in memory, plain HTTP: the GCS the GCP
// tests use through the real @google-cloud/storage client.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Storage } from '@google-cloud/storage';
import { freePort, stopProcess, waitForHttp } from './processes.ts';

export const FAKE_GCS_BIN = new URL('../../.cache/bin/fake-gcs-server', import.meta.url).pathname;

export interface FakeGcs { endpoint: string; storage: Storage; stop(): Promise<void> }

export async function startFakeGcs(): Promise<FakeGcs> {
  if (!existsSync(FAKE_GCS_BIN)) throw new Error(`${FAKE_GCS_BIN} is missing: run scripts/bootstrap.sh`);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(FAKE_GCS_BIN, ['-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), '-backend', 'memory',
    '-public-host', `127.0.0.1:${port}`, '-external-url', endpoint, '-log-level', 'error'], { stdio: 'ignore' });
  await waitForHttp(`${endpoint}/storage/v1/b`, 20_000);
  return { endpoint, storage: new Storage({ apiEndpoint: endpoint, projectId: 'lc2-test-project' }), stop: () => stopProcess(child) };
}

/** Every object under a prefix (name → bytes). */
export async function objectsUnder(storage: Storage, bucket: string, prefix: string): Promise<Map<string, Buffer>> {
  const [files] = await storage.bucket(bucket).getFiles({ prefix });
  const out = new Map<string, Buffer>();
  for (const f of files) out.set(f.name, (await f.download())[0]);
  return out;
}
