// The Metacontroller CompositeController hook wire contract (docs/metacontroller-contract.md, read
// from v4.17.2). Only the fields this service reads or writes are typed. The objects themselves
// (KubeObject, ObjectMeta) are in core/kube.ts: providers build Jobs without speaking this protocol.
import type { KubeObject } from '../../core/kube.ts';

/** Children or related objects: `Kind.apiVersion` → key (`name` in hook v1, `namespace/name` in v2) → object. */
export type ObjectGroups = Record<string, Record<string, KubeObject>>;

export interface SyncRequest<P extends KubeObject = KubeObject> {
  controller?: KubeObject;
  parent: P;
  children?: ObjectGroups;
  related?: ObjectGroups;
  finalizing?: boolean;
}

export interface SyncResponse<Status = unknown> {
  status: Status;
  children: KubeObject[];
  resyncAfterSeconds?: number;
  finalized?: boolean;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

export interface CustomizeResponse {
  relatedResources: Array<{
    apiVersion: string; resource: string; names?: string[]; namespace?: string;
    labelSelector?: LabelSelector; namespaceSelector?: LabelSelector;
  }>;
}
