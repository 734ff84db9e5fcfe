// An object store whose real one (and its SDK) is made on first use: a provider's SDK loads only
// when a request for that provider arrives.
import type { ObjectStore } from '../../../core/provider.ts';

export function lazyStore(load: () => Promise<ObjectStore>): ObjectStore {
  return {
    get: async (bucket, key, maxBytes) => (await load()).get(bucket, key, maxBytes),
    put: async (bucket, key, body, contentType) => (await load()).put(bucket, key, body, contentType),
    head: async (bucket, key) => (await load()).head(bucket, key),
    list: async (bucket, prefix, after, limit) => (await load()).list(bucket, prefix, after, limit),
    deleteMany: async (bucket, keys) => (await load()).deleteMany(bucket, keys),
    sha256: async (bucket, key) => (await load()).sha256(bucket, key),
  };
}
