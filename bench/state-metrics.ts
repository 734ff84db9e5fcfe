// The cost of one scrape's read of the backup state (hooks/archive/stateQueries.ts) over a large
// history on the machine's PostgreSQL: 200 projects x 3 environments, LC2_BENCH_STATE_ROWS finished
// backups (default 200,000) and 500 in flight. The scrape reads it at most every 10 s (cached).
import { freshArchive, psql } from './pg.ts';
import { readBackupState } from '../hooks/archive/stateQueries.ts';
import { refreshAllEnvironmentStates, refreshEnvironmentState } from '../hooks/archive/environmentState.ts';

const ROWS = Number(process.env.LC2_BENCH_STATE_ROWS ?? 200_000);
const DB = 'lc2_bench_state';

export async function benchStateMetrics(): Promise<Record<string, unknown>> {
  const { sql, archive, drop } = await freshArchive(DB);
  psql(DB, `insert into backup_history (uid, kind, namespace, name, backup_id, project_id, environment, provider, phase, reason, started_at, completed_at,
      duration_seconds, database_bytes, dl_objects, dl_bytes, total_bytes, source, interval_seconds)
    select 'u' || i, 'BackupRequest', 'ns-p' || (i % 200), 'b-' || i, 'b-' || i, 'p' || (i % 200), (array['prd','uat','dev'])[1 + i % 3], 'local',
      case when i % 17 = 0 then 'Failed' else 'Succeeded' end, case when i % 17 = 0 then 'JobBackoffLimitExceeded' else 'BackupSucceeded' end,
      timestamptz '2024-01-01' + (i || ' minutes')::interval, timestamptz '2024-01-01' + (i || ' minutes')::interval + interval '9 minutes',
      540, 1000000 + i, 100, 5000000, 6000000 + i, 'cluster', 86400
    from generate_series(1, ${ROWS}) i`);
  psql(DB, `insert into backup_in_flight (uid, kind, namespace, name, project_id, environment, provider, phase, phase_rank, phase_since, created_at, steps)
    select 'f' || i, 'BackupRequest', 'ns-p' || (i % 200), 'f-' || i, 'p' || (i % 200), (array['prd','uat','dev'])[1 + i % 3], 'local',
      (array['Queued','ExportInProgress','TransferInProgress'])[1 + i % 3], 1 + i % 3, now() - (i || ' seconds')::interval, now() - (i || ' seconds')::interval, '{}'
    from generate_series(1, 500) i`);
  psql(DB, 'analyze');
  // What migration 004 does once for an existing history, and what one archival costs.
  let t0 = Date.now();
  await refreshAllEnvironmentStates(sql);
  const backfillSeconds = (Date.now() - t0) / 1000;
  t0 = Date.now();
  for (let i = 0; i < 50; i += 1) await refreshEnvironmentState(sql, `p${i}`, 'prd');
  const refreshMs = (Date.now() - t0) / 50;
  const timings: number[] = [];
  let series = 0;
  for (let i = 0; i < 20; i += 1) {
    const start = process.hrtime.bigint();
    const s = await archive.read(readBackupState);
    timings.push(Number(process.hrtime.bigint() - start) / 1e6);
    series = Object.values(s).reduce((n, rows: unknown[]) => n + rows.length, 0); // one time series each, roughly
  }
  await sql.close();
  if (!process.env.LC2_BENCH_KEEP) drop();
  const sorted = [...timings].sort((a, b) => a - b);
  return { rows: ROWS, inFlight: 500, series, readMs: { p50: +sorted[10]!.toFixed(1), max: +sorted.at(-1)!.toFixed(1) }, cachedFor: '10 s', backfillSeconds, refreshOneEnvironmentMs: +refreshMs.toFixed(1) };
}

if (process.argv[1]?.endsWith('state-metrics.ts')) console.log(JSON.stringify(await benchStateMetrics(), null, 2));
