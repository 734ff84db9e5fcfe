// Reading children/related maps the same way for hook v1 (`name` keys) and v2 (`namespace/name`
// keys): objects are matched by metadata.name, never by map key.
import type { KubeObject, ObjectGroups } from './types.ts';

export const GROUP = 'backup.liferay.cloud';
export const API_VERSION = `${GROUP}/v1alpha1`;

export function groupKey(kind: string, apiVersion: string): string {
  return `${kind}.${apiVersion}`;
}

/** All objects of one kind, by metadata.name. */
export function objectsOf(groups: ObjectGroups | undefined, kind: string, apiVersion: string): Map<string, KubeObject> {
  const byName = new Map<string, KubeObject>();
  for (const obj of Object.values(groups?.[groupKey(kind, apiVersion)] ?? {})) {
    if (obj && typeof obj === 'object' && obj.metadata?.name) byName.set(obj.metadata.name, obj);
  }
  return byName;
}
