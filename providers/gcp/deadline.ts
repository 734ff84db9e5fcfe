// A deadline for calls whose client takes no abort signal (GCS through @google-cloud/storage, the
// Storage Transfer LRO helpers). Kept apart from clients.ts so that nothing but clients.ts loads the
// Google SDKs (the registry loads them only when the provider is configured).
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what} timed out after ${ms} ms`), { name: 'TimeoutError' })), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
