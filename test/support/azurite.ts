// Azurite (Microsoft's Blob emulator, the npm devDependency) on a free loopback port with a
// temporary store, for the Azure provider's tests. One account: Azurite's well-known development
// account and key (public, documented; not a secret).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { freePort, stopProcess, waitForHttp } from './processes.ts';

export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite { url: string; template: string; service: BlobServiceClient; stop(): Promise<void> }

export async function startAzurite(): Promise<Azurite> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lc2-azurite-'));
  const bin = new URL('../../node_modules/.bin/azurite-blob', import.meta.url).pathname;
  const child = spawn(process.execPath, [bin, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', dir, '--skipApiVersionCheck', '--silent', '--disableProductStyleUrl', '--disableTelemetry'], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  await waitForHttp(`${url}?comp=list`, 30_000);
  const service = new BlobServiceClient(url, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY));
  return {
    url, template: `http://127.0.0.1:${port}/{account}`, service,
    stop: async () => { await stopProcess(child); rmSync(dir, { recursive: true, force: true }); },
  };
}
