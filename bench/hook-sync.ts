// Hook sync throughput and latency for an in-progress BackupRequest (its dump Job running): the hook
// server pinned to core 0, wrk (Debian package) on core 1, 16 connections (saturation) and 5 (Metacontroller's
// default --workers per controller). For scale, the same wrk
// run against a bare node:http server answering {"ok":true} on the same core, and the pure decision
// alone (no HTTP). Goal: ≥ 3,000 syncs/s and p99 < 10 ms.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopProcess, waitForHttp } from '../test/support/processes.ts';
import { backupRequest } from '../test/support/resources.ts';
import { decideBackup } from '../hooks/backup/machine.ts';
import { localBackupProblems, localBackupSteps } from '../providers/local/backup.ts';

const work = mkdtempSync(join(tmpdir(), 'lc2-bench-'));

function wrk(url: string, seconds: number, script?: string, connections = 16): { rps: number; p50: number; p99: number } {
  const out = execFileSync('taskset', ['-c', '1', 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...(script ? ['-s', script] : []), url], { encoding: 'utf8' });
  const ms = (label: string) => {
    const m = out.match(new RegExp(`${label}%\\s+([\\d.]+)(us|ms|s)`));
    if (!m) return NaN;
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  return { rps: Math.round(Number(out.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? NaN)), p50: ms('50'), p99: ms('99') };
}

async function serve(args: string[], env: NodeJS.ProcessEnv, health: string) {
  const child = spawn('taskset', ['-c', '0', process.execPath, ...args], { env, stdio: 'ignore' });
  await waitForHttp(health);
  return child;
}

export async function benchHookSync(seconds = 10): Promise<Record<string, unknown>> {
  const port = await freePort();
  const hook = await serve(['app/main.ts'], { ...process.env, PORT: String(port), LC2_STORAGE_URL: `file://${work}`, LC2_LOG_LEVEL: 'error', LC2_TENANCY: 'off', LC2_ARCHIVE: 'off' }, `http://127.0.0.1:${port}/healthz`);
  const url = `http://127.0.0.1:${port}/backuprequest/sync`;
  const first = await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ parent: backupRequest('bench'), children: {} }) })).json() as { status: object; children: Array<{ metadata: { name: string } }> };
  const job = { ...first.children[0]!, status: { active: 1 } };
  const body = JSON.stringify({ parent: { ...backupRequest('bench'), status: first.status }, children: { 'Job.batch/v1': { [`proj-retail-prd/${job.metadata.name}`]: job } }, related: {}, finalizing: false });
  const script = join(work, 'post.lua');
  writeFileSync(script, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(body)}\n`);
  wrk(url, 2, script); // warm-up (JIT)
  const hookFigures = wrk(url, seconds, script);
  // Metacontroller calls one controller's hook from --workers (default 5) goroutines at most.
  const hookAtWorkers = wrk(url, seconds, script, 5);
  await stopProcess(hook);

  const barePort = await freePort();
  const bareFile = join(work, 'bare.mjs');
  writeFileSync(bareFile, `import { createServer } from 'node:http';\ncreateServer((q, s) => { q.resume(); q.on('end', () => { s.writeHead(200, {'content-type': 'application/json'}); s.end('{"ok":true}'); }); }).listen(${barePort});\n`);
  const bare = await serve([bareFile], process.env, `http://127.0.0.1:${barePort}/`);
  wrk(`http://127.0.0.1:${barePort}/`, 2);
  const bareFigures = wrk(`http://127.0.0.1:${barePort}/`, seconds);
  await stopProcess(bare);

  const config = { image: 'x', storage: { kind: 'file' as const, root: work }, backoffLimit: 1, activeDeadlineSeconds: 60, transfers: 1 };
  const planner = { problems: localBackupProblems, steps: (ctx: Parameters<typeof localBackupSteps>[0]) => localBackupSteps(ctx, config) };
  const parent = { ...backupRequest('bench'), status: first.status };
  const n = 20_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += 1) decideBackup({ parent, existingChildren: new Set([job.metadata.name]), planner, observations: { steps: { export: { state: 'running' } } }, now: '2026-11-23T02:00:00Z' });
  const decideUs = Number(process.hrtime.bigint() - t0) / n / 1000;

  return {
    hook: { connections: 16, syncsPerSecond: hookFigures.rps, p50ms: hookFigures.p50, p99ms: hookFigures.p99, requestBytes: body.length },
    hookAtMetacontrollerWorkers: { connections: 5, syncsPerSecond: hookAtWorkers.rps, p50ms: hookAtWorkers.p50, p99ms: hookAtWorkers.p99 },
    bareNodeHttpSameMachine: { requestsPerSecond: bareFigures.rps, p50ms: bareFigures.p50, p99ms: bareFigures.p99 },
    hookVsBareNode: +(hookFigures.rps / bareFigures.rps).toFixed(2),
    pureDecision: { microsecondsPerSync: +decideUs.toFixed(1), syncsPerSecondOneCore: Math.round(1e6 / decideUs) },
    goal: '>= 3000 syncs/s, p99 < 10 ms',
  };
}

if (process.argv[1]?.endsWith('hook-sync.ts')) console.log(JSON.stringify(await benchHookSync(Number(process.argv[2] ?? 10)), null, 2));
