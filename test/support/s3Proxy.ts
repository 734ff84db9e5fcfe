// A small HTTP proxy in front of the S3 (and RDS) server: counts copy requests per destination key
// and RDS actions (what the server actually received and accepted) and, on demand, answers a share
// of requests with throttling (503 SlowDown), 500s or a dropped connection, to test retries
// without duplicates.
import { createServer, request, type Server } from 'node:http';

export interface S3Proxy {
  endpoint: string;
  /** Copy requests (CopyObject and UploadPartCopy) that reached the server, per path. */
  copies: Map<string, number>;
  /** Successful UploadPartCopy requests per `path#partNumber`. */
  parts: Map<string, number>;
  /** Called as a copy request arrives, before it is forwarded (a test may kill its client there). */
  onCopyStart?: (path: string) => void;
  /** Holds each part copy (UploadPartCopy) this long before forwarding it: a slow large copy. */
  partDelayMs: number;
  /** RDS Query-API actions the server answered with 2xx (e.g. CreateDBSnapshot), and all it received. */
  actions: Map<string, number>;
  received: Map<string, number>;
  faults: { share: number; seen: number };
  /**
   * Listings of this bucket answer every ETag changed (same length): what real S3 answers for
   * SSE-KMS objects, whose ETag is not their content's MD5 (moto answers the MD5).
   */
  kmsEtagBucket?: string;
  close(): Promise<void>;
}

/** Another hex digit for each: an ETag of the same length that is not the MD5. */
const notMd5 = (hex: string) => hex.replace(/[0-9a-f]/g, (c) => '0123456789abcdef'[(parseInt(c, 16) + 7) % 16]!);

export async function startS3Proxy(target: string): Promise<S3Proxy> {
  const upstream = new URL(target);
  const copies = new Map<string, number>();
  const parts = new Map<string, number>();
  const faults = { share: 0, seen: 0 };
  let n = 0;
  const actions = new Map<string, number>();
  const received = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const proxy: S3Proxy = { endpoint: '', copies, parts, actions, received, faults, partDelayMs: 0, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    n += 1;
    if (faults.share > 0 && (n * 7919) % 100 < faults.share * 100) {
      faults.seen += 1;
      const kind = n % 3;
      req.resume();
      if (kind === 2) { setTimeout(() => res.destroy(), 50); return; } // a dropped connection
      res.writeHead(kind === 0 ? 503 : 500, { 'content-type': 'application/xml' });
      res.end(kind === 0 ? '<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>'
        : '<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const action = String(req.headers['content-type'] ?? '').includes('x-www-form-urlencoded') ? new URLSearchParams(body.toString()).get('Action') : null;
      if (action) bump(received, action);
      const isCopy = req.method === 'PUT' && !!req.headers['x-amz-copy-source'];
      if (isCopy) proxy.onCopyStart?.((req.url ?? '').split('?')[0]!);
      const isPart = isCopy && new URL(req.url ?? '/', 'http://x').searchParams.has('partNumber');
      const forwardIt = () => { const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        const ok = (up.statusCode ?? 500) < 300;
        if (ok && isCopy) bump(copies, (req.url ?? '').split('?')[0]!);
        const partNumber = new URL(req.url ?? '/', 'http://x').searchParams.get('partNumber');
        if (ok && isCopy && partNumber) bump(parts, `${(req.url ?? '').split('?')[0]!}#${partNumber}`);
        if (ok && action) bump(actions, action);
        const url = new URL(req.url ?? '/', 'http://x');
        if (proxy.kmsEtagBucket && req.method === 'GET' && url.pathname.replace(/\/$/, '') === `/${proxy.kmsEtagBucket}` && url.searchParams.get('list-type') === '2') {
          const parts: Buffer[] = [];
          up.on('data', (c: Buffer) => parts.push(c));
          up.on('end', () => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(Buffer.concat(parts).toString('utf8').replace(/(<ETag>(?:&quot;|&#34;|")?)([0-9a-f]{32})/g, (_, head: string, md5: string) => head + notMd5(md5)));
          });
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      forward.on('error', () => res.destroy());
      forward.end(body); };
      if (isPart && proxy.partDelayMs > 0) setTimeout(forwardIt, proxy.partDelayMs); else forwardIt();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  Object.assign(proxy, { endpoint: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) });
  return proxy;
}
