// The REST API's two uses of the Kubernetes API: who a bearer token is (TokenReview, so users keep
// their cluster credentials) and creating BackupRequests/RestoreRequests (the resource, not the
// archive, stays the source of truth).
import { AuthenticationV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { GROUP } from '../contract/objects.ts';
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

export type CreateResource = (kind: 'BackupRequest' | 'RestoreRequest', namespace: string, name: string | undefined, generateName: string, spec: object)
  => Promise<{ namespace: string; name: string; uid: string }>;

export function kubernetesCreator(kc: KubeConfig): CreateResource {
  const api = kc.makeApiClient(CustomObjectsApi);
  return async (kind, namespace, name, generateName, spec) => {
    const plural = kind === 'BackupRequest' ? 'backuprequests' : 'restorerequests';
    const created = await api.createNamespacedCustomObject({
      group: GROUP, version: 'v1alpha1', namespace, plural,
      body: { apiVersion: `${GROUP}/v1alpha1`, kind, metadata: name ? { name } : { generateName }, spec },
    }) as { metadata: { name: string; namespace: string; uid: string } };
    return { namespace: created.metadata.namespace, name: created.metadata.name, uid: created.metadata.uid };
  };
}
