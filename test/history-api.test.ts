// The history REST API on real PostgreSQL: filters, cursor pagination that stays stable while rows
// are inserted, tenant isolation (also by ID), clear 400s, and injection attempts that change nothing;
// static tokens that are only what was configured; request bodies read only after authentication
// and only up to the limit; POSTs only into the namespaces of the project's BackupTenant.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import express from 'express';
import { createPgCluster, type PgCluster } from './support/pgCluster.ts';
import { connect, type Sql } from '../hooks/archive/db.ts';
import { Archive } from '../hooks/archive/store.ts';
import { createApiApp } from '../hooks/server/app.ts';
import { BODY_LIMIT, historyRouter, staticTokens } from '../hooks/rest/router.ts';
import { tenantScopedCreator, type CreateRequest, type CreateResource, type ReadTenant } from '../hooks/rest/kubernetes.ts';
import { API_VERSION } from '../hooks/contract/objects.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';
import type { ArchiveRecord } from '../hooks/archive/records.ts';

let pg: PgCluster;
let sql: Sql;
let archive: Archive;
let server: Server;
let base = '';
const TOKENS = { 'retail-token': ['retail'], 'admin-token': '*' as const, 'two-token': ['retail', 'outlet'] };

function record(i: number, over: Partial<ArchiveRecord> = {}): ArchiveRecord {
  const completed = new Date(Date.parse('2026-11-01T00:00:00Z') + i * 3_600_000).toISOString();
  return {
    uid: `uid-${String(i).padStart(4, '0')}`, kind: 'BackupRequest', namespace: 'proj-retail-prd', name: `b-${i}`, backupId: `b-${i}-x`,
    projectId: i % 3 === 0 ? 'outlet' : 'retail', environment: i % 2 === 0 ? 'prd' : 'uat', provider: 'local', phase: i % 10 === 0 ? 'Failed' : 'Succeeded',
    reason: null, message: null, initiator: 'schedule', startedAt: new Date(Date.parse(completed) - 600_000).toISOString(), completedAt: completed,
    durationSeconds: 600, databaseBytes: 1000, dlObjects: 2, dlBytes: 24, manifestBucket: 'lc2-backups', manifestKey: `k/${i}/manifest.json`,
    deletedAt: null, source: 'cluster', dlBase: '', ...over,
  };
}

before(async () => {
  pg = await createPgCluster();
  sql = await connect(pg.url);
  archive = new Archive(sql);
  for (let i = 0; i < 120; i += 1) await archive.upsert(record(i));
  server = createServer(createApiApp({ archive, authenticate: staticTokens(JSON.stringify(TOKENS)) }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await sql.close();
  pg.remove();
});

async function get(path: string, token = 'admin-token'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}
type Item = { uid: string; projectId: string; environment: string; phase: string; completedAt: string };

describe('history REST API', () => {
  it('lists newest first with filters', async () => {
    const all = await get('/backups?limit=500');
    const items = all.body.items as Item[];
    assert.equal(items.length, 120);
    assert.ok(items.every((x, i) => i === 0 || x.completedAt <= items[i - 1]!.completedAt));
    const failedRetailPrd = (await get('/backups?project=retail&environment=prd&phase=Failed&limit=500')).body.items as Item[];
    // projectId (the design documents' parameter) is the same filter; given both, they must agree.
    assert.deepEqual((await get('/backups?projectId=retail&environment=prd&phase=Failed&limit=500')).body.items, failedRetailPrd);
    assert.deepEqual((await get('/backups?projectId=retail&project=retail&environment=prd&phase=Failed&limit=500')).body.items, failedRetailPrd);
    const both = await get('/backups?projectId=retail&project=outlet');
    assert.equal(both.status, 400);
    assert.deepEqual(((await get('/summary?projectId=retail&environment=prd')).body.items as unknown[]).length, 1);
    assert.ok(failedRetailPrd.length > 0);
    assert.ok(failedRetailPrd.every((x) => x.projectId === 'retail' && x.environment === 'prd' && x.phase === 'Failed'));
    const window = (await get('/backups?from=2026-11-02T00:00:00Z&to=2026-11-03T00:00:00Z&limit=500')).body.items as Item[];
    assert.equal(window.length, 24);
  });

  it('cursor pagination is stable while rows are inserted', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let inserted = 0;
    do {
      const page = await get(`/backups?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(page.status, 200);
      seen.push(...(page.body.items as Item[]).map((x) => x.uid));
      cursor = page.body.nextCursor as string | undefined;
      // Newer backups arrive while paging: they must not shift what the next pages return.
      await archive.upsert(record(1000 + inserted, { uid: `new-${inserted}` }));
      inserted += 1;
    } while (cursor);
    assert.equal(seen.length, 120);
    assert.equal(new Set(seen).size, 120, 'no row twice');
    assert.ok(seen.every((u) => u.startsWith('uid-')), 'rows inserted during paging are newer than the cursor');
  });

  it('a token sees only its projects, also through IDs and summaries', async () => {
    const retail = (await get('/backups?limit=500', 'retail-token')).body.items as Item[];
    assert.ok(retail.length > 0 && retail.every((x) => x.projectId === 'retail'));
    assert.deepEqual((await get('/backups?project=outlet&limit=500', 'retail-token')).body.items, []);
    const outletUid = 'uid-0003';
    assert.equal((await get(`/backups/${outletUid}`, 'admin-token')).status, 200);
    const hidden = await get(`/backups/${outletUid}`, 'retail-token');
    assert.equal(hidden.status, 404);
    assert.deepEqual(Object.keys(hidden.body), ['error']);
    const summary = (await get('/summary', 'retail-token')).body.items as Array<{ projectId: string; successRate: number; totalBytes: number }>;
    assert.deepEqual([...new Set(summary.map((s) => s.projectId))], ['retail']);
    assert.equal((await get('/backups', '')).status, 401);
    assert.equal((await get('/backups', 'forged')).status, 401);
  });

  it('summary per project/environment', async () => {
    const items = (await get('/summary?project=retail&environment=uat')).body.items as Array<Record<string, unknown>>;
    assert.equal(items.length, 1);
    const s = items[0]!;
    assert.equal(s.projectId, 'retail');
    assert.equal(s.averageDurationSeconds, 600);
    assert.equal(s.totalBytes, Number(s.succeeded) * 1024);
    assert.equal(s.successRate, 1, 'no uat backup failed');
    const prd = ((await get('/summary?project=retail&environment=prd')).body.items as Array<Record<string, unknown>>)[0]!;
    assert.equal(prd.successRate, (prd.succeeded as number) / (prd.backups as number));
    assert.ok((prd.failed as number) > 0, 'some prd backups failed');
    assert.equal(prd.succeeded as number + (prd.failed as number), prd.backups);
  });

  const bad: Array<[string, RegExp]> = [
    ['/backups?limit=0', /query\.limit: must be >= 1/],
    ['/backups?limit=abc', /query\.limit: must be integer/],
    ['/backups?phase=Exploded', /query\.phase: "Exploded" is not one of/],
    ['/backups?from=yesterday', /query\.from: must match format "date-time"/],
    ['/backups?colour=blue', /query\.colour: unknown field/],
    ['/backups?cursor=abc', /query\.cursor: not a cursor this API returned/],
    ['/backups?project=a&project=b', /each query parameter may be given once/],
    ['/backups/..%2f..%2fetc', /path\.uid: must be a resource UID/],
  ];
  for (const [path, message] of bad) {
    it(`GET ${path} → 400 with a clear message`, async () => {
      const res = await get(path);
      assert.equal(res.status, 400);
      assert.equal((res.body.error as { code: string }).code, 'BadRequest');
      assert.match((res.body.error as { message: string }).message, message);
    });
  }

  it('SQL injection attempts in every parameter change nothing', async () => {
    const before = await archive.count();
    const attempts = ["retail' or '1'='1", "x'; drop table backup_history; --", 'retail) or (1=1'];
    for (const a of attempts) {
      for (const p of ['project', 'environment', 'provider', 'phase', 'kind', 'from', 'to', 'cursor', 'limit']) {
        const res = await get(`/backups?${p}=${encodeURIComponent(a)}`, 'retail-token');
        assert.ok(res.status === 400 || (res.status === 200 && (res.body.items as unknown[]).length === 0), `${p}=${a} → ${res.status}`);
      }
      const byId = await get(`/backups/${encodeURIComponent(a)}`, 'retail-token');
      assert.ok(byId.status === 400 || byId.status === 404);
    }
    assert.equal(await archive.count(), before);
    assert.equal((await sql.query('select 1 from backup_history limit 1')).length, 1, 'the table is still there');
  });

  it('serves its OpenAPI document', async () => {
    const doc = (await get('/openapi.json')).body as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, '3.0.3');
    assert.deepEqual(Object.keys(doc.paths).sort(), ['/api/v1/backups', '/api/v1/backups/{uid}', '/api/v1/in-flight', '/api/v1/restores', '/api/v1/summary']);
  });
});

describe('a record of another project is not found, exactly like a missing one', () => {
  it('GET /backups/{uid} answers the same 404 for another project\'s backup or restore as for no record at all', async () => {
    await archive.upsert(record(5000, { uid: 'rr-outlet-5000', kind: 'RestoreRequest', projectId: 'outlet', backupId: null, manifestBucket: null, manifestKey: null }));
    const missing = await get('/backups/uid-9999', 'retail-token');
    assert.equal(missing.status, 404);
    const shape = (body: Record<string, unknown>, uid: string) => JSON.stringify(body).replaceAll(uid, '<uid>');
    for (const uid of ['uid-0003', 'rr-outlet-5000']) {
      assert.equal((await get(`/backups/${uid}`, 'admin-token')).status, 200, `${uid} exists`);
      const hidden = await get(`/backups/${uid}`, 'retail-token');
      assert.equal(hidden.status, 404, `${uid} of project outlet is not forbidden but not found`);
      assert.equal(shape(hidden.body, uid), shape(missing.body, 'uid-9999'), 'same code and message as a missing record');
    }
  });
});

describe('static API tokens (LC2_API_TOKENS)', () => {
  const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__', '__lookupGetter__'];

  it('names of Object.prototype are no tokens: 401 on every call', async () => {
    for (const name of PROTOTYPE_NAMES) {
      assert.equal(await staticTokens(JSON.stringify(TOKENS))(name), undefined, name);
      const res = await get('/backups', name);
      assert.equal(res.status, 401, `Bearer ${name}`);
      assert.equal((res.body.error as { code: string }).code, 'Unauthorized');
    }
    // A configured token that happens to be such a name is an ordinary own entry.
    assert.deepEqual(await staticTokens('{"__proto__": ["retail"]}')('__proto__'), ['retail']);
    assert.equal(await staticTokens('{"__proto__": ["retail"]}')('constructor'), undefined);
    assert.deepEqual(await staticTokens(JSON.stringify(TOKENS))('retail-token'), ['retail']);
    assert.equal(await staticTokens(undefined)('retail-token'), undefined);
  });

  it('a malformed LC2_API_TOKENS is an error that shows no part of its value', () => {
    const secret = 'Qx7Zv9Kp3Wm2Rt8Y';
    const malformed = [
      secret, // not JSON at all
      `{"${secret}": ["retail"]`, // truncated
      `{"${secret}" ["retail"]}`,
      `{"retail-token": ["retail"]} ${secret}`,
      `'${secret}'`,
      `["${secret}"]`, // not an object
      `"${secret}"`,
      `{"${secret}": "retail"}`, // not '*' or a list
      `{"${secret}": [1]}`,
      `{"${secret}": ["Not A Project"]}`,
      `{"${secret} x": ["retail"]}`, // a token no header can carry
      `{"retail-token": ["${secret}"]}`,
    ];
    for (const value of malformed) {
      let error: unknown;
      try { staticTokens(value); } catch (e) { error = e; }
      assert.ok(error instanceof Error, `no error for a malformed value (#${malformed.indexOf(value) + 1})`);
      const text = `${error.message}\n${error.stack ?? ''}\n${String((error as { cause?: unknown }).cause ?? '')}`;
      assert.match(error.message, /^LC2_API_TOKENS is malformed/);
      for (let i = 0; i + 4 <= secret.length; i += 1) {
        assert.ok(!text.includes(secret.slice(i, i + 4)), `the error of value #${malformed.indexOf(value) + 1} echoes "${secret.slice(i, i + 4)}"`);
      }
    }
  });
});

const TENANT_NAMESPACES: Record<string, string[]> = { retail: ['proj-retail-prd', 'proj-retail-uat'] };
/** BackupTenants as the API server would return them; outlet has none. */
const readTenant: ReadTenant = async (projectId) => (TENANT_NAMESPACES[projectId]
  ? { apiVersion: API_VERSION, kind: 'BackupTenant', metadata: { name: projectId }, spec: { namespaces: TENANT_NAMESPACES[projectId]! } }
  : undefined);
/** A creator over fake BackupTenants that records what it was asked to create. */
function fakeCreator(created: CreateRequest[], tenants: ReadTenant = readTenant): CreateResource {
  return tenantScopedCreator(tenants, async (r) => {
    created.push(r);
    const name = r.name ?? `${r.generateName}abcde`;
    const uid = `uid-created-${created.length}`;
    return { namespace: r.namespace, name, uid, object: { apiVersion: API_VERSION, kind: r.kind, metadata: { namespace: r.namespace, name, uid }, spec: r.spec } };
  });
}
async function listen(listener: RequestListener): Promise<{ server: Server; base: string }> {
  const s = createServer(listener);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return { server: s, base: `http://127.0.0.1:${(s.address() as { port: number }).port}/api/v1` };
}
async function close(s: Server): Promise<void> {
  s.closeAllConnections();
  await new Promise<void>((r) => s.close(() => r()));
}
async function post(url: string, token: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

describe('POST: only into a namespace of the project\'s BackupTenant', () => {
  const created: CreateRequest[] = [];
  let api: { server: Server; base: string };
  before(async () => { api = await listen(createApiApp({ archive, authenticate: staticTokens(JSON.stringify(TOKENS)), create: fakeCreator(created) })); });
  after(async () => { await close(api.server); });
  const spec = backupRequest('x').spec!;
  const forbidden = (res: { status: number; body: Record<string, unknown> }, message: RegExp) => {
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body), ['error']);
    assert.equal((res.body.error as { code: string }).code, 'Forbidden');
    assert.match((res.body.error as { message: string }).message, message);
  };

  it('a namespace the BackupTenant does not list is 403 (existing or not), and nothing is created', async () => {
    created.length = 0;
    forbidden(await post(`${api.base}/backups`, 'retail-token', { namespace: 'proj-outlet-prd', spec }), /namespace proj-outlet-prd is not one of project retail's namespaces/);
    forbidden(await post(`${api.base}/backups`, 'retail-token', { namespace: 'kube-system', spec }), /namespace kube-system is not one of project retail's namespaces/);
    forbidden(await post(`${api.base}/restores`, 'retail-token', { namespace: 'proj-outlet-prd', spec: restoreRequest('r', {}).spec }), /not one of project retail's namespaces/);
    // Not even an admin token puts a project's request in another project's namespace.
    forbidden(await post(`${api.base}/backups`, 'admin-token', { namespace: 'proj-outlet-prd', spec }), /not one of project retail's namespaces/);
    assert.deepEqual(created, []);
  });

  it('a project without a BackupTenant is 403 with a message that says so', async () => {
    created.length = 0;
    const outlet = { ...spec, projectId: 'outlet', documentLibrary: { ...spec.documentLibrary } };
    forbidden(await post(`${api.base}/backups`, 'two-token', { namespace: 'proj-outlet-prd', spec: outlet }), /project outlet has no BackupTenant/);
    assert.deepEqual(created, []);
  });

  it('a listed namespace is 201, created with the caller\'s project and namespace', async () => {
    created.length = 0;
    const res = await post(`${api.base}/backups`, 'retail-token', { namespace: 'proj-retail-uat', spec });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body, {
      apiVersion: API_VERSION, kind: 'BackupRequest', metadata: { namespace: 'proj-retail-uat', name: 'retail-prd-abcde', uid: 'uid-created-1' }, spec,
      namespace: 'proj-retail-uat', name: 'retail-prd-abcde', uid: 'uid-created-1',
    });
    assert.deepEqual(created.map((c) => [c.kind, c.namespace, c.projectId]), [['BackupRequest', 'proj-retail-uat', 'retail']]);
  });

  // The console contract of the design documents (../shared/seeds/004_*, "Create a Backup (REST API)"), body verbatim.
  const documented = {
    projectId: 'retail', environment: 'prd', provider: 'aws',
    database: { type: 'snapshot', instanceId: 'retail-prd-db' },
    documentLibrary: { sourceBucket: 'retail-prd-liferay-dl', destinationBucket: 'liferay-backups', destinationPrefix: 'retail/prd/20251109/', excludeGeneratedFiles: true },
    retentionDays: 30,
  };

  it('the design documents\' POST body (the spec at the top level, no namespace) is 201 in proj-<projectId>-<environment>', async () => {
    created.length = 0;
    const res = await post(`${api.base}/backups`, 'retail-token', documented);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal((res.body.metadata as { namespace: string }).namespace, 'proj-retail-prd');
    assert.deepEqual(res.body.spec, documented);
    assert.deepEqual(created.map((c) => [c.kind, c.namespace, c.generateName]), [['BackupRequest', 'proj-retail-prd', 'retail-prd-']]);
    // The same body for an environment the tenant has no namespace for, or by another project's caller: 403, nothing created.
    forbidden(await post(`${api.base}/backups`, 'retail-token', { ...documented, environment: 'dev', documentLibrary: { ...documented.documentLibrary, destinationPrefix: 'retail/dev/20251109/' } }), /namespace proj-retail-dev is not one of project retail's namespaces/);
    const outletOnly = await listen(createApiApp({ archive, authenticate: staticTokens(JSON.stringify({ 'outlet-token': ['outlet'] })), create: fakeCreator(created) }));
    try { forbidden(await post(`${outletOnly.base}/backups`, 'outlet-token', documented), /may not request backups or restores of project retail/); } finally { await close(outletOnly.server); }
    assert.equal(created.length, 1);
    // Validation errors name the field where the caller put it.
    const bad = await post(`${api.base}/backups`, 'retail-token', { ...documented, database: { type: 'dump', instanceId: 'x' }, provider: 'nope' });
    assert.equal(bad.status, 400);
    assert.match((bad.body.error as { message: string }).message, /body\.provider: "nope" is not one of/);
    const noEngine = await post(`${api.base}/backups`, 'retail-token', { ...documented, provider: 'local', database: { type: 'dump', instanceId: '127.0.0.1:5432', databaseName: 'lportal' } });
    assert.equal(noEngine.status, 400);
    assert.match((noEngine.body.error as { message: string }).message, /body\.database\.engine: required for a dump/);
  });

  it('a BackupTenant maps an environment to its own namespace for requests that name none', async () => {
    const seen: CreateRequest[] = [];
    const mapped: ReadTenant = async (projectId) => (projectId === 'retail'
      ? { apiVersion: API_VERSION, kind: 'BackupTenant', metadata: { name: 'retail' }, spec: { namespaces: ['retail-production'], environmentNamespaces: { prd: 'retail-production' } } }
      : undefined);
    const app = await listen(createApiApp({ archive, authenticate: staticTokens(JSON.stringify(TOKENS)), create: fakeCreator(seen, mapped) }));
    try {
      const res = await post(`${app.base}/backups`, 'retail-token', documented);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.namespace, 'retail-production');
    } finally { await close(app.server); }
  });

  it('a BackupTenant that cannot be read creates nothing (503), and one named for another project lists nothing', async () => {
    const none: CreateRequest[] = [];
    const failing = await listen(createApiApp({ archive, authenticate: staticTokens(JSON.stringify(TOKENS)), create: fakeCreator(none, async () => { throw Object.assign(new Error('forbidden'), { code: 403 }); }) }));
    const res = await post(`${failing.base}/backups`, 'retail-token', { namespace: 'proj-retail-prd', spec });
    await close(failing.server);
    assert.equal(res.status, 503);
    const impostor = await listen(createApiApp({ archive, authenticate: staticTokens(JSON.stringify(TOKENS)), create: fakeCreator(none, async () => ({ apiVersion: API_VERSION, kind: 'BackupTenant', metadata: { name: 'outlet' }, spec: { namespaces: ['proj-retail-prd'] } })) }));
    forbidden(await post(`${impostor.base}/backups`, 'retail-token', { namespace: 'proj-retail-prd', spec }), /project retail has no BackupTenant/);
    await close(impostor.server);
    assert.deepEqual(none, []);
  });
});

interface Seen { body: unknown; complete: boolean; bytesRead?: number }
interface RawAnswer { status: number; headers: IncomingHttpHeaders; body: Record<string, unknown>; ms: number }

/** An HTTP server around `app` that records, per request, what the app had read when it answered. */
function spied(app: RequestListener, seen: Seen[]): RequestListener {
  const sockets = new WeakSet<object>();
  return (req, res) => {
    const entry: Seen = { body: undefined, complete: false };
    seen.push(entry);
    res.on('finish', () => { entry.body = (req as { body?: unknown }).body; entry.complete = req.complete; });
    if (!sockets.has(req.socket)) {
      sockets.add(req.socket);
      req.socket.once('close', () => { entry.bytesRead = req.socket.bytesRead; });
    }
    app(req, res);
  };
}

/** POSTs a JSON object of `size` bytes (declared, or chunked), writing until the server answers. */
function rawPost(url: string, token: string | undefined, size: number, chunked = false): Promise<RawAnswer> {
  const head = Buffer.from('{"namespace":"proj-retail-prd","pad":"');
  const body = Buffer.concat([head, Buffer.alloc(size - head.length - 2, 'x'), Buffer.from('"}')]);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const req = request(url, {
      method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(chunked ? {} : { 'content-length': String(size) }) },
    });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('close', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>, ms: Date.now() - started });
        req.destroy();
      });
    });
    req.on('error', (e) => { if (!answered) reject(e); }); // EPIPE/ECONNRESET once the server closed: expected
    let sent = 0;
    const pump = () => {
      while (!answered && !req.destroyed && sent < body.length) {
        const piece = body.subarray(sent, sent + 256 * 1024);
        sent += piece.length;
        if (!req.write(piece)) { req.once('drain', pump); return; }
      }
      if (sent >= body.length && !req.destroyed) req.end();
    };
    pump();
  });
}

async function settled(entry: Seen | undefined): Promise<Seen> {
  assert.ok(entry, 'the server saw the request');
  for (let i = 0; i < 100 && entry.bytesRead === undefined; i += 1) await new Promise((r) => setTimeout(r, 20));
  return entry;
}

describe('POST bodies: read by the router, after authentication, at most BODY_LIMIT bytes', () => {
  const MiB = 1024 * 1024;
  const created: CreateRequest[] = [];
  const seen: Seen[] = [];
  let api: { server: Server; base: string };
  before(async () => { api = await listen(spied(createApiApp({ archive, authenticate: staticTokens(JSON.stringify(TOKENS)), create: fakeCreator(created) }), seen)); });
  after(async () => { await close(api.server); });

  it('an unauthenticated 20 MB POST is a 401 at once: the body is never parsed, nor read', async () => {
    seen.length = 0;
    for (const token of [undefined, 'forged']) {
      const res = await rawPost(`${api.base}/backups`, token, 20 * MiB);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { error: { code: 'Unauthorized', message: 'send Authorization: Bearer <token> with a token this service knows' } });
      assert.ok(res.ms < 3000, `answered after ${res.ms} ms`);
      assert.equal(res.headers.connection, 'close');
    }
    for (const entry of seen) {
      const s = await settled(entry);
      assert.equal(s.body, undefined, 'nothing parsed the body');
      assert.equal(s.complete, false, 'answered before the body had even arrived');
      assert.ok(s.bytesRead! < 2 * MiB, `the server read ${s.bytesRead} bytes of a 20 MiB request`);
    }
  });

  it('an authenticated JSON body is parsed by the router itself (no parser in front of it)', async () => {
    created.length = 0;
    const res = await post(`${api.base}/backups`, 'retail-token', { namespace: 'proj-retail-prd', spec: backupRequest('x').spec });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(created.length, 1);
    assert.deepEqual(created[0]!.spec, backupRequest('x').spec);
  });

  it(`a body over ${BODY_LIMIT} bytes is a 413 in the API's error shape, declared or chunked; nothing is created`, async () => {
    created.length = 0;
    seen.length = 0;
    const declared = await rawPost(`${api.base}/backups`, 'retail-token', BODY_LIMIT + 1);
    const chunked = await rawPost(`${api.base}/restores`, 'retail-token', 20 * MiB, true);
    for (const res of [declared, chunked]) {
      assert.equal(res.status, 413);
      assert.deepEqual(Object.keys(res.body), ['error']);
      assert.equal((res.body.error as { code: string }).code, 'PayloadTooLarge');
      assert.match((res.body.error as { message: string }).message, new RegExp(`at most ${BODY_LIMIT} bytes`));
    }
    const chunkedSeen = await settled(seen[1]);
    assert.ok(chunkedSeen.bytesRead! < 2 * MiB, `the server read ${chunkedSeen.bytesRead} bytes of a 20 MiB chunked body`);
    assert.equal(chunkedSeen.body, undefined);
    // Exactly at the limit is fine (it is then refused for its content, not its size).
    const atLimit = await rawPost(`${api.base}/backups`, 'retail-token', BODY_LIMIT);
    assert.equal(atLimit.status, 400);
    assert.match((atLimit.body.error as { message: string }).message, /spec: required/);
    assert.deepEqual(created, []);
  });

  it('malformed JSON is a 400, another media type or a compressed body a 415, in the API\'s error shape', async () => {
    const bad = await post(`${api.base}/backups`, 'retail-token', '{"namespace": ');
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, { error: { code: 'BadRequest', message: 'body: not a JSON object' } });
    assert.equal((await post(`${api.base}/backups`, 'retail-token', '[1, 2]')).status, 400);
    const text = await post(`${api.base}/backups`, 'retail-token', 'namespace=x', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(text.status, 415);
    assert.equal((text.body.error as { code: string }).code, 'UnsupportedMediaType');
    assert.equal((await post(`${api.base}/backups`, 'retail-token', '{}', { 'content-encoding': 'gzip' })).status, 415);
  });

  it('behind a listener that already parsed JSON, the router takes the parsed body, within the same limit', async () => {
    created.length = 0;
    const shared = express();
    shared.use(express.json({ limit: '32mb' }));
    shared.use('/api/v1', historyRouter(archive, staticTokens(JSON.stringify(TOKENS)), fakeCreator(created)));
    const other = await listen(shared);
    try {
      const ok = await post(`${other.base}/backups`, 'retail-token', { namespace: 'proj-retail-prd', spec: backupRequest('x').spec });
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
      const big = await post(`${other.base}/backups`, 'retail-token', { namespace: 'proj-retail-prd', spec: backupRequest('x').spec, pad: 'x'.repeat(BODY_LIMIT) });
      assert.equal(big.status, 413);
      assert.equal((big.body.error as { code: string }).code, 'PayloadTooLarge');
      assert.equal(created.length, 1);
    } finally {
      await close(other.server);
    }
  });
});
