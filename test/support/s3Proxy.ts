// A small HTTP proxy in front of the S3 server: counts copy requests per destination key (what
// the server actually received) and, on demand, answers a share of requests with throttling
// (503 SlowDown), 500s or a stall, to test retries without duplicates.
import { createServer, request, type Server } from 'node:http';

export interface S3Proxy {
  endpoint: string;
  /** Copy requests (CopyObject and UploadPartCopy) that reached the server, per path. */
  copies: Map<string, number>;
  faults: { share: number; seen: number };
  close(): Promise<void>;
}

export async function startS3Proxy(target: string): Promise<S3Proxy> {
  const upstream = new URL(target);
  const copies = new Map<string, number>();
  const faults = { share: 0, seen: 0 };
  let n = 0;
  const server: Server = createServer((req, res) => {
    n += 1;
    if (faults.share > 0 && (n * 7919) % 100 < faults.share * 100) {
      faults.seen += 1;
      const kind = n % 3;
      if (kind === 2) { setTimeout(() => res.destroy(), 50); return; } // a dropped connection
      res.writeHead(kind === 0 ? 503 : 500, { 'content-type': 'application/xml' });
      res.end(kind === 0 ? '<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>'
        : '<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>');
      return;
    }
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      if (req.method === 'PUT' && req.headers['x-amz-copy-source'] && (up.statusCode ?? 500) < 300) {
        const path = (req.url ?? '').split('?')[0]!;
        copies.set(path, (copies.get(path) ?? 0) + 1);
      }
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return { endpoint: `http://127.0.0.1:${port}`, copies, faults, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}
