// A small HTTP proxy in front of Azurite: counts the copy requests (x-ms-copy-source) Azurite
// accepted per destination path, and on demand answers a share of requests with throttling
// (503 ServerBusy), 500s or a dropped connection, carries out a share of writes and drops their
// answer, or makes an asynchronous copy look pending for a
// few property reads (Azurite finishes every same-instance copy at once).
import { createServer, request, type Server } from 'node:http';

export interface BlobProxy {
  url: string;
  /** The template for LC2_AZURE_BLOB_URL_TEMPLATE through the proxy. */
  template: string;
  /** Copies Azurite accepted (2xx), per destination path; `syncCopies` those that were Copy Blob From URL. */
  copies: Map<string, number>;
  syncCopies: Map<string, number>;
  faults: { share: number; seen: number };
  /** A share of writes (non-GET/HEAD) forwarded and carried out by Azurite whose answer is then dropped (connection closed). */
  drops: { share: number; seen: number };
  /** Destination path → property reads that still report the copy as pending. */
  pending: Map<string, number>;
  /** Called when Azurite accepted a copy, before its answer goes back (a test may kill the client there). */
  onCopied?: (path: string) => void;
  close(): Promise<void>;
}

export async function startBlobProxy(target: string): Promise<BlobProxy> {
  const upstream = new URL(target);
  const proxy: BlobProxy = { url: '', template: '', copies: new Map(), syncCopies: new Map(), faults: { share: 0, seen: 0 }, drops: { share: 0, seen: 0 }, pending: new Map(), close: async () => undefined };
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  let n = 0;
  const server: Server = createServer((req, res) => {
    n += 1;
    const path = decodeURIComponent((req.url ?? '').split('?')[0]!);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (proxy.faults.share > 0 && (n * 7919) % 100 < proxy.faults.share * 100) {
        proxy.faults.seen += 1;
        if (n % 3 === 2) { setTimeout(() => res.destroy(), 20); return; }
        res.writeHead(n % 3 === 0 ? 503 : 500, { 'content-type': 'application/xml', 'x-ms-error-code': n % 3 === 0 ? 'ServerBusy' : 'InternalError' });
        res.end(`<?xml version="1.0" encoding="utf-8"?><Error><Code>${n % 3 === 0 ? 'ServerBusy' : 'InternalError'}</Code><Message>injected</Message></Error>`);
        return;
      }
      const isCopy = req.method === 'PUT' && !!req.headers['x-ms-copy-source'];
      const isSync = isCopy && req.headers['x-ms-requires-sync'] === 'true';
      const headers = { ...req.headers };
      const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (up) => {
        const ok = (up.statusCode ?? 500) < 300;
        if (ok && isCopy) { bump(proxy.copies, path); if (isSync) bump(proxy.syncCopies, path); proxy.onCopied?.(path); }
        const out = { ...up.headers };
        const left = proxy.pending.get(path);
        if (left !== undefined && out['x-ms-copy-status'] && (isCopy || req.method === 'HEAD')) {
          if (left > 0) { out['x-ms-copy-status'] = 'pending'; proxy.pending.set(path, left - 1); } else proxy.pending.delete(path);
        }
        if (req.method !== 'GET' && req.method !== 'HEAD' && proxy.drops.share > 0 && (n * 6151) % 100 < proxy.drops.share * 100) {
          // Carried out, answer lost: the client sees a reset connection.
          proxy.drops.seen += 1;
          up.resume();
          res.destroy();
          return;
        }
        res.writeHead(up.statusCode ?? 502, out);
        up.pipe(res);
      });
      forward.on('error', () => res.destroy());
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  proxy.url = `http://127.0.0.1:${port}`;
  proxy.template = `http://127.0.0.1:${port}/{account}`;
  proxy.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return proxy;
}
