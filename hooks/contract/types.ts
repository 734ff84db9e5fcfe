// The Metacontroller CompositeController hook wire contract (docs/metacontroller-contract.md, read
// from v4.17.2). Only the fields this service reads or writes are typed.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }>;
}

export interface KubeObject<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
}

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
