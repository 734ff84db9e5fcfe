// The few object-store calls the hook itself makes: small result objects, manifests, existence
// checks and deletes. Backup data never passes through here.
export interface ObjectInfo { key: string; size: number }

/** An object larger than the reader allows: it is never buffered (a planted 500 MB "manifest" must not take the server down). */
export class ObjectTooLarge extends Error {
  constructor(bucket: string, key: string, maxBytes: number) {
    super(`${bucket}/${key} is larger than ${maxBytes} bytes`);
    this.name = 'ObjectTooLarge';
  }
}

/** The most the hook ever reads of a small object (manifests, Job results, checkpoints). */
export const MAX_SMALL_OBJECT_BYTES = 1024 * 1024;

export interface ObjectStore {
  /** The object's bytes, or null if it does not exist; throws ObjectTooLarge past maxBytes (default 1 MiB) without reading the rest. */
  get(bucket: string, key: string, maxBytes?: number): Promise<Buffer | null>;
  put(bucket: string, key: string, body: string, contentType: string): Promise<void>;
  head(bucket: string, key: string): Promise<ObjectInfo | null>;
  /** One page of keys under a prefix, in key order, starting after `after`. */
  list(bucket: string, prefix: string, after?: string, limit?: number): Promise<ObjectInfo[]>;
  deleteMany(bucket: string, keys: string[]): Promise<void>;
  /** SHA-256 of an object, streamed (never held in memory); null if it does not exist. */
  sha256(bucket: string, key: string): Promise<string | null>;
}

export type StorageConfig =
  | { kind: 's3'; endpoint: string; region: string; secretName: string; accessKeyIdKey: string; secretAccessKeyKey: string }
  | { kind: 'file'; root: string };
