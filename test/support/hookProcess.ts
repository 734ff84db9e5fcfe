// The hook server as its own OS process (node app/main.ts), configured only by environment
// variables as in the cluster: what "two hook replicas" means in the tests.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, stopProcess, waitForHttp } from './processes.ts';

export interface HookProcess {
  url: string;
  stop(): Promise<void>;
  /** SIGKILL, as a crashed or evicted pod: nothing is finished or handed back. */
  kill(): Promise<void>;
}

export async function startHookProcess(env: Record<string, string>): Promise<HookProcess> {
  const port = await freePort();
  const main = fileURLToPath(new URL('../../app/main.ts', import.meta.url));
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: String(port), LC2_ARCHIVE: 'off', LC2_CONFIRM_DELETIONS: 'off', LC2_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, 20_000);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { url, stop: () => stopProcess(child), kill: async () => { child.kill('SIGKILL'); await exited; } };
}
