// What the in-repo fakes of Google APIs share: a JSON HTTP server on a free loopback port, request
// counting (received and accepted per route), and injected faults (a share of requests answered 429
// or 503 unprocessed, or processed and then their connection dropped - the answer lost).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export class HttpError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body: unknown) { super(`HTTP ${status}`); this.status = status; this.body = body; }
}

export interface FakeRequest { method: string; path: string; query: URLSearchParams; body: Record<string, unknown> }
export type Handler = (req: FakeRequest) => Promise<{ route: string; body: unknown }>;

export interface FakeServer {
  endpoint: string;
  /** Requests per route that reached the handler, and those it answered 2xx. */
  received: Map<string, number>;
  accepted: Map<string, number>;
  /** share: fraction of requests faulted; seen: how many were; dropAnswer: routes whose next request is processed and its answer lost (once each). */
  faults: { share: number; seen: number; dropAnswer: Set<string> };
  close(): Promise<void>;
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) as Record<string, unknown> : {};
}

export async function startFakeServer(handle: Handler, routeOf: (method: string, path: string) => string): Promise<FakeServer> {
  const received = new Map<string, number>();
  const accepted = new Map<string, number>();
  const faults = { share: 0, seen: 0, dropAnswer: new Set<string>() };
  let n = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      n += 1;
      const url = new URL(req.url ?? '/', 'http://fake');
      const path = decodeURIComponent(url.pathname);
      const route = routeOf(req.method ?? 'GET', path);
      // Every (1/share)-th request, cycling through 429, 503 and a dropped answer: exactly the share, deterministic.
      const period = faults.share > 0 ? Math.max(1, Math.round(1 / faults.share)) : 0;
      const fault = period && n % period === 0 ? (n / period) % 3 : -1;
      if (fault === 0 || fault === 1) {
        // Not processed: throttled or unavailable.
        faults.seen += 1;
        req.resume();
        res.writeHead(fault === 0 ? 429 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: fault === 0 ? 429 : 503, message: fault === 0 ? 'Quota exceeded (fault injected)' : 'Service unavailable (fault injected)', status: fault === 0 ? 'RESOURCE_EXHAUSTED' : 'UNAVAILABLE' } }));
        return;
      }
      bump(received, route);
      let status = 200;
      let payload: unknown;
      try {
        const body = await readBody(req);
        const out = await handle({ method: req.method ?? 'GET', path, query: url.searchParams, body });
        payload = out.body;
        bump(accepted, route);
      } catch (e) {
        if (!(e instanceof HttpError)) { status = 500; payload = { error: { code: 500, message: String(e) } }; } else { status = e.status; payload = e.body; }
      }
      const drop = faults.dropAnswer.delete(route) && status < 300;
      if (fault === 2 || drop) {
        // Processed, and the answer lost: the client sees a dropped connection.
        faults.seen += 1;
        res.destroy();
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload ?? {}));
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`, received, accepted, faults,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
