// Reads a response body up to a size cap, never buffering past it. Used for every small object
// the hook reads (manifests, Job results, leases, checkpoints): a tenant can write any of them.
import type { Readable } from 'node:stream';

/** The bytes of `body`, or undefined when it is (or turns out to be) larger than maxBytes; the rest is never read. */
export async function readCapped(body: unknown, declaredLength: number | undefined, maxBytes: number): Promise<Buffer | undefined> {
  const stream = body as Readable & AsyncIterable<Uint8Array>;
  const stop = () => {
    // Stop the transfer without an unhandled 'error'/'aborted' event reaching the process.
    stream.on?.('error', () => undefined);
    stream.destroy?.();
  };
  if ((declaredLength ?? 0) > maxBytes) { stop(); return undefined; }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > maxBytes) { stop(); return undefined; }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}
