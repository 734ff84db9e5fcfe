// The history REST API (/api/v1, hooks/rest/openapi.json). Query parameters are validated with
// schemas compiled from that OpenAPI document; every error has one JSON shape; a token only ever
// sees its own projects (a record of another project is "not found", never "forbidden"). Nothing
// of a request body is read before the caller authenticated, and then at most BODY_LIMIT bytes.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { Ajv, type ValidateFunction } from 'ajv';
import type { Archive } from '../archive/store.ts';
import { getHistory, listHistory, listInFlight, summarize } from '../archive/queries.ts';
import { describeError, validateSpec } from '../../core/validation/schema.ts';
import { backupSpecProblems } from '../backup/rules.ts';
import type { BackupRequestSpec, RestoreRequestSpec } from '../../core/crd.ts';
import type { CreateResource, RequestKind } from './kubernetes.ts';

export const OPENAPI = JSON.parse(readFileSync(new URL('./openapi.json', import.meta.url), 'utf8')) as {
  paths: Record<string, { get?: { parameters: Array<{ name: string; in: string; schema: object }> } }>;
};

/** Bearer token → the projects it may read ('*' = all). Static tokens for local use (docs/api.md). */
export type Authenticate = (token: string) => Promise<readonly string[] | '*' | undefined>;

const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, strict: false });
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
function queryValidator(path: string): ValidateFunction {
  const params = OPENAPI.paths[path]!.get!.parameters.filter((p) => p.in === 'query');
  return ajv.compile({ type: 'object', additionalProperties: false, properties: Object.fromEntries(params.map((p) => [p.name, p.schema])) });
}

/** Request bodies of the API (POST /backups, /restores) are small: anything larger is refused. */
export const BODY_LIMIT = 64 * 1024;

/**
 * The one error shape. An answer given before the request body arrived (401, 413, ...) closes the
 * connection, so the server never reads the rest of a body nobody asked for.
 */
const fail = (res: Response, status: number, code: string, message: string) => {
  if (!res.req.complete && !res.headersSent) res.setHeader('Connection', 'close');
  res.status(status).json({ error: { code, message } });
};

function encodeCursor(c: { completedAt: string; uid: string }): string { return Buffer.from(JSON.stringify([c.completedAt, c.uid])).toString('base64url'); }
function decodeCursor(text: string): { completedAt: string; uid: string } | undefined {
  try {
    const [completedAt, uid] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof completedAt === 'string' && !Number.isNaN(Date.parse(completedAt)) && typeof uid === 'string') return { completedAt, uid };
  } catch { /* fall through */ }
  return undefined;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function historyRouter(archive: Archive, authenticate: Authenticate, create?: CreateResource): Router {
  const router = Router();
  const validateList = queryValidator('/api/v1/backups');
  const validateSummary = queryValidator('/api/v1/summary');
  const validateInFlight = queryValidator('/api/v1/in-flight');

  router.use(async (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    const projects = token ? await authenticate(token).catch(() => undefined) : undefined;
    if (!projects) { fail(res, 401, 'Unauthorized', 'send Authorization: Bearer <token> with a token this service knows'); return; }
    res.locals.projects = projects;
    next();
  });

  const checked = (validate: ValidateFunction, req: Request, res: Response): Record<string, unknown> | undefined => {
    const query = { ...(req.query as Record<string, unknown>) };
    if (Object.values(query).some((v) => typeof v !== 'string')) { fail(res, 400, 'BadRequest', 'each query parameter may be given once'); return undefined; }
    if (!validate(query)) { fail(res, 400, 'BadRequest', (validate.errors ?? []).map((e) => describeError('query', e, query)).join('; ')); return undefined; }
    return query;
  };

  /** `projectId` (the design documents' name) is `project`; both at once must agree. */
  const aliasProject = (q: Record<string, unknown>, res: Response): boolean => {
    if (q.projectId !== undefined && q.project !== undefined && q.projectId !== q.project) { fail(res, 400, 'BadRequest', 'query.projectId and query.project name different projects'); return false; }
    if (q.projectId !== undefined) q.project = q.projectId;
    return true;
  };

  router.get('/backups', async (req, res) => {
    const q = checked(validateList, req, res);
    if (!q) return;
    if (!aliasProject(q, res)) return;
    const cursor = typeof q.cursor === 'string' ? decodeCursor(q.cursor) : undefined;
    if (q.cursor !== undefined && !cursor) { fail(res, 400, 'BadRequest', 'query.cursor: not a cursor this API returned'); return; }
    const page = await archive.read((sql) => listHistory(sql, {
      projects: res.locals.projects as readonly string[] | '*', limit: q.limit as number,
      ...(['project', 'environment', 'provider', 'phase', 'kind', 'from', 'to'] as const).reduce((o, k) => (q[k] ? { ...o, [k]: String(q[k]) } : o), {}),
      ...(cursor ? { cursor } : {}),
    }));
    res.json({ items: page.items, ...(page.next ? { nextCursor: encodeCursor(page.next) } : {}) });
  });

  router.get('/backups/:uid', async (req, res) => {
    const uid = req.params.uid ?? '';
    if (!/^[A-Za-z0-9-]{1,64}$/.test(uid)) { fail(res, 400, 'BadRequest', 'path.uid: must be a resource UID'); return; }
    const row = await archive.read((sql) => getHistory(sql, uid, res.locals.projects as readonly string[] | '*'));
    if (!row) { fail(res, 404, 'NotFound', `no backup or restore ${uid} in the projects this token may read`); return; }
    res.json(row);
  });

  router.get('/summary', async (req, res) => {
    const q = checked(validateSummary, req, res);
    if (!q || !aliasProject(q, res)) return;
    const items = await archive.read((sql) => summarize(sql, {
      projects: res.locals.projects as readonly string[] | '*',
      ...(q.project ? { project: String(q.project) } : {}), ...(q.environment ? { environment: String(q.environment) } : {}),
    }));
    res.json({ items });
  });

  // What runs or waits now (not only what finished): phase, since when, each step's state, queue place, backoff.
  router.get('/in-flight', async (req, res) => {
    const q = checked(validateInFlight, req, res);
    if (!q || !aliasProject(q, res)) return;
    const items = await archive.read((sql) => listInFlight(sql, {
      projects: res.locals.projects as readonly string[] | '*',
      ...(['project', 'environment', 'kind'] as const).reduce((o, k) => (q[k] ? { ...o, [k]: String(q[k]) } : o), {}),
    }));
    res.json({ items });
  });

  // Requests go through the Kubernetes API: the resource stays the source of truth, and the API
  // server's own validation (CRD schema, CEL) applies on top of this check.
  const requestRoute = (kind: RequestKind) => async (req: Request, res: Response) => {
    if (!create) { fail(res, 501, 'NotImplemented', 'this server has no Kubernetes API access configured'); return; }
    const body = req.body as { namespace?: unknown; name?: unknown; spec?: unknown } & Record<string, unknown> | undefined;
    // Two forms of one call: {namespace, name?, spec}, or the design documents' form - the spec's
    // fields at the top level, namespace optional (then the project's mapping decides).
    const flat = !!body && typeof body === 'object' && body.spec === undefined && 'projectId' in body;
    const { namespace, name, ...topLevel } = body ?? {};
    const specBody = flat ? topLevel : body?.spec;
    const at = flat ? 'body.' : 'body.spec.';
    if (!(flat && namespace === undefined) && (typeof namespace !== 'string' || !DNS_LABEL.test(namespace))) {
      fail(res, 400, 'BadRequest', flat ? 'body.namespace: a namespace name when given' : 'body.namespace: required, a namespace name (or send the spec\'s fields at the top level)'); return;
    }
    if (name !== undefined && (typeof name !== 'string' || !DNS_NAME.test(name))) { fail(res, 400, 'BadRequest', 'body.name: must be a DNS subdomain name'); return; }
    const checkedSpec = validateSpec<BackupRequestSpec | RestoreRequestSpec>(kind, specBody);
    if (!checkedSpec.ok) { fail(res, 400, 'BadRequest', checkedSpec.errors.join('; ').replaceAll('spec.', at)); return; }
    const spec = checkedSpec.value;
    const problems = kind === 'BackupRequest' ? backupSpecProblems(spec as BackupRequestSpec) : [];
    if (problems.length) { fail(res, 400, 'BadRequest', problems.map((p) => `${p.field.replace('spec.', at)}: ${p.message}`).join('; ')); return; }
    const projects = res.locals.projects as readonly string[] | '*';
    if (projects !== '*' && !projects.includes(spec.projectId)) { fail(res, 403, 'Forbidden', `this token may not request backups or restores of project ${spec.projectId}`); return; }
    try {
      // The creator refuses a namespace the project's BackupTenant does not list before it writes
      // anything, and before the API server could tell whether that namespace exists.
      const result = await create({
        kind, namespace: namespace as string | undefined, name: name as string | undefined, generateName: `${spec.projectId}-${spec.environment}-`,
        projectId: spec.projectId, environment: spec.environment, spec: specBody as object,
      });
      if ('forbidden' in result) { fail(res, 403, 'Forbidden', result.forbidden); return; }
      // The created object (as the design documents answer), with its identity also at the top level (as before).
      const { object, ...identity } = result.created;
      res.status(201).json({ ...object, kind, ...identity });
    } catch (e) {
      const code = (e as { code?: number }).code;
      const message = String((e as { body?: string }).body ?? (e as Error).message).slice(0, 2000);
      if (code === 409) fail(res, 409, 'AlreadyExists', `a ${kind} of that name already exists in ${String(namespace ?? 'its namespace')}`);
      else if (code === 422 || code === 400) fail(res, 400, 'BadRequest', `the Kubernetes API refused it: ${message}`);
      else if (code === 404) fail(res, 400, 'BadRequest', namespace ? `namespace ${String(namespace)} does not exist` : `the namespace of project ${spec.projectId}'s environment ${spec.environment} does not exist`);
      else fail(res, 503, 'Unavailable', 'the Kubernetes API is unavailable; try again later');
    }
  };
  router.post('/backups', readJson, requestRoute('BackupRequest'));
  router.post('/restores', readJson, requestRoute('RestoreRequest'));

  router.get('/openapi.json', (_req, res) => { res.json(OPENAPI); });
  router.use((_req: Request, res: Response) => fail(res, 404, 'NotFound', 'no such API path'));
  router.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => fail(res, 503, 'Unavailable', 'the backup history is unavailable; try again later'));
  return router;
}

const tooLarge = (res: Response) => {
  res.setHeader('Connection', 'close'); // whatever of the body is still to come is never read
  fail(res, 413, 'PayloadTooLarge', `body: at most ${BODY_LIMIT} bytes of JSON`);
};

/**
 * Reads a JSON object of at most BODY_LIMIT bytes into req.body. A declared length over the limit is
 * refused unread; a chunked body stops being read at the limit; either way the connection closes
 * after the 413, so the rest is never read. A body an earlier parser already consumed (a shared
 * listener's express.json) is taken as it is, within the same declared limit.
 */
function readJson(req: Request, res: Response, next: NextFunction): void {
  if (Number(req.headers['content-length'] ?? 0) > BODY_LIMIT) { tooLarge(res); return; }
  if (req.readableEnded || req.body !== undefined) { next(); return; }
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  const [mediaType = '', ...params] = type.split(';').map((p) => p.trim());
  const charset = params.find((p) => p.startsWith('charset='))?.slice(8).replace(/"/g, '');
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (mediaType !== 'application/json' || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') || encoding !== 'identity') {
    fail(res, 415, 'UnsupportedMediaType', 'body: send uncompressed UTF-8 JSON with Content-Type: application/json');
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const stop = () => { req.off('data', onData); req.off('end', onEnd); req.off('error', onError); };
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size <= BODY_LIMIT) { chunks.push(chunk); return; }
    stop();
    req.pause();
    tooLarge(res);
  };
  const onEnd = () => {
    stop();
    let body: unknown;
    try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown; } catch { body = undefined; }
    if (!body || typeof body !== 'object' || Array.isArray(body)) { fail(res, 400, 'BadRequest', 'body: not a JSON object'); return; }
    req.body = body;
    next();
  };
  const onError = () => { stop(); }; // the caller went away: nobody to answer
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
}

const PROJECT_ID = /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/;
const TOKEN = /^[\x21-\x7e]+$/; // what a bearer token in an HTTP header can be
const tokenKey = (token: string) => createHash('sha256').update(token).digest('base64');
const parseJson = (text: string): unknown => { try { return JSON.parse(text) as unknown; } catch { return undefined; } };

/**
 * Static tokens: LC2_API_TOKENS='{"<token>": ["retail", "outlet"], "<admin token>": "*"}'. Looked up
 * as own entries of a Map (never the prototype: "constructor" is no token), keyed by the token's
 * SHA-256. A malformed value is an error that shows no part of it (it holds tokens).
 */
export function staticTokens(json: string | undefined): Authenticate {
  const table = new Map<string, readonly string[] | '*'>();
  const malformed = (why: string) => new Error(`LC2_API_TOKENS is malformed: ${why}; expected a JSON object {"<token>": ["<projectId>", ...] or "*"} (the value is not shown: it holds tokens)`);
  if (json) {
    const parsed = parseJson(json); // its own error message would quote the value
    if (parsed === undefined) throw malformed('not valid JSON');
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw malformed('not a JSON object');
    Object.entries(parsed).forEach(([token, projects]: [string, unknown], i) => {
      if (!TOKEN.test(token)) throw malformed(`the token of entry ${i + 1} is empty or holds spaces or non-ASCII characters`);
      if (projects === '*') { table.set(tokenKey(token), '*'); return; }
      if (!Array.isArray(projects) || !projects.every((p): p is string => typeof p === 'string' && PROJECT_ID.test(p))) {
        throw malformed(`entry ${i + 1} does not map its token to "*" or a list of project IDs (lower-case DNS labels)`);
      }
      table.set(tokenKey(token), Object.freeze([...projects]));
    });
  }
  return async (token) => table.get(tokenKey(token));
}
