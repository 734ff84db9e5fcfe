// BackupSchedule sync cost (the pure decideSchedule) per schedule shape × outage since the last
// run × suspended or not: p50/p99 ms over repeated syncs (the clock advancing a minute each), and
// the first sync of each case. Goal: any schedule after any outage syncs in < 5 ms. Each case runs
// in its own worker with a time budget, so a pathological case is reported as timed out instead
// of stalling the run (`LC2_BENCH_SCHEDULE_BUDGET_MS`, default 3000; `LC2_BENCH_SCHEDULE_SYNCS`,
// default 2,000 syncs per case).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { decideSchedule } from '../hooks/schedule/machine.ts';
import type { BackupSchedule } from '../core/crd.ts';
import { backupRequest } from '../test/support/resources.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;
const SHAPES = [
  { shape: 'every minute', schedule: '* * * * *', timeZone: 'Europe/Berlin' },
  { shape: 'hourly', schedule: '0 * * * *', timeZone: 'Europe/Berlin' },
  { shape: 'daily 02:30', schedule: '30 2 * * *', timeZone: 'Europe/Berlin' },
  { shape: '29 February', schedule: '0 2 29 2 *', timeZone: 'Europe/Berlin' },
  { shape: 'every 5 min', schedule: '*/5 * * * *', timeZone: 'Australia/Lord_Howe' },
] as const;
const OUTAGES = [
  { outage: 'none', ms: MINUTE },
  { outage: '3 h', ms: 3 * 3_600_000 },
  { outage: '90 days', ms: 90 * DAY },
  { outage: '3 years', ms: 3 * 365 * DAY },
] as const;
const NOW = Date.parse('2026-11-23T02:00:30Z');

interface Case { shape: number; outage: number; suspended: boolean; syncs: number; budgetMs: number }
interface Result { shape: string; timeZone: string; outage: string; suspended: boolean; syncs: number; firstMs: number; p50ms: number; p99ms: number; timedOut?: boolean }

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const ms = (x: number) => +x.toFixed(3);

function runCase(c: Case): Result {
  const { shape, schedule, timeZone } = SHAPES[c.shape]!;
  const { outage, ms: gap } = OUTAGES[c.outage]!;
  const last = new Date(NOW - gap).toISOString();
  const parent: BackupSchedule = {
    apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupSchedule',
    metadata: { name: 'bench', namespace: 'proj-retail-prd', uid: 'bench-uid', generation: 1, creationTimestamp: last },
    spec: { schedule, timeZone, suspend: c.suspended, template: { spec: backupRequest('t').spec! } },
    status: { lastScheduleTime: last },
  };
  // Warm the code (JIT, the spec validator) on a schedule in another DST zone after a long outage,
  // as in a running server: the first measured sync still meets this zone's offsets uncached.
  const warm: BackupSchedule = { ...parent, spec: { ...parent.spec!, schedule: '*/7 * * * *', timeZone: 'America/New_York', suspend: false } };
  const warmUntil = performance.now() + 500; // bounded: a slow implementation gets fewer rounds
  for (let i = 0, at = NOW - 400 * DAY; i < 500 && performance.now() < warmUntil; i += 1, at += 3_600_000) {
    decideSchedule({ parent: { ...warm, status: { lastScheduleTime: new Date(at - (i % 2 ? 3_600_000 : 400 * DAY)).toISOString() } }, children: [], now: at });
  }
  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < c.syncs && (i === 0 || performance.now() - started < c.budgetMs); i += 1) {
    const t0 = performance.now();
    decideSchedule({ parent, children: [], now: NOW + i * MINUTE });
    times.push(performance.now() - t0);
  }
  const first = times[0]!;
  const sorted = [...times].sort((a, b) => a - b);
  return { shape, timeZone, outage, suspended: c.suspended, syncs: times.length, firstMs: ms(first), p50ms: ms(quantile(sorted, 0.5)), p99ms: ms(quantile(sorted, 0.99)) };
}

function inWorker(c: Case): Promise<Result> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: c });
    // A single sync can take minutes on a slow implementation: give up on the case, not the run.
    const timer = setTimeout(() => {
      void worker.terminate();
      const { shape, timeZone } = SHAPES[c.shape]!;
      resolve({ shape, timeZone, outage: OUTAGES[c.outage]!.outage, suspended: c.suspended, syncs: 0, firstMs: NaN, p50ms: NaN, p99ms: NaN, timedOut: true });
    }, c.budgetMs * 2 + 2000);
    worker.once('message', (r: Result) => { clearTimeout(timer); void worker.terminate(); resolve(r); });
    worker.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

export async function benchSchedule(): Promise<Record<string, unknown>> {
  const budgetMs = Number(process.env.LC2_BENCH_SCHEDULE_BUDGET_MS ?? 3000);
  const syncs = Number(process.env.LC2_BENCH_SCHEDULE_SYNCS ?? 2000);
  const results: Result[] = [];
  for (let shape = 0; shape < SHAPES.length; shape += 1) {
    for (let outage = 0; outage < OUTAGES.length; outage += 1) {
      for (const suspended of [false, true]) results.push(await inWorker({ shape, outage, suspended, syncs, budgetMs }));
    }
  }
  const worst = results.reduce((m, r) => Math.max(m, r.timedOut ? Infinity : Math.max(r.p99ms, r.firstMs)), 0);
  return {
    cases: results.map((r) => `${r.shape} (${r.timeZone}), outage ${r.outage}${r.suspended ? ', suspended' : ''}: ${r.timedOut ? `timed out (> ${budgetMs * 2 + 2000} ms)` : `p50 ${r.p50ms} ms, p99 ${r.p99ms} ms, first ${r.firstMs} ms, ${r.syncs} syncs`}`),
    worstMs: worst === Infinity ? 'timed out' : worst,
    goal: 'any schedule after any outage: < 5 ms per sync',
  };
}

if (!isMainThread && parentPort) parentPort.postMessage(runCase(workerData as Case));
else if (process.argv[1]?.endsWith('schedule.ts')) console.log(JSON.stringify(await benchSchedule(), null, 2));
