// Cluster access as kubectl does it: --kubeconfig, else $KUBECONFIG (a list, the first file that
// exists), else ~/.kube/config; --context; -n/--namespace, else the context's namespace, else
// "default". Errors keep only the API server's Status message: never a header, token or body dump.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ApiException, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
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

/** The API server's own words for a failed call, and the exit it deserves. */
export function apiError(e: unknown, what: string, server: string): Error {
  if (e instanceof ApiException) {
    let message = '';
    try { message = String((JSON.parse(String(e.body)) as { message?: unknown }).message ?? ''); } catch { /* not a Status */ }
    const code = e.code;
    if (code === 401) return new Unavailable(`${what}: the API server at ${server} did not accept your credentials (401): log in again or pick another --context`);
    if (code === 403) return new Failed(`${what}: forbidden (403): ${message || 'ask your platform team for access to this namespace'}`);
    if (code === 404) return new Failed(`${what}: not found (404)${message ? `: ${message}` : ''}; are the lc2 CRDs installed (kubectl apply -k crds/)?`);
    if (code === 409) return new Failed(`${what}: already exists (409): pick another name`);
    if (code === 422 || code === 400) return new Failed(`${what}: refused by the API server (${code}): ${message}`);
    return new Unavailable(`${what}: the API server answered ${code}${message ? `: ${message}` : ''}`);
  }
  const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as { code?: string }).code;
  return new Unavailable(`${what}: cannot reach the API server at ${server} (${cause ?? (e as Error).message}): check --context and that the cluster is up`);
}

export function connectKube(flags: KubeFlags, env: NodeJS.ProcessEnv): Kube {
  const kc = new KubeConfig();
  const path = kubeconfigPath(flags, env);
  try { kc.loadFromFile(path); } catch (e) { throw new Usage(`kubeconfig ${path} cannot be read: ${(e as Error).message.split('\n')[0]}`); }
  if (flags.context) {
    if (!kc.getContextObject(flags.context)) throw new Usage(`--context ${flags.context}: no such context in ${path} (have: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    kc.setCurrentContext(flags.context);
  }
  const context = kc.getContextObject(kc.getCurrentContext());
  const cluster = kc.getCurrentCluster();
  if (!context || !cluster) throw new Usage(`kubeconfig ${path} has no current context: pass --context`);
  const server = cluster.server;
  const api = kc.makeApiClient(CustomObjectsApi);
  const base = { group: GROUP, version: VERSION };
  const call = async <T>(what: string, f: () => Promise<unknown>): Promise<T> => {
    try { return await f() as T; } catch (e) { throw apiError(e, what, server); }
  };
  return {
    namespace: flags.namespace ?? context.namespace ?? 'default',
    user: kc.getCurrentUser()?.name ?? 'unknown',
    server,
    list: async <T>(plural: Plural, namespace: string | undefined) => {
      const what = `list ${plural}${namespace ? ` in ${namespace}` : ''}`;
      const res = await call<{ items?: T[] }>(what, () => (namespace
        ? api.listNamespacedCustomObject({ ...base, namespace, plural })
        : api.listClusterCustomObject({ ...base, plural })));
      return res.items ?? [];
    },
    get: async <T>(plural: Plural, namespace: string, name: string) => {
      try { return await api.getNamespacedCustomObject({ ...base, namespace, plural, name }) as T; } catch (e) {
        if (e instanceof ApiException && e.code === 404) return undefined;
        throw apiError(e, `get ${plural}/${name} in ${namespace}`, server);
      }
    },
    create: async <T>(plural: Plural, namespace: string, body: object) =>
      call<T>(`create ${plural} in ${namespace}`, () => api.createNamespacedCustomObject({ ...base, namespace, plural, body })),
  };
}
