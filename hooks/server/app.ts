// The two listeners of the hook server. The hook listener is the one Metacontroller calls: every
// 200 carries the complete status and the complete children list; anything that cannot be
// computed completely is a 5xx (Metacontroller then changes nothing and retries with backoff);
// request bodies of many MB are accepted, but only after the caller proved it is Metacontroller
// (a bearer token, Metacontroller's webhook.authorization). The REST API listens on another port
// (another Service, another NetworkPolicy rule) and parses nothing before it authenticated.
import express, { type NextFunction, type Request, type Response } from 'express';
import { Registry } from 'prom-client';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { BackupRequest, RestoreRequest } from '../../core/crd.ts';
import type { SyncRequest, SyncResponse } from '../contract/types.ts';
import { customizeBackup, finalizeBackup, syncBackup, type BackupShell } from '../backup/sync.ts';
import { activeFor, backupLabels } from '../backup/labels.ts';
import { customizeRestore, finalizeRestore, syncRestore, type RestoreShell } from '../restore/sync.ts';
import { syncSchedule } from '../schedule/sync.ts';
import { historyRouter, type Authenticate } from '../rest/router.ts';
import type { CreateResource } from '../rest/kubernetes.ts';
import type { Archive } from '../archive/store.ts';
import type { BackupSchedule, BackupTenant, OperationStatus } from '../../core/crd.ts';
import { customizeTenant, syncTenant } from '../tenant/sync.ts';
import { statusErrors, type Kind } from '../../core/validation/schema.ts';
import { registry, syncDuration, phaseTransitions, terminalResults } from './metrics.ts';
import { log } from './log.ts';
import { providerLabel, reasonLabel } from './labels.ts';
import { stateMetrics } from './stateMetrics.ts';
import { operationEvents } from './statusEvents.ts';

/** The history REST API, when an archive is configured. */
export interface HistoryDeps { archive: Archive; authenticate: Authenticate; create?: CreateResource }

export interface AppDeps {
  backup: BackupShell;
  restore: RestoreShell;
  /** The clock of the schedule hook (tests pass their own). */
  clock?: () => number;
  bodyLimit?: string;
  ready?: () => boolean;
  /** How long a scrape's read of the backup state is reused (default 10 s; tests read every scrape). */
  metricsCacheMs?: number;
  /** When set, every hook call must carry `Authorization: Bearer <token>` (Metacontroller's webhook.authorization). */
  hookToken?: string;
}

type Handler = (req: SyncRequest, finalize: boolean) => Promise<SyncResponse>;

const optional = (v: unknown, type: 'string' | 'number' | 'object') => v === undefined || (typeof v === type && v !== null && !Array.isArray(v));
const stringMap = (v: unknown) => v === undefined || (!!v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string'));

/** The envelope the API server guarantees (typed metadata, an object status): anything else is a bad request, not a crash. */
function isSyncRequest(body: unknown): body is SyncRequest {
  const b = body as SyncRequest | undefined;
  if (!b || typeof b !== 'object' || !b.parent || typeof b.parent !== 'object' || Array.isArray(b.parent)) return false;
  const m = b.parent.metadata as unknown as Record<string, unknown> | undefined;
  if (!m || typeof m !== 'object' || typeof m.name !== 'string' || !m.name) return false;
  return optional(m.namespace, 'string') && optional(m.uid, 'string') && optional(m.deletionTimestamp, 'string') && optional(m.creationTimestamp, 'string')
    && (m.generation === undefined || Number.isSafeInteger(m.generation)) && stringMap(m.labels) && stringMap(m.annotations)
    && (m.ownerReferences === undefined || Array.isArray(m.ownerReferences)) && optional(b.parent.status, 'object')
    && optional(b.children, 'object') && optional(b.related, 'object');
}

function hook(controller: string, kind: Kind, hookName: string, handle: Handler) {
  return async (req: Request, res: Response): Promise<void> => {
    const end = syncDuration.startTimer({ controller, hook: hookName });
    const body: unknown = req.body;
    if (!isSyncRequest(body)) {
      end({ outcome: 'bad_request' });
      res.status(400).json({ error: 'expected a Metacontroller hook request: parent with typed metadata (name, namespace, uid, generation, ...) and an object status' });
      return;
    }
    const ids = { controller, namespace: body.parent.metadata.namespace, name: body.parent.metadata.name, uid: body.parent.metadata.uid };
    try {
      const finalize = hookName === 'finalize' || body.finalizing === true;
      const out = await handle(body, finalize);
      const problems = responseProblems(kind, out);
      if (problems.length > 0) throw new Error(`refusing to answer with an invalid response: ${problems.join('; ')}`);
      type Tracked = { phase?: string; operations?: Record<string, OperationStatus> };
      const before = (body.parent.status as Tracked | undefined)?.phase;
      const after = (out.status as Tracked).phase;
      for (const e of operationEvents((body.parent.status as Tracked | undefined)?.operations, (out.status as Tracked).operations)) log(e.level, e.msg, { ...ids, ...e.fields });
      if (after && after !== before) {
        const provider = providerLabel((body.parent.spec as { provider?: unknown } | undefined)?.provider);
        phaseTransitions.inc({ kind, provider, phase: after });
        const ready = (out.status as { conditions?: Array<{ type: string; reason: string; message: string }> }).conditions?.find((c) => c.type === 'Ready');
        if (after === 'Succeeded' || after === 'Failed') terminalResults.inc({ kind, provider, phase: after, reason: reasonLabel(ready?.reason) });
        log(after === 'Failed' ? 'warn' : 'info', 'phase changed', { ...ids, from: before ?? null, to: after, reason: ready?.reason, message: ready?.message });
      }
      end({ outcome: 'ok' });
      res.status(200).json({
        status: out.status, children: out.children,
        ...(out.resyncAfterSeconds ? { resyncAfterSeconds: out.resyncAfterSeconds } : {}),
        ...(finalize ? { finalized: out.finalized === true } : {}),
      });
    } catch (e) {
      end({ outcome: 'error' });
      const message = e instanceof Error ? e.message : String(e);
      log('error', 'hook failed', { ...ids, error: message });
      res.status(500).json({ error: message });
    }
  };
}

/** A last check before answering: never a partial body, never a status the API server rejects. */
function responseProblems(kind: Kind, out: SyncResponse): string[] {
  if (!out || typeof out !== 'object') return ['no response'];
  if (!out.status || typeof out.status !== 'object') return ['status missing'];
  if (!Array.isArray(out.children)) return ['children missing'];
  const bad = out.children.filter((c) => !c?.apiVersion || !c.kind || !c.metadata?.name);
  return [...statusErrors(kind, out.status), ...(bad.length ? ['a child lacks apiVersion, kind or metadata.name'] : [])];
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Refuses a hook call without the shared bearer token, before its body is read. */
function requireToken(token: string | undefined) {
  const expected = token ? digest(token) : undefined;
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!expected || req.method !== 'POST') { next(); return; }
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (given && timingSafeEqual(digest(given), expected)) { next(); return; }
    res.setHeader('connection', 'close');
    res.status(401).json({ error: 'hook calls need the bearer token configured in Metacontroller\'s webhook.authorization' });
  };
}

/** Body-parser errors (malformed JSON, too large) answer with JSON, never an HTML page. */
function jsonErrors(err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction): void {
  const status = err.status && err.status >= 400 && err.status < 600 ? err.status : 500;
  log(status >= 500 ? 'error' : 'warn', 'request rejected', { status, type: err.type, error: err.message });
  res.status(status).json({ error: status >= 500 ? 'internal error' : err.message });
}

/** The REST API's own listener: authentication and small bodies are the router's business. */
export function createApiApp(history: HistoryDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use('/api/v1', historyRouter(history.archive, history.authenticate, history.create));
  app.get('/healthz', (_req, res) => { res.status(200).json({ ok: true }); });
  app.use(jsonErrors);
  return app;
}

/** The hook listener Metacontroller calls (plus health and metrics). */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // Metacontroller never sends If-None-Match here; hashing every body costs CPU
  app.use(requireToken(deps.hookToken));
  app.use(express.json({ limit: deps.bodyLimit ?? '32mb' }));

  const backup: Handler = async (req, finalize) => {
    const r = req as SyncRequest<BackupRequest>;
    return finalize ? finalizeBackup(r, deps.backup) : syncBackup(r, deps.backup);
  };
  const restore: Handler = async (req, finalize) => {
    const r = req as SyncRequest<RestoreRequest>;
    return finalize ? finalizeRestore(r, deps.restore) : syncRestore(r, deps.restore);
  };

  app.post('/backuprequest/sync', hook('backuprequest', 'BackupRequest', 'sync', backup));
  app.post('/backuprequest/finalize', hook('backuprequest', 'BackupRequest', 'finalize', backup));
  app.post('/restorerequest/sync', hook('restorerequest', 'RestoreRequest', 'sync', restore));
  app.post('/restorerequest/finalize', hook('restorerequest', 'RestoreRequest', 'finalize', restore));
  // Deleting a schedule needs no clean-up of its own: its BackupRequests are garbage-collected
  // children, and each one's finalize hook applies its own deletion policy.
  const schedule: Handler = async (req, finalize) => finalize
    ? { status: req.parent.status ?? {}, children: [], finalized: true }
    : syncSchedule(req as SyncRequest<BackupSchedule>, (deps.clock ?? Date.now)());
  app.post('/backupschedule/sync', hook('backupschedule', 'BackupSchedule', 'sync', schedule));
  // Environment retention and snapshot-quota reporting per project (hooks/tenant/sync.ts).
  const tenant: Handler = async (req, finalize) => finalize
    ? { status: req.parent.status ?? {}, children: [], finalized: true }
    : syncTenant(req as SyncRequest<BackupTenant>, deps.backup);
  app.post('/backuptenant/sync', hook('backuptenant', 'BackupTenant', 'sync', tenant));
  const customize = <P>(fn: (parent: P) => unknown) => (req: Request, res: Response) => {
    const body = req.body as { parent?: P } | undefined;
    if (!body?.parent) { res.status(400).json({ error: 'expected a customize request with parent' }); return; }
    res.status(200).json(fn(body.parent));
  };
  app.post('/backuprequest/customize', customize<BackupRequest>(customizeBackup));
  // The DecoratorController's sync: the labels related rules select by (hooks/backup/labels.ts).
  app.post('/backuprequest/labels', (req: Request, res: Response) => {
    const body = req.body as { object?: unknown } | undefined;
    if (!isSyncRequest({ parent: body?.object })) { res.status(400).json({ error: 'expected a DecoratorController hook request with object' }); return; }
    const object = body!.object as BackupRequest;
    const now = (deps.clock ?? Date.now)();
    // A finished backup leaves the queue's view when its rank window ends: be called again then.
    const window = activeFor(object, now);
    res.status(200).json({ labels: backupLabels(object, now), attachments: [], ...(window ? { resyncAfterSeconds: window + 1 } : {}) });
  });
  app.post('/restorerequest/customize', customize<RestoreRequest>(customizeRestore));
  app.post('/backuptenant/customize', customize<BackupTenant>(customizeTenant));

  app.get('/healthz', (_req, res) => { res.status(200).json({ ok: true }); });
  app.get('/readyz', (_req, res) => {
    const ready = deps.ready ? deps.ready() : true;
    res.status(ready ? 200 : 503).json({ ready });
  });
  // The process's own metrics plus, with an archive, the backup state read from it at scrape time.
  const state = deps.backup.archive ? stateMetrics(deps.backup.archive, deps.metricsCacheMs) : undefined;
  const metrics = state ? Registry.merge([registry, state.registry]) : registry;
  app.get('/metrics', async (_req, res) => {
    await state?.refresh();
    res.setHeader('Content-Type', metrics.contentType);
    res.send(await metrics.metrics());
  });
  app.use(jsonErrors);
  return app;
}
