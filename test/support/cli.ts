// The CLI under test: run() in this process with captured streams, an injected clock and a quick
// poll (so --wait can be driven by status patches from the test), or the real executable.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import { run } from '../../cli/main.ts';

export interface CliResult { code: number; stdout: string; stderr: string }

export const ROOT = new URL('../..', import.meta.url).pathname;

export async function cli(argv: string[], opts: { env?: NodeJS.ProcessEnv; now?: Date | (() => Date); prog?: string; onErr?: (line: string) => void } = {}): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const now = opts.now;
  const code = await run(argv, {
    out: (s) => out.push(s), err: (s) => { err.push(s); opts.onErr?.(s); },
    env: opts.env ?? { HOME: '/nonexistent' }, now: typeof now === 'function' ? now : () => now ?? new Date(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)), prog: opts.prog ?? 'kubectl lc2', pollMs: 50,
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** The real executable (a child process) with Node 22 first on PATH, as npm puts it there. */
export async function exec(file: string, argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const path = [dirname(process.execPath), `${ROOT}bin`, process.env.PATH ?? ''].join(':');
  try {
    const { stdout, stderr } = await promisify(execFile)(file, argv, { cwd: ROOT, env: { ...process.env, ...env, PATH: path } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

/** Compares with test/golden/cli/<name>; UPDATE_GOLDEN=1 rewrites it (review the diff). */
export function golden(name: string, actual: string): void {
  const file = `${ROOT}test/golden/cli/${name}`;
  const text = actual.endsWith('\n') ? actual : `${actual}\n`;
  if (process.env.UPDATE_GOLDEN === '1') { writeFileSync(file, text); return; }
  assert.ok(existsSync(file), `golden ${name} is missing: run with UPDATE_GOLDEN=1 and review it`);
  assert.equal(text, readFileSync(file, 'utf8'), `golden ${name} differs (UPDATE_GOLDEN=1 rewrites it)`);
}
