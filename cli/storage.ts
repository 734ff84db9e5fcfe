// The object store of LC2_STORAGE_URL, as the hook server builds it (app/), loaded only by the
// verbs that read storage: the composition root brings the hook server and the storage SDKs.
import type { ObjectStore } from '../core/provider.ts';
import type { Ctx } from './context.ts';

export async function storage(ctx: Pick<Ctx, 'env'>): Promise<ObjectStore> {
  const [{ storeFor }, { loadConfig }] = await Promise.all([import('../app/main.ts'), import('../app/config.ts')]);
  return storeFor(loadConfig(ctx.env));
}
