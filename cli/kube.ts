// Cluster access as kubectl does it: --kubeconfig, else $KUBECONFIG (a list, the first file that
// exists), else ~/.kube/config; --context; -n/--namespace, else the context's namespace, else
// "default". Requests go over node:https with the kubeconfig's CA, client certificate or token;
// a user that needs more (an exec credential plugin, an auth provider) gets its options from
// @kubernetes/client-node, loaded only then: the package takes ~1.5 s to import, kubectl answers
// in 0.25 s (bench/cli.ts). Errors keep only the API server's Status message: never a header or token.
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import YAML from 'yaml';
import { Failed, Unavailable, Usage } from './errors.ts';

export const GROUP = 'backup.liferay.cloud';
export const VERSION = 'v1alpha1';
export type Plural = 'backuprequests' | 'restorerequests' | 'backupschedules' | 'backuptenants';

export interface KubeFlags { kubeconfig?: string; context?: string; namespace?: string }

export interface Kube {
  /** The namespace a namespaced verb works in. */
  namespace: string;
  /** Who the kubeconfig says we are (the initiator of what we create); never a credential. */
  user: string;
  server: string;
  list<T>(plural: Plural, namespace: string | undefined): Promise<T[]>;
  get<T>(plural: Plural, namespace: string, name: string): Promise<T | undefined>;
  create<T>(plural: Plural, namespace: string, body: object): Promise<T>;
}

function kubeconfigPath(flags: KubeFlags, env: NodeJS.ProcessEnv): string {
  if (flags.kubeconfig) {
    if (!existsSync(flags.kubeconfig)) throw new Usage(`--kubeconfig ${flags.kubeconfig}: no such file`);
    return flags.kubeconfig;
  }
  const candidates = env.KUBECONFIG ? env.KUBECONFIG.split(delimiter).filter(Boolean) : [join(env.HOME ?? homedir(), '.kube', 'config')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Unavailable(`no kubeconfig found (${candidates.join(', ')}): pass --kubeconfig or set KUBECONFIG`);
  return found;
}

type Entry = Record<string, unknown>;
interface Named { name?: unknown; cluster?: Entry; user?: Entry; context?: Entry }
interface Kubeconfig { 'current-context'?: unknown; contexts?: Named[]; clusters?: Named[]; users?: Named[] }

/** The API server's own words for a failed call, and the exit it deserves. */
export function apiError(code: number, body: string, what: string, server: string): Error {
  let message = '';
  try { message = String((JSON.parse(body) as { message?: unknown }).message ?? ''); } catch { /* not a Status */ }
  if (code === 401) return new Unavailable(`${what}: the API server at ${server} did not accept your credentials (401): log in again or pick another --context`);
  if (code === 403) return new Failed(`${what}: forbidden (403): ${message || 'ask your platform team for access to this namespace'}`);
  if (code === 404) return new Failed(`${what}: not found (404)${message ? `: ${message}` : ''}; are the lc2 CRDs installed (kubectl apply -k crds/)?`);
  if (code === 409) return new Failed(`${what}: already exists (409): pick another name`);
  if (code === 422 || code === 400) return new Failed(`${what}: refused by the API server (${code}): ${message}`);
  return new Unavailable(`${what}: the API server answered ${code}${message ? `: ${message}` : ''}`);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * TLS and credentials straight from the kubeconfig entries, or undefined when the user needs what
 * only client-node implements (exec plugins, auth providers) or the cluster goes through a proxy.
 */
function directOptions(cluster: Entry, user: Entry, base: string): https.RequestOptions | undefined {
  if (user.exec || user['auth-provider'] || cluster['proxy-url']) return undefined;
  const file = (p: unknown) => { const s = str(p); return s ? readFileSync(isAbsolute(s) ? s : join(base, s)) : undefined; };
  const data = (d: unknown, p: unknown) => (str(d) ? Buffer.from(str(d)!, 'base64') : file(p));
  const token = str(user.token) ?? (str(user.tokenFile) ? file(user.tokenFile)!.toString('utf8').trim() : undefined);
  const basic = str(user.username) && str(user.password) ? Buffer.from(`${str(user.username)}:${str(user.password)}`).toString('base64') : undefined;
  const ca = data(cluster['certificate-authority-data'], cluster['certificate-authority']);
  const cert = data(user['client-certificate-data'], user['client-certificate']);
  const key = data(user['client-key-data'], user['client-key']);
  return {
    ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}),
    ...(str(cluster['tls-server-name']) ? { servername: str(cluster['tls-server-name'])! } : {}),
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
    headers: token ? { Authorization: `Bearer ${token}` } : basic ? { Authorization: `Basic ${basic}` } : {},
  };
}

/** What client-node would send (it runs exec plugins, refreshes auth providers). */
async function clientNodeOptions(path: string, context: string): Promise<https.RequestOptions> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  kc.setCurrentContext(context);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return opts;
}

function send(server: string, opts: https.RequestOptions, method: string, path: string, body?: object): Promise<{ status: number; body: string }> {
  const url = new URL(path, server.endsWith('/') ? server : `${server}/`);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const lib = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, {
      ...opts, method, timeout: 30_000,
      headers: { ...(opts.headers as Record<string, string> | undefined), Accept: 'application/json', 'User-Agent': 'kubectl-lc2', ...(payload ? { 'Content-Type': 'application/json' } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out after 30 s'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(payload);
  });
}

export function connectKube(flags: KubeFlags, env: NodeJS.ProcessEnv): Kube {
  const path = kubeconfigPath(flags, env);
  let doc: Kubeconfig;
  try { doc = (YAML.parse(readFileSync(path, 'utf8')) ?? {}) as Kubeconfig; } catch (e) { throw new Usage(`kubeconfig ${path} cannot be read: ${(e as Error).message.split('\n')[0]}`); }
  const find = (list: Named[] | undefined, name: unknown) => (Array.isArray(list) ? list.find((n) => n?.name === name) : undefined);
  const contextName = flags.context ?? str(doc['current-context']);
  if (!contextName) throw new Usage(`kubeconfig ${path} has no current-context: pass --context`);
  const context = find(doc.contexts, contextName)?.context;
  if (!context) {
    const have = (doc.contexts ?? []).map((c) => String(c?.name)).join(', ') || 'none';
    throw new Usage(`${flags.context ? `--context ${flags.context}` : `current-context ${contextName}`}: no such context in ${path} (have: ${have})`);
  }
  const cluster = find(doc.clusters, context.cluster)?.cluster;
  const server = str(cluster?.server);
  if (!cluster || !server) throw new Usage(`context ${contextName} names cluster ${String(context.cluster)}, which ${path} does not define with a server`);
  const userName = str(context.user) ?? 'unknown';
  const user = find(doc.users, context.user)?.user ?? {};
  const direct = directOptions(cluster, user, dirname(path));
  let options: Promise<https.RequestOptions> | undefined;
  const request = async (what: string, method: string, apiPath: string, body?: object): Promise<{ status: number; body: string }> => {
    try {
      options ??= direct ? Promise.resolve(direct) : clientNodeOptions(path, contextName);
      return await send(server, await options, method, apiPath, body);
    } catch (e) {
      const cause = (e as { code?: string }).code ?? (e as Error).message;
      throw new Unavailable(`${what}: cannot reach the API server at ${server} (${cause}): check --context and that the cluster is up`);
    }
  };
  const base = `/apis/${GROUP}/${VERSION}`;
  const at = (namespace: string | undefined, plural: Plural) => (namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${plural}` : `${base}/${plural}`);
  const json = async <T>(what: string, method: string, apiPath: string, body?: object): Promise<T> => {
    const res = await request(what, method, apiPath, body);
    if (res.status >= 300) throw apiError(res.status, res.body, what, server);
    return JSON.parse(res.body) as T;
  };
  return {
    namespace: flags.namespace ?? str(context.namespace) ?? 'default',
    user: userName,
    server,
    list: async <T>(plural: Plural, namespace: string | undefined) =>
      (await json<{ items?: T[] }>(`list ${plural}${namespace ? ` in ${namespace}` : ''}`, 'GET', at(namespace, plural))).items ?? [],
    get: async <T>(plural: Plural, namespace: string, name: string) => {
      const what = `get ${plural}/${name} in ${namespace}`;
      const res = await request(what, 'GET', `${at(namespace, plural)}/${encodeURIComponent(name)}`);
      if (res.status === 404) return undefined;
      if (res.status >= 300) throw apiError(res.status, res.body, what, server);
      return JSON.parse(res.body) as T;
    },
    create: async <T>(plural: Plural, namespace: string, body: object) => json<T>(`create ${plural} in ${namespace}`, 'POST', at(namespace, plural), body),
  };
}
