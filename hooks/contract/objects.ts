// Reading children/related maps the same way for hook v1 (`name` keys) and v2 (`namespace/name`
// keys). Identities are namespace/name (cluster-scoped objects: name), never a name alone: with
// hook v2, related rules return objects from EVERY namespace (Metacontroller v4.17,
// pkg/controller/common/customize/manager.go, GetRelatedObjects: a names rule without a namespace
// lists all namespaces and keeps every object of that name; selector rules with a
// namespaceSelector span namespaces too). Map keys are never trusted: the key is rebuilt from
// each object's own metadata.
import type { ObjectGroups } from './types.ts';
import type { KubeObject } from '../../core/kube.ts';

export const GROUP = 'backup.liferay.cloud';
export const API_VERSION = `${GROUP}/v1alpha1`;

export function groupKey(kind: string, apiVersion: string): string {
  return `${kind}.${apiVersion}`;
}

/** `namespace/name` for namespaced objects, `name` for cluster-scoped ones. */
export function objectKey(obj: Pick<KubeObject, 'metadata'>): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

const isObject = (obj: unknown): obj is KubeObject =>
  !!obj && typeof obj === 'object' && typeof (obj as KubeObject).metadata?.name === 'string';

/** All well-formed objects of one kind (anything else in the map is ignored). */
export function listOf(groups: ObjectGroups | undefined, kind: string, apiVersion: string): KubeObject[] {
  const group = groups?.[groupKey(kind, apiVersion)];
  if (!group || typeof group !== 'object') return [];
  return Object.values(group).filter(isObject);
}

/** All objects of one kind, by namespace/name (cluster-scoped: by name). */
export function objectsOf(groups: ObjectGroups | undefined, kind: string, apiVersion: string): Map<string, KubeObject> {
  return new Map(listOf(groups, kind, apiVersion).map((o) => [objectKey(o), o]));
}

/**
 * Children of a namespaced parent, by name: Metacontroller only claims children in the parent's
 * own namespace (controller ownerReference to the parent's UID), so anything else is not ours.
 */
export function childrenOf(groups: ObjectGroups | undefined, kind: string, apiVersion: string, parentNamespace: string | undefined): Map<string, KubeObject> {
  const byName = new Map<string, KubeObject>();
  for (const o of listOf(groups, kind, apiVersion)) {
    if ((o.metadata.namespace ?? parentNamespace) === parentNamespace) byName.set(o.metadata.name, o);
  }
  return byName;
}

/** One related object by exact identity: a namespaced one in `namespace`, a cluster-scoped one when namespace is undefined. */
export function relatedObject(groups: ObjectGroups | undefined, kind: string, apiVersion: string, namespace: string | undefined, name: string): KubeObject | undefined {
  return listOf(groups, kind, apiVersion).find((o) => o.metadata.name === name && (o.metadata.namespace || undefined) === (namespace || undefined));
}
