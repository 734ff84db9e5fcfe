// The history REST API (/api/v1, hooks/api/openapi.json). Query parameters are validated with
// schemas compiled from that OpenAPI document; every error has one JSON shape; a token only ever
// sees its own projects (a record of another project is "not found", never "forbidden").
import { readFileSync } from 'node:fs';
import { Router, type Request, type Response } from 'express';
import { Ajv, type ValidateFunction } from 'ajv';
import type { Archive } from '../archive/store.ts';
import { getHistory, listHistory, summarize } from '../archive/queries.ts';
import { describeError, validateSpec } from '../validation/schema.ts';
import { backupSpecProblems } from '../backup/rules.ts';
import type { BackupRequestSpec, RestoreRequestSpec } from '../api.ts';
import type { CreateResource } from './kubernetes.ts';

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

const fail = (res: Response, status: number, code: string, message: string) => { res.status(status).json({ error: { code, message } }); };

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

  router.get('/backups', async (req, res) => {
    const q = checked(validateList, req, res);
    if (!q) return;
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
    if (!q) return;
    const items = await archive.read((sql) => summarize(sql, {
      projects: res.locals.projects as readonly string[] | '*',
      ...(q.project ? { project: String(q.project) } : {}), ...(q.environment ? { environment: String(q.environment) } : {}),
    }));
    res.json({ items });
  });

  // Requests go through the Kubernetes API: the resource stays the source of truth, and the API
  // server's own validation (CRD schema, CEL) applies on top of this check.
  const requestRoute = (kind: 'BackupRequest' | 'RestoreRequest') => async (req: Request, res: Response) => {
    if (!create) { fail(res, 501, 'NotImplemented', 'this server has no Kubernetes API access configured'); return; }
    const body = req.body as { namespace?: unknown; name?: unknown; spec?: unknown } | undefined;
    if (typeof body?.namespace !== 'string' || !DNS_LABEL.test(body.namespace)) { fail(res, 400, 'BadRequest', 'body.namespace: required, a namespace name'); return; }
    if (body.name !== undefined && (typeof body.name !== 'string' || !DNS_NAME.test(body.name))) { fail(res, 400, 'BadRequest', 'body.name: must be a DNS subdomain name'); return; }
    const checkedSpec = validateSpec<BackupRequestSpec | RestoreRequestSpec>(kind, body.spec);
    if (!checkedSpec.ok) { fail(res, 400, 'BadRequest', checkedSpec.errors.join('; ').replaceAll('spec.', 'body.spec.')); return; }
    const spec = checkedSpec.value;
    const problems = kind === 'BackupRequest' ? backupSpecProblems(spec as BackupRequestSpec) : [];
    if (problems.length) { fail(res, 400, 'BadRequest', problems.map((p) => `${p.field.replace('spec.', 'body.spec.')}: ${p.message}`).join('; ')); return; }
    const projects = res.locals.projects as readonly string[] | '*';
    if (projects !== '*' && !projects.includes(spec.projectId)) { fail(res, 403, 'Forbidden', `this token may not request backups or restores of project ${spec.projectId}`); return; }
    try {
      const created = await create(kind, body.namespace, body.name as string | undefined, `${spec.projectId}-${spec.environment}-`, body.spec as object);
      res.status(201).json({ kind, ...created });
    } catch (e) {
      const code = (e as { code?: number }).code;
      const message = String((e as { body?: string }).body ?? (e as Error).message).slice(0, 2000);
      if (code === 409) fail(res, 409, 'AlreadyExists', `a ${kind} of that name already exists in ${body.namespace}`);
      else if (code === 422 || code === 400) fail(res, 400, 'BadRequest', `the Kubernetes API refused it: ${message}`);
      else if (code === 404) fail(res, 400, 'BadRequest', `namespace ${body.namespace} does not exist`);
      else fail(res, 503, 'Unavailable', 'the Kubernetes API is unavailable; try again later');
    }
  };
  router.post('/backups', requestRoute('BackupRequest'));
  router.post('/restores', requestRoute('RestoreRequest'));

  router.get('/openapi.json', (_req, res) => { res.json(OPENAPI); });
  router.use((_req: Request, res: Response) => fail(res, 404, 'NotFound', 'no such API path'));
  router.use((_err: Error, _req: Request, res: Response, _next: (e?: unknown) => void) => fail(res, 503, 'Unavailable', 'the backup history is unavailable; try again later'));
  return router;
}

/** Static tokens: LC2_API_TOKENS='{"<token>": ["retail", "outlet"], "<admin token>": "*"}'. */
export function staticTokens(json: string | undefined): Authenticate {
  const table = json ? JSON.parse(json) as Record<string, string[] | '*'> : {};
  return async (token) => table[token];
}
