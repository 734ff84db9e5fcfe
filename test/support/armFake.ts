// A FAKE of the Azure Resource Manager endpoints the Azure provider calls for PostgreSQL Flexible
// Server (there is no ARM emulator). It is driven through the REAL @azure/arm-postgresql-flexible v9
// client and models what the docs say, nothing more:
//  - ARM async operations (learn.microsoft.com/azure/azure-resource-manager/management/async-operations):
//    a PUT answers 201/202 with an Azure-AsyncOperation header; GET on that URL answers
//    {status: InProgress|Succeeded|Failed|Canceled, error?}; after Succeeded the client GETs the resource.
//    A DELETE answers 202 with a Location header; GET on it answers 202 while running, 200 when done;
//    a DELETE repeated while one runs answers with the same operation (ARM RPC: DELETE is idempotent).
//  - Flexible Server REST API 2025-08-01 (learn.microsoft.com/rest/api/postgresql/flexibleserver):
//    backups (PUT/GET/DELETE .../flexibleServers/{s}/backups/{name}, properties backupType "Customer On-Demand",
//    completedTime), servers (GET; PUT with createMode PointInTimeRestore, sourceServerResourceId,
//    pointInTimeUTC; tags; state Provisioning -> Ready).
//  - long-term retention (same API): POST .../ltrPreBackup -> {properties:{numberOfContainers}}, POST
//    .../startLtrBackup {backupSettings:{backupName}, targetDetails:{sasUriList}} -> 202 + Location, GET
//    .../ltrBackupOperations/{name} -> {properties:{status: Running|Succeeded|Failed, ...}}; when it
//    finishes, the fake writes a dump blob through the given container SAS (as the service would).
//  - 404 {error:{code:"ResourceNotFound"}}, 409 {error:{code:"Conflict"}} while another operation runs on the
//    server, 429 {error:{code:"TooManyRequests"}} with Retry-After (throttling, learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling).
// What it cannot prove: real timings, real error texts, what a second PUT of an existing backup
// name does (undocumented; the provider never sends one), RBAC, networking, real PITR.
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

export const API_VERSION = '2025-08-01';
const PG = 'providers/Microsoft.DBforPostgreSQL/flexibleServers';

interface Op { id: string; status: 'InProgress' | 'Succeeded' | 'Failed'; pollsLeft: number; fail: boolean; done: () => void; kind: 'put' | 'delete' }
export interface FakeServer { rg: string; name: string; location: string; tags: Record<string, string>; state: string; body: Record<string, unknown>; busyWith?: string }
export interface FakeBackup { name: string; backupType: string; completedTime?: string; visible: boolean }
export interface FakeLtr { name: string; status: 'Running' | 'Succeeded' | 'Failed'; pollsLeft: number; sasUrl: string; errorMessage?: string; writing?: boolean }

export interface ArmFake {
  endpoint: string;
  subscriptionId: string;
  servers: Map<string, FakeServer>;
  backups: Map<string, FakeBackup>;
  /** Long-term backups by "rg/server/name" (their SAS is kept here only to write the dump, never exposed by the fake's answers). */
  ltrs: Map<string, FakeLtr>;
  /** Requests the fake accepted (2xx), by "METHOD kind" (e.g. "PUT backup"), and all it received. */
  accepted: Map<string, number>;
  received: Map<string, number>;
  /** Requests the fake accepted, by "METHOD path" (e.g. one backup's PUTs). */
  acceptedPaths: Map<string, number>;
  /** Polls an operation stays InProgress; the next started operation fails when failNext is set. */
  pollsToFinish: number;
  failNext: boolean;
  /** A share of requests answered 429/500 or a dropped connection (before anything is carried out). */
  faults: { share: number; seen: number };
  /**
   * Requests carried out whose answer is then dropped (the connection closed): the next N of a
   * "METHOD kind" (e.g. "PUT backup"), and a share of all non-GET requests.
   */
  dropNext: Map<string, number>;
  drops: { share: number; seen: number };
  /** Server names taken in another subscription (names are global DNS names): a PUT creating one answers 409. */
  takenNames: Set<string>;
  /** Every request path seen (to check nothing secret was sent in URLs is the client's matter; kept for asserts). */
  addServer(rg: string, name: string, location?: string, tags?: Record<string, string>): void;
  close(): Promise<void>;
}

const key = (...parts: string[]) => parts.map((p) => p.toLowerCase()).join('/');

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}
const armError = (res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}) => json(res, status, { error: { code, message } }, headers);

export async function startArmFake(subscriptionId = '00000000-0000-4000-8000-000000000001'): Promise<ArmFake> {
  const servers = new Map<string, FakeServer>();
  const backups = new Map<string, FakeBackup>();
  const ltrs = new Map<string, FakeLtr>();
  const ops = new Map<string, Op>();
  const deleting = new Map<string, Op>();
  const creating = new Map<string, Op>();
  const accepted = new Map<string, number>();
  const received = new Map<string, number>();
  const acceptedPaths = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  let base = '';
  let n = 0;
  const fake: ArmFake = {
    endpoint: '', subscriptionId, servers, backups, ltrs, accepted, received, acceptedPaths, pollsToFinish: 2, failNext: false, faults: { share: 0, seen: 0 },
    dropNext: new Map(), drops: { share: 0, seen: 0 }, takenNames: new Set(),
    addServer: (rg, name, location = 'westeurope', tags = {}) => { servers.set(key(rg, name), { rg, name, location, tags, state: 'Ready', body: {} }); },
    close: async () => undefined,
  };
  const serverJson = (s: FakeServer) => ({
    id: `/subscriptions/${subscriptionId}/resourceGroups/${s.rg}/${PG}/${s.name}`, name: s.name, type: 'Microsoft.DBforPostgreSQL/flexibleServers',
    location: s.location, tags: s.tags, properties: { ...s.body, state: s.state, fullyQualifiedDomainName: `${s.name}.postgres.database.azure.com` },
  });
  const backupJson = (s: FakeServer, b: FakeBackup) => ({
    id: `/subscriptions/${subscriptionId}/resourceGroups/${s.rg}/${PG}/${s.name}/backups/${b.name}`, name: b.name, type: 'Microsoft.DBforPostgreSQL/flexibleServers/backups',
    properties: { backupType: b.backupType, source: 'Customer', ...(b.completedTime ? { completedTime: b.completedTime } : {}) },
  });
  const startOp = (kind: Op['kind'], done: () => void, server?: FakeServer): Op => {
    const op: Op = { id: randomUUID(), status: 'InProgress', pollsLeft: fake.pollsToFinish, fail: fake.failNext, done, kind };
    fake.failNext = false;
    ops.set(op.id, op);
    if (server) server.busyWith = op.id;
    const finish = () => { if (server?.busyWith === op.id) delete server.busyWith; };
    const inner = op.done;
    op.done = () => { finish(); inner(); };
    return op;
  };
  const advance = (op: Op) => {
    if (op.status !== 'InProgress') return;
    if (op.pollsLeft > 0) { op.pollsLeft -= 1; return; }
    op.status = op.fail ? 'Failed' : 'Succeeded';
    if (op.fail) { const s = [...servers.values()].find((x) => x.busyWith === op.id); if (s) delete s.busyWith; } else op.done();
  };
  const asyncHeaders = (op: Op) => ({
    'azure-asyncoperation': `${base}/subscriptions/${subscriptionId}/providers/Microsoft.DBforPostgreSQL/locations/westeurope/azureAsyncOperation/${op.id}?api-version=${API_VERSION}`,
    location: `${base}/subscriptions/${subscriptionId}/providers/Microsoft.DBforPostgreSQL/locations/westeurope/operationResults/${op.id}?api-version=${API_VERSION}`,
  });

  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.searchParams.get('api-version') !== API_VERSION) return armError(res, 400, 'InvalidApiVersionParameter', `api-version ${url.searchParams.get('api-version')} is not ${API_VERSION}`);
    const p = url.pathname.split('/').filter(Boolean);
    // Operation status: .../locations/{loc}/azureAsyncOperation/{id} and .../operationResults/{id}
    const opAt = p.indexOf('azureAsyncOperation') >= 0 ? p.indexOf('azureAsyncOperation') : p.indexOf('operationResults');
    if (opAt >= 0 && req.method === 'GET') {
      const op = ops.get(p[opAt + 1] ?? '');
      if (!op) return armError(res, 404, 'ResourceNotFound', 'no such operation');
      advance(op);
      if (p[opAt] === 'operationResults') return op.status === 'InProgress' ? json(res, 202, undefined, asyncHeaders(op)) : json(res, op.status === 'Failed' ? 500 : 200, op.status === 'Failed' ? { error: { code: 'InternalServerError', message: 'operation failed' } } : {});
      return json(res, 200, { name: op.id, status: op.status, ...(op.status === 'Failed' ? { error: { code: 'InternalServerError', message: 'The backup failed on the server.' } } : {}) });
    }
    // /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{s}[/backups/{b}]
    if (p[0] !== 'subscriptions' || p[1] !== subscriptionId || p[2]?.toLowerCase() !== 'resourcegroups' || p[5] !== 'Microsoft.DBforPostgreSQL' || p[6] !== 'flexibleServers') {
      return armError(res, 404, 'SubscriptionNotFound', `no route ${url.pathname}`);
    }
    const rg = p[3]!;
    const name = p[7]!;
    const s = servers.get(key(rg, name));
    const kind = p[8] === 'backups' ? 'backup' : p[8] === 'ltrPreBackup' ? 'ltr-check' : p[8] === 'startLtrBackup' ? 'ltr-start' : p[8] === 'ltrBackupOperations' ? 'ltr' : 'server';
    bump(received, `${req.method} ${kind}`);
    const dropAnswer = () => {
      const left = fake.dropNext.get(`${req.method} ${kind}`) ?? 0;
      if (left > 0) { fake.dropNext.set(`${req.method} ${kind}`, left - 1); return true; }
      if (req.method === 'GET' || fake.drops.share <= 0 || (n * 6151) % 100 >= fake.drops.share * 100) return false;
      fake.drops.seen += 1;
      return true;
    };
    const ok = (status: number, b: unknown, h: Record<string, string> = {}) => {
      bump(accepted, `${req.method} ${kind}`); bump(acceptedPaths, `${req.method} ${url.pathname}`);
      // Carried out, answer lost: the client sees a reset connection.
      if (dropAnswer()) { res.destroy(); return; }
      json(res, status, b, h);
    };
    if (kind.startsWith('ltr')) {
      if (!s) return armError(res, 404, 'ParentResourceNotFound', `server ${name} not found in resource group ${rg}`);
      if (kind === 'ltr-check' && req.method === 'POST') return ok(200, { properties: { numberOfContainers: 1 } });
      if (kind === 'ltr-start' && req.method === 'POST') {
        const params = JSON.parse(body || '{}') as { backupSettings?: { backupName?: string }; targetDetails?: { sasUriList?: string[] } };
        const ltrName = params.backupSettings?.backupName ?? '';
        const sasUrl = params.targetDetails?.sasUriList?.[0] ?? '';
        if (!ltrName || !/[?&]sig=/.test(sasUrl)) return armError(res, 400, 'InvalidParameterValue', 'backupSettings.backupName and a SAS in targetDetails.sasUriList are required');
        if (ltrs.get(key(rg, name, ltrName))?.status === 'Running') return armError(res, 409, 'Conflict', 'A long-term backup with this name is running.');
        ltrs.set(key(rg, name, ltrName), { name: ltrName, status: 'Running', pollsLeft: fake.pollsToFinish, sasUrl });
        const op = startOp('put', () => undefined);
        op.status = 'Succeeded';
        return ok(202, undefined, { location: asyncHeaders(op).location });
      }
      if (kind === 'ltr' && req.method === 'GET') {
        const l = ltrs.get(key(rg, name, p[9] ?? ''));
        if (!l) return armError(res, 404, 'ResourceNotFound', `long-term backup ${p[9]} not found`);
        if (l.status === 'Running' && !l.writing) {
          if (l.pollsLeft > 0) l.pollsLeft -= 1;
          else {
            // The service writes its dump into the container through the SAS it was given.
            l.writing = true;
            const [base, query] = l.sasUrl.split('?');
            void fetch(`${base}/${l.name}/dump.backup?${query}`, { method: 'PUT', headers: { 'x-ms-blob-type': 'BlockBlob', 'x-ms-version': '2021-12-02' }, body: `pg_dump of ${name}` })
              .then((r) => { l.status = r.ok ? 'Succeeded' : 'Failed'; if (!r.ok) l.errorMessage = `writing to the container answered ${r.status}`; })
              .catch((e: unknown) => { l.status = 'Failed'; l.errorMessage = String(e); })
              .finally(() => { l.writing = false; });
          }
        }
        return ok(200, { id: `/subscriptions/${subscriptionId}/resourceGroups/${rg}/${PG}/${name}/ltrBackupOperations/${l.name}`, name: l.name, type: 'Microsoft.DBforPostgreSQL/flexibleServers/ltrBackupOperations',
          properties: { backupName: l.name, status: l.status, ...(l.errorMessage ? { errorMessage: l.errorMessage } : {}) } });
      }
      return armError(res, 405, 'MethodNotAllowed', `${req.method} ${kind} not modelled`);
    }
    if (kind === 'backup') {
      const backupName = p[9] ?? '';
      if (!s) return armError(res, 404, 'ParentResourceNotFound', `server ${name} not found in resource group ${rg}`);
      const bk = key(rg, name, backupName);
      const b = backups.get(bk);
      // Time passes for an operation nobody polls (its handle was lost): a read of the backup is a tick.
      if (req.method === 'GET' && b && !b.visible) { const op = creating.get(bk); if (op) advance(op); }
      if (req.method === 'GET') return b?.visible ? ok(200, backupJson(s, b)) : armError(res, 404, 'ResourceNotFound', `backup ${backupName} not found`);
      if (req.method === 'PUT') {
        if (s.busyWith) return armError(res, 409, 'Conflict', 'An operation is already in progress on this server.');
        const created: FakeBackup = { name: backupName, backupType: 'Customer On-Demand', visible: false };
        backups.set(bk, created);
        const op = startOp('put', () => { created.visible = true; created.completedTime = new Date().toISOString(); creating.delete(bk); }, s);
        creating.set(bk, op);
        return ok(202, undefined, asyncHeaders(op));
      }
      if (req.method === 'DELETE') {
        if (!b?.visible) return ok(204, undefined);
        if (b.backupType !== 'Customer On-Demand') return armError(res, 400, 'BadRequest', 'automatic backups cannot be deleted');
        // DELETE is idempotent (ARM RPC): a DELETE while one runs answers with the same operation.
        const running = deleting.get(bk);
        const op = running && running.status === 'InProgress' ? running : startOp('delete', () => { backups.delete(bk); deleting.delete(bk); });
        deleting.set(bk, op);
        return ok(202, undefined, { location: asyncHeaders(op).location });
      }
    }
    if (req.method === 'GET') return s ? ok(200, serverJson(s)) : armError(res, 404, 'ResourceNotFound', `server ${name} not found`);
    if (req.method === 'PUT') {
      const params = JSON.parse(body || '{}') as { location?: string; tags?: Record<string, string>; properties?: Record<string, unknown> };
      if (s) {
        // A PUT on an existing server is an update (the provider must never send one for a restore).
        if (s.busyWith) return armError(res, 409, 'Conflict', 'An operation is already in progress on this server.');
        s.tags = params.tags ?? s.tags;
        return ok(200, serverJson(s));
      }
      if (fake.takenNames.has(name.toLowerCase())) return armError(res, 409, 'Conflict', `Specified server name '${name}' is already used.`); // the code Azure sends is not documented: the generic one, which alone would be retried
      const props = params.properties ?? {};
      if (props.createMode === 'PointInTimeRestore') {
        const src = String(props.sourceServerResourceId ?? '').split('/');
        if (!servers.get(key(src[4] ?? '', src[8] ?? ''))) return armError(res, 404, 'ResourceNotFound', 'the source server does not exist');
        if (!props.pointInTimeUTC || Number.isNaN(Date.parse(String(props.pointInTimeUTC)))) return armError(res, 400, 'InvalidParameterValue', 'pointInTimeUTC is required');
      }
      if (!params.location) return armError(res, 400, 'LocationRequired', 'location is required');
      const created: FakeServer = { rg, name, location: params.location, tags: params.tags ?? {}, state: 'Provisioning', body: props };
      servers.set(key(rg, name), created);
      const op = startOp('put', () => { created.state = 'Ready'; }, created);
      return ok(201, serverJson(created), { 'azure-asyncoperation': asyncHeaders(op)['azure-asyncoperation'] });
    }
    return armError(res, 405, 'MethodNotAllowed', `${req.method} not modelled`);
  };

  const server: HttpServer = createServer((req, res) => {
    n += 1;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (fake.faults.share > 0 && (n * 7919) % 100 < fake.faults.share * 100) {
        fake.faults.seen += 1;
        if (n % 3 === 2) { setTimeout(() => res.destroy(), 20); return; }
        if (n % 3 === 0) return armError(res, 429, 'TooManyRequests', 'The request is being throttled.', { 'retry-after': '0' });
        return armError(res, 500, 'InternalServerError', 'An internal error occurred.');
      }
      try { handle(req, res, Buffer.concat(chunks).toString('utf8')); } catch (e) { armError(res, 500, 'FakeBug', String(e)); }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  fake.endpoint = base;
  fake.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return fake;
}
