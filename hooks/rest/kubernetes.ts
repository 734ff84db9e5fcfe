// The REST API's two uses of the Kubernetes API: who a bearer token is (TokenReview, so users keep
// their cluster credentials) and creating BackupRequests/RestoreRequests (the resource, not the
// archive, stays the source of truth) - only in a namespace the project's BackupTenant lists.
import { AuthenticationV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { GROUP } from '../contract/objects.ts';
import type { BackupTenant } from '../../core/crd.ts';
import type { Authenticate } from './router.ts';

/**
 * Project access from Kubernetes groups (docs/api.md): a user in group `lc2:project:<projectId>`
 * may read and request backups of that project; `lc2:admin` may for every project.
 */
export const PROJECT_GROUP_PREFIX = 'lc2:project:';
export const ADMIN_GROUP = 'lc2:admin';

export function tokenReview(kc: KubeConfig, cacheSeconds = 60): Authenticate {
  const api = kc.makeApiClient(AuthenticationV1Api);
  const cache = new Map<string, { until: number; projects: readonly string[] | '*' | undefined }>();
  return async (token) => {
    const hit = cache.get(token);
    if (hit && hit.until > Date.now()) return hit.projects;
    const review = await api.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } } });
    const groups = review.status?.authenticated ? review.status.user?.groups ?? [] : undefined;
    const projects = groups === undefined ? undefined
      : groups.includes(ADMIN_GROUP) ? '*' as const
        : groups.filter((g) => g.startsWith(PROJECT_GROUP_PREFIX)).map((g) => g.slice(PROJECT_GROUP_PREFIX.length));
    if (cache.size > 10_000) cache.clear();
    cache.set(token, { until: Date.now() + cacheSeconds * 1000, projects });
    return projects;
  };
}

export type RequestKind = 'BackupRequest' | 'RestoreRequest';
/** `namespace` may be left out: the project's mapping of the environment to a namespace decides (namespaceFor). */
export interface CreateRequest { kind: RequestKind; namespace: string | undefined; name: string | undefined; generateName: string; projectId: string; environment: string; spec: object }
/** The created object as the API server returned it, and its identity. */
export interface Created { namespace: string; name: string; uid: string; object: Record<string, unknown> }
/** Created, or refused before anything was written (the message is safe to show the caller). */
export type CreateResult = { created: Created } | { forbidden: string };
/** What the router calls; a thrown error is the API server failing (an ApiException with `code`). */
export type CreateResource = (request: CreateRequest) => Promise<CreateResult>;

/** The project's BackupTenant, or undefined when there is none. */
export type ReadTenant = (projectId: string) => Promise<BackupTenant | undefined>;
export type CreateObject = (request: CreateRequest & { namespace: string }) => Promise<Created>;

/**
 * Where a request without a namespace goes (pure): the BackupTenant's own mapping of the
 * environment, else the design documents' convention `proj-<projectId>-<environment>`. Either way
 * the namespace must then be one the tenant lists (namespaceRefusal).
 */
export function namespaceFor(tenant: BackupTenant | undefined, projectId: string, environment: string): string {
  const mapped = tenant?.metadata?.name === projectId ? tenant.spec?.environmentNamespaces?.[environment] : undefined;
  return typeof mapped === 'string' ? mapped : `proj-${projectId}-${environment}`;
}

/**
 * The namespace rule of the REST API (pure): a request of project P may only be created in a
 * namespace P's BackupTenant (the platform team's mapping) lists. No tenant, or a tenant that is
 * not P's, lists nothing. The answer is the same whether or not the namespace exists.
 */
export function namespaceRefusal(namespace: string, projectId: string, tenant: BackupTenant | undefined): string | undefined {
  const namespaces = tenant?.metadata?.name === projectId ? tenant.spec?.namespaces : undefined;
  if (!Array.isArray(namespaces)) {
    return `project ${projectId} has no BackupTenant: the platform team must map it to its namespaces before backups or restores can be requested (docs/tenancy.md)`;
  }
  if (!namespaces.includes(namespace)) {
    return `namespace ${namespace} is not one of project ${projectId}'s namespaces (BackupTenant ${projectId} does not list it)`;
  }
  return undefined;
}

/** Reads the tenant first and creates only what it allows. A tenant that cannot be read creates nothing: the error propagates (the router answers 503). */
export function tenantScopedCreator(readTenant: ReadTenant, createObject: CreateObject): CreateResource {
  return async (request) => {
    const tenant = await readTenant(request.projectId);
    const namespace = request.namespace ?? namespaceFor(tenant, request.projectId, request.environment);
    const refusal = namespaceRefusal(namespace, request.projectId, tenant);
    if (refusal) return { forbidden: refusal };
    return { created: await createObject({ ...request, namespace }) };
  };
}

const statusCode = (e: unknown): number | undefined => {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
};

export function kubernetesCreator(kc: KubeConfig): CreateResource {
  const api = kc.makeApiClient(CustomObjectsApi);
  const readTenant: ReadTenant = async (projectId) => {
    try {
      return await api.getClusterCustomObject({ group: GROUP, version: 'v1alpha1', plural: 'backuptenants', name: projectId }) as BackupTenant;
    } catch (e) {
      if (statusCode(e) === 404) return undefined;
      throw e;
    }
  };
  const createObject: CreateObject = async ({ kind, namespace, name, generateName, spec }) => {
    const plural = kind === 'BackupRequest' ? 'backuprequests' : 'restorerequests';
    const created = await api.createNamespacedCustomObject({
      group: GROUP, version: 'v1alpha1', namespace, plural,
      body: { apiVersion: `${GROUP}/v1alpha1`, kind, metadata: name ? { name } : { generateName }, spec },
    }) as { metadata: { name: string; namespace: string; uid: string } } & Record<string, unknown>;
    return { namespace: created.metadata.namespace, name: created.metadata.name, uid: created.metadata.uid, object: created };
  };
  return tenantScopedCreator(readTenant, createObject);
}
