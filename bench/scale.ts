// The related set at the size of a real platform: 1k, 5k and 20k BackupRequests (200 projects × 5
// environments, a fixed 50 active - running or waiting - the rest finished with a full status) in
// the real kube-apiserver. For an active backup, the sync request is built exactly as Metacontroller
// v4.17 builds it from our customize answer (label selectors across every namespace) and POSTed to
// the hook; printed: request bytes, hook ms and hook process RSS per sync, next to the former rule
// (every BackupRequest of the cluster) for comparison. Goal: flat (within 2×) from 1k to 20k, RSS
// < 150 MB, no 413 at any size. `node bench/scale.ts` (about 5 minutes; not part of the tests).
import { CustomObjectsApi, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startKube } from '../test/support/kube.ts';
import { selectorString } from '../test/support/labelSelector.ts';
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, stopProcess, waitForHttp } from '../test/support/processes.ts';
import { backupRequest } from '../test/support/resources.ts';
import { customizeBackup } from '../hooks/backup/sync.ts';
import { backupLabels } from '../hooks/backup/labels.ts';
import type { BackupRequest } from '../core/crd.ts';
import type { CustomizeResponse } from '../hooks/contract/types.ts';

const GROUP = 'backup.liferay.cloud';
const SIZES = [1_000, 5_000, 20_000];
const ACTIVE = 50;
const PROJECTS = 200;
const ENVIRONMENTS = ['prd', 'uat', 'dev', 'qa', 'stg'];

async function pool<T>(items: T[], width: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => { while (next < items.length) await fn(items[next++]!); }));
}

/** One BackupRequest of project p, environment e; finished ones carry a realistic Succeeded status. */
function object(i: number, finished: boolean): BackupRequest {
  const p = `p${i % PROJECTS}`;
  const e = ENVIRONMENTS[Math.floor(i / PROJECTS) % ENVIRONMENTS.length]!;
  const b = backupRequest(`b${i}`, { projectId: p, environment: e });
  const status: BackupRequest['status'] = finished ? {
    phase: 'Succeeded', backupId: `b${i}-0000abcd`, location: { bucket: 'lc2-backups', prefix: `${p}/${e}/b${i}-0000abcd/` },
    startTime: '2026-11-01T02:00:00Z', completionTime: '2026-11-01T02:10:00Z', totalSize: '1.2 GiB',
    operations: { export: { id: `b${i}-db-0000abcd`, state: 'Succeeded', startTime: '2026-11-01T02:00:00Z', completionTime: '2026-11-01T02:05:00Z' },
      transfer: { id: `b${i}-dl-0000abcd`, state: 'Succeeded', startTime: '2026-11-01T02:05:00Z', completionTime: '2026-11-01T02:10:00Z' } },
    database: { engine: 'postgresql', format: 'pg_dump-custom+zstd', artifact: `${p}/${e}/b${i}-0000abcd/database.pgdump.zst`, sizeBytes: 123456789, sha256: 'a'.repeat(64), tool: 'pg_dump 15' },
    documentLibrary: { objectCount: 12345, totalBytes: 987654321, excludedPatterns: ['**/adaptive/**'], tool: 'rclone v1.60' },
    conditions: [{ type: 'Ready', status: 'True', reason: 'BackupSucceeded', message: 'backup complete', lastTransitionTime: '2026-11-01T02:10:00Z' }],
  } : {};
  return { ...b, metadata: { name: b.metadata.name, namespace: `proj-${p}-${e}`, labels: backupLabels({ ...b, status }) }, status };
}

/** The hook server as its own process (as in a Pod), so its RSS is its own. */
async function hookProcess() {
  const port = await freePort();
  const child = spawn(process.execPath, [fileURLToPath(new URL('../app/main.ts', import.meta.url))], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), LC2_ARCHIVE: 'off', LC2_TENANCY: 'off', LC2_LOG_LEVEL: 'error',
      LC2_STORAGE_URL: `file://${mkdtempSync(join(tmpdir(), 'lc2-scale-'))}` },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, 20_000);
  const rssMiB = () => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);
  return { url, rssMiB, stop: () => stopProcess(child) };
}

export async function benchScale(): Promise<Record<string, unknown>> {
  const kube = await startKube();
  const hook = await hookProcess();
  try {
    kube.kubectl(['apply', '--server-side', '-k', 'crds/']);
    kube.kubectl(['wait', '--for', 'condition=Established', '--timeout=60s', 'crd/backuprequests.backup.liferay.cloud']);
    const kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfig);
    const api = kc.makeApiClient(CustomObjectsApi);
    const core = kc.makeApiClient(CoreV1Api);
    const namespaces = [...new Set(Array.from({ length: PROJECTS * ENVIRONMENTS.length }, (_, i) => object(i, false).metadata.namespace!))];
    await pool(namespaces, 32, (name) => core.createNamespace({ body: { metadata: { name } } }));
    const create = async (o: BackupRequest) => {
      const created = await api.createNamespacedCustomObject({ group: GROUP, version: 'v1alpha1', namespace: o.metadata.namespace!, plural: 'backuprequests',
        body: { apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata, spec: o.spec } }) as BackupRequest;
      if (o.status?.phase) {
        await api.replaceNamespacedCustomObjectStatus({ group: GROUP, version: 'v1alpha1', namespace: o.metadata.namespace!, plural: 'backuprequests', name: o.metadata.name,
          body: { ...created, status: o.status } });
      }
    };
    let made = 0;
    const rows: Array<Record<string, unknown>> = [];
    for (const size of SIZES) {
      const started = Date.now();
      const batch = Array.from({ length: size - made }, (_, k) => made + k).map((i) => object(i, i >= ACTIVE));
      await pool(batch, 48, create);
      made = size;
      const creating = Date.now() - started;
      // The parent: one of the active backups, as the API server holds it.
      const parent = await api.getNamespacedCustomObject({ group: GROUP, version: 'v1alpha1', namespace: object(7, false).metadata.namespace!, plural: 'backuprequests', name: 'b7' }) as BackupRequest;
      const related = async (rules: CustomizeResponse['relatedResources']) => {
        const group: Record<string, BackupRequest> = {};
        for (const rule of rules.filter((r) => r.resource === 'backuprequests')) {
          const labelSelector = selectorString(rule.labelSelector);
          const list = await api.listClusterCustomObject({ group: GROUP, version: 'v1alpha1', plural: 'backuprequests', ...(labelSelector ? { labelSelector } : {}) }) as { items: BackupRequest[] };
          for (const o of list.items) group[`${o.metadata.namespace}/${o.metadata.name}`] = o;
        }
        return { [`BackupRequest.${GROUP}/v1alpha1`]: group };
      };
      const measure = async (rules: CustomizeResponse['relatedResources']) => {
        const body = JSON.stringify({ controller: { metadata: { name: 'lc2-backuprequest' } }, parent, children: { 'Job.batch/v1': {} }, related: await related(rules), finalizing: false });
        const times: number[] = [];
        let status = 0;
        for (let k = 0; k < 5; k += 1) {
          const t = performance.now();
          const res = await fetch(`${hook.url}/backuprequest/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          await res.arrayBuffer();
          times.push(performance.now() - t);
          status = res.status;
        }
        times.sort((a, b) => a - b);
        return { requestBytes: body.length, hookMs: Number(times[2]!.toFixed(1)), http: status, hookRssMiB: hook.rssMiB() };
      };
      const now = await measure(customizeBackup(parent).relatedResources);
      const withRetention = await measure(customizeBackup({ ...parent, spec: { ...parent.spec!, retentionDays: 30 } }).relatedResources);
      const former = await measure([{ apiVersion: `${GROUP}/v1alpha1`, resource: 'backuprequests', labelSelector: {}, namespaceSelector: {} }]);
      rows.push({ backupRequests: size, createdInSeconds: Math.round(creating / 1000), activeOnly: now, withEnvironmentHistory: withRetention, formerAllBackups: former });
      console.log(JSON.stringify(rows.at(-1)));
    }
    return { note: `${ACTIVE} active, the rest finished; hook server in its own process (RSS after 5 syncs of each kind)`, rows };
  } finally {
    await hook.stop();
    await kube.stop();
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) console.log(JSON.stringify(await benchScale(), null, 2));
