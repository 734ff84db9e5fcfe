// A real Kubernetes API server for the tests: Debian's etcd plus kube-apiserver v1.32 built from
// the Go module proxy (test/apiserver, cached in .cache/bin by scripts/bootstrap.sh). No
// controller-manager, scheduler or kubelet runs: nothing executes Jobs here.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopProcess } from './processes.ts';

export const KUBE_APISERVER = new URL('../../.cache/bin/kube-apiserver', import.meta.url).pathname;

export interface Kube {
  server: string;
  token: string;
  kubeconfig: string;
  /** kubectl with this server's kubeconfig; returns stdout, throws with stderr on failure. */
  kubectl(args: string[], input?: string): string;
  stop(): Promise<void>;
}

export function apiServerAvailable(): boolean { return existsSync(KUBE_APISERVER); }

async function waitReady(probe: () => boolean, timeoutMs: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`kube-apiserver exited with ${child.exitCode}:\n${log().slice(-3000)}`);
    if (probe()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`kube-apiserver not ready after ${timeoutMs} ms:\n${log().slice(-3000)}`);
}

/** Extra users of the static token file: token → groups (e.g. lc2:project:retail). */
export async function startKube(users: Record<string, { name: string; groups: string[] }> = {}): Promise<Kube> {
  const dir = mkdtempSync(join(tmpdir(), 'lc2-kube-'));
  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcd = spawn('etcd', [
    '--data-dir', join(dir, 'etcd'), '--listen-client-urls', `http://127.0.0.1:${etcdClient}`,
    '--advertise-client-urls', `http://127.0.0.1:${etcdClient}`, '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`, '--initial-cluster', `default=http://127.0.0.1:${etcdPeer}`,
    '--unsafe-no-fsync', '--log-level', 'error',
  ], { stdio: 'ignore' });

  const token = randomBytes(24).toString('hex');
  writeFileSync(join(dir, 'tokens.csv'), [`${token},lc2-admin,lc2-admin,"system:masters"`,
    ...Object.entries(users).map(([t, u]) => `${t},${u.name},${u.name},"${u.groups.join(',')}"`)].join('\n') + '\n');
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));

  let output = '';
  const api = spawn(KUBE_APISERVER, [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`, `--cert-dir=${join(dir, 'certs')}`, `--token-auth-file=${join(dir, 'tokens.csv')}`,
    '--authorization-mode=RBAC', '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${join(dir, 'sa.pub')}`, `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--service-cluster-ip-range=10.96.0.0/16', '--enable-priority-and-fairness=false', '--disable-admission-plugins=ServiceAccount',
    // Debian's etcd 3.4 sends no progress notifications, so an idle watch cache never catches up
    // ("Too large resource version"): serve lists and watches from etcd directly.
    '--watch-cache=false', '--feature-gates=ConsistentListFromCache=false',
    '--v=0',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  api.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
  api.stderr?.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-20000); });

  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: lc2',
    'clusters:', `- name: lc2`, '  cluster:', `    server: ${server}`, '    insecure-skip-tls-verify: true',
    'users:', '- name: lc2-admin', '  user:', `    token: ${token}`,
    'contexts:', '- name: lc2', '  context: {cluster: lc2, user: lc2-admin, namespace: default}', '',
  ].join('\n'));
  const kubectl = (args: string[], input?: string): string => {
    try {
      return execFileSync('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', ...(input !== undefined ? { input } : {}), stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      const err = e as { stderr?: string; stdout?: string; message: string };
      throw new Error(`kubectl ${args.join(' ')}: ${err.stderr || err.stdout || err.message}`);
    }
  };
  try {
    const probe = () => { try { return kubectl(['get', '--raw', '/readyz']).trim() === 'ok'; } catch { return false; } };
    await waitReady(probe, 90_000, api, () => output);
  } catch (e) {
    await stopProcess(api); await stopProcess(etcd); rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    server, token, kubeconfig, kubectl,
    stop: async () => { await stopProcess(api); await stopProcess(etcd); rmSync(dir, { recursive: true, force: true }); },
  };
}
