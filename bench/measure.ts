// What the benchmarks measure with: wall time, a process's RSS and CPU from /proc, a command's own
// CPU time, and the V8 options the hook image ships with.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** A process's current (VmRSS) or peak (VmHWM) resident memory, in KiB. */
export const kib = (pid: number, field: 'VmRSS' | 'VmHWM') => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? 0);

/** utime + stime of a process, in seconds (clock ticks of 1/100 s). */
export const cpuOf = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) / 100; };

/** The hook runs with the V8 options its image sets, so the RSS measured is the one that ships. */
export const imageNodeOptions = () => readFileSync(new URL('../images/hooks/Dockerfile', import.meta.url), 'utf8').match(/NODE_OPTIONS="([^"]*)"/)?.[1] ?? '';

/** Runs a command through bash and returns its wall time and its children's CPU time (bash `times`). */
export function timed(command: string, env: NodeJS.ProcessEnv): { seconds: number; cpuSeconds: number } {
  const t0 = process.hrtime.bigint();
  const out = execFileSync('bash', ['-c', `${command} >/dev/null 2>&1; times`], { env, encoding: 'utf8' });
  const wall = seconds(t0);
  const child = out.trim().split('\n').pop()!.trim().split(/\s+/).map((t) => { const m = t.match(/(\d+)m([\d.]+)s/); return m ? Number(m[1]) * 60 + Number(m[2]) : 0; });
  return { seconds: wall, cpuSeconds: (child[0] ?? 0) + (child[1] ?? 0) };
}
