// The CLI's wall time as a person feels it, on the test kube-apiserver (test/support/kube.ts) with
// LC2_BENCH_CLI_BACKUPS BackupRequests (default 500) in one namespace: the process start
// (--help), a completion that needs no API call, backup list and status (child processes, Node 22
// first on PATH), the same list through kubectl's plugin lookup, and `kubectl get` beside it.
// Median of 5 runs each, in milliseconds.
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { startKube } from '../test/support/kube.ts';

const COUNT = Number(process.env.LC2_BENCH_CLI_BACKUPS ?? 500);
const NS = 'proj-retail-prd';
const ROOT = new URL('..', import.meta.url).pathname;

export async function benchCli(): Promise<Record<string, number>> {
  const kube = await startKube();
  try {
    kube.kubectl(['apply', '--server-side', '-k', `${ROOT}crds/`]);
    kube.kubectl(['wait', '--for', 'condition=Established', '--timeout=60s', 'crd/backuprequests.backup.liferay.cloud', 'crd/backupschedules.backup.liferay.cloud']);
    kube.kubectl(['create', 'namespace', NS]);
    const spec = {
      projectId: 'retail', environment: 'prd', provider: 'local',
      database: { engine: 'postgresql', type: 'dump', instanceId: 'retail-prd-db:5432', databaseName: 'lportal' },
      documentLibrary: { sourceBucket: 'retail-prd-dl', destinationBucket: 'lc2-backups' },
    };
    const items = Array.from({ length: COUNT }, (_, i) => ({ apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupRequest', metadata: { name: `b-${i}`, namespace: NS }, spec }));
    kube.kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    const env = { ...process.env, KUBECONFIG: kube.kubeconfig, PATH: `${dirname(process.execPath)}:${ROOT}bin:${process.env.PATH ?? ''}` };
    const median = (file: string, args: string[]) => {
      const times: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const t0 = performance.now();
        execFileSync(file, args, { env, stdio: 'ignore' });
        times.push(performance.now() - t0);
      }
      return Math.round(times.sort((a, b) => a - b)[2]!);
    };
    return {
      backups: COUNT,
      helpMs: median('kubectl-lc2', ['--help']),
      completeVerbMs: median('kubectl-lc2', ['__complete', 'backup', 'd']),
      backupListMs: median('kubectl-lc2', ['backup', 'list', '-n', NS]),
      statusMs: median('kubectl-lc2', ['status', '-n', NS]),
      throughKubectlListMs: median('kubectl', ['lc2', 'backup', 'list', '-n', NS]),
      kubectlGetMs: median('kubectl', ['get', 'backuprequests', '-n', NS]),
    };
  } finally { await kube.stop(); }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify({ cli: await benchCli() }, null, 2));
