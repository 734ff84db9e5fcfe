// A real Prometheus (Debian's prometheus package) on a free loopback port, scraping the given
// targets every second and evaluating the given rule files every second, with its HTTP API.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopProcess, waitForHttp } from './processes.ts';

export interface PromSeries { metric: Record<string, string>; value?: [number, string]; values?: Array<[number, string]> }
export interface PromAlert { labels: Record<string, string>; annotations: Record<string, string>; state: string }

export interface Prometheus {
  url: string;
  /** An instant query; throws on a parse or evaluation error. */
  query(expr: string): Promise<PromSeries[]>;
  /** A range query from `start` (seconds) to now, one point a second (and one past now: the newest scrape is never between two points). */
  queryRange(expr: string, start: number): Promise<PromSeries[]>;
  alerts(): Promise<PromAlert[]>;
  rules(): Promise<Array<{ name: string; health: string; lastError?: string }>>;
  /** Polls `check` every 250 ms until it returns a value (or throws after timeoutMs). */
  until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

export async function startPrometheus(targets: string[], ruleFiles: string[]): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'lc2-prometheus-'));
  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify({
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: ruleFiles,
    scrape_configs: [{ job_name: 'lc2-backup-hooks', static_configs: [{ targets }] }],
  }));
  const child = spawn('prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => { stderr = (stderr + b.toString()).slice(-4000); });
  const url = `http://127.0.0.1:${port}`;
  try { await waitForHttp(`${url}/-/ready`); } catch (e) { await stopProcess(child); throw new Error(`prometheus did not start: ${stderr || String(e)}`); }

  const api = async <T>(path: string, params: Record<string, string> = {}): Promise<T> => {
    const res = await fetch(`${url}/api/v1/${path}?${new URLSearchParams(params)}`);
    const body = await res.json() as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${body.error ?? res.status}`);
    return body.data;
  };
  return {
    url,
    query: async (expr) => (await api<{ result: PromSeries[] }>('query', { query: expr })).result,
    queryRange: async (expr, start) => (await api<{ result: PromSeries[] }>('query_range', { query: expr, start: String(start), end: String(Date.now() / 1000 + 1), step: '1' })).result,
    alerts: async () => (await api<{ alerts: PromAlert[] }>('alerts')).alerts,
    rules: async () => (await api<{ groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> }>('rules')).groups.flatMap((g) => g.rules),
    until: async (what, check, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await check();
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`Prometheus did not show ${what} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    stop: async () => { await stopProcess(child); rmSync(dir, { recursive: true, force: true }); },
  };
}
