// A FAKE of the Cloud SQL Admin API v1 (no emulator exists), driven in the tests through the real
// @googleapis/sqladmin client. It models what the reference says (cloud.google.com/sql/docs/
// mysql/admin-api/rest/v1/backups, .../instances/export, .../instances/restoreBackup,
// .../operations): server-assigned backup IDs and operation names, backups found again only by
// listing (description is free text, no duplicate error), operations PENDING/RUNNING for a few
// polls then DONE, one operation per instance at a time (409 operationInProgress), an export that
// writes a real gzip object into fake-gcs-server and fails its operation when the file already
// exists, and a restore into a new instance (409 instanceAlreadyExists when the name is taken).
import { gzipSync } from 'node:zlib';
import type { Storage } from '@google-cloud/storage';
import { HttpError, startFakeServer, type FakeRequest, type FakeServer } from './fakeHttp.ts';

interface Op { finishing?: Promise<void>; name: string; operationType: string; status: 'PENDING' | 'RUNNING' | 'DONE'; targetId: string; insertTime: string; endTime?: string; polls: number; exportContext?: Record<string, unknown>; error?: { errors: Array<{ code: string; message: string }> }; finish: () => Promise<void> }
interface Backup { name: string; id: string; instance: string; description: string; state: string; databaseVersion: string; type: string; maxChargeableBytes: string; backupInterval?: { startTime: string; endTime?: string } }
interface Instance { name: string; databaseVersion: string; state: string; settings: { userLabels: Record<string, string> }; deleted?: boolean }

export interface FakeCloudSql extends FakeServer {
  backups: Map<string, Backup>;
  operations: Map<string, Op>;
  instances: Map<string, Instance>;
  /** pollsToFinish: requests until an operation is DONE (counted over all requests after it started); pageSize: ListBackups page (small, to exercise paging). */
  config: { pollsToFinish: number; pageSize: number };
  /** Adds a backup as someone else would have (a foreign or automated one). */
  addBackup(b: Partial<Backup> & { instance: string; description: string }): Backup;
  addInstance(name: string, databaseVersion?: string, labels?: Record<string, string>): void;
  /** Starts an operation on the instance that is not ours (a maintenance): later calls get 409 until it ends. */
  occupy(instance: string, polls: number): void;
}

const err = (status: number, reason: string, message: string) => new HttpError(status, { error: { code: status, message, errors: [{ domain: 'global', reason, message }] } });

export async function startFakeCloudSql(storage: Storage, project: string): Promise<FakeCloudSql> {
  const backups = new Map<string, Backup>();
  const operations = new Map<string, Op>();
  const instances = new Map<string, Instance>();
  let seq = 1000;
  const now = () => new Date().toISOString();
  const state = { pollsToFinish: 3, pageSize: 2 };

  const busy = (instance: string) => [...operations.values()].some((o) => o.targetId === instance && o.status !== 'DONE');
  const newOp = (operationType: string, targetId: string, finish: () => Promise<void>, extra: Partial<Op> = {}): Op => {
    if (busy(targetId)) throw err(409, 'operationInProgress', 'Operation failed because another operation was already in progress.');
    seq += 1;
    const op: Op = { name: `${operationType.toLowerCase()}-${seq}-${Math.random().toString(16).slice(2, 10)}`, operationType, status: 'PENDING', targetId, insertTime: now(), polls: state.pollsToFinish, finish, ...extra };
    operations.set(op.name, op);
    return op;
  };
  // Every request is a little time passing: operations advance, and finish after a few.
  const tick = async () => {
    const finishing: Promise<void>[] = [];
    for (const op of operations.values()) {
      if (op.status === 'DONE') continue;
      if (op.finishing) { finishing.push(op.finishing); continue; }
      op.polls -= 1;
      op.status = 'RUNNING';
      // Finished once, whatever the number of requests arriving meanwhile (they wait for it).
      if (op.polls <= 0) op.finishing = op.finish().then(() => { op.status = 'DONE'; op.endTime = now(); });
      if (op.finishing) finishing.push(op.finishing);
    }
    await Promise.all(finishing);
  };
  const view = (op: Op) => ({ kind: 'sql#operation', name: op.name, operationType: op.operationType, status: op.status, targetId: op.targetId, targetProject: project, insertTime: op.insertTime, ...(op.endTime ? { endTime: op.endTime } : {}), ...(op.exportContext ? { exportContext: op.exportContext } : {}), ...(op.error ? { error: op.error } : {}) });
  const instanceOf = (name: string) => { const i = instances.get(name); if (!i || i.deleted) throw err(404, 'instanceDoesNotExist', `The Cloud SQL instance does not exist.`); return i; };

  async function handle(req: FakeRequest): Promise<{ route: string; body: unknown }> {
    await tick();
    const p = `/v1/projects/${project}`;
    if (!req.path.startsWith(p)) throw err(403, 'notAuthorized', 'The client is not authorized to make this request.');
    const rest = req.path.slice(p.length);
    let m: RegExpMatchArray | null;
    if (rest === '/backups' && req.method === 'POST') {
      const instance = String(req.body.instance ?? '');
      const inst = instanceOf(instance);
      seq += 1;
      const id = String(seq);
      const b: Backup = { name: `projects/${project}/backups/${id}`, id, instance, description: String(req.body.description ?? ''), state: 'ENQUEUED', databaseVersion: inst.databaseVersion, type: 'ON_DEMAND', maxChargeableBytes: '1073741824' };
      const op = newOp('BACKUP', instance, async () => { b.state = 'SUCCESSFUL'; b.backupInterval = { startTime: op.insertTime, endTime: now() }; });
      backups.set(id, b);
      b.state = 'RUNNING';
      return { route: 'CreateBackup', body: view(op) };
    }
    if (rest === '/backups' && req.method === 'GET') {
      const filter = req.query.get('filter') ?? '';
      const inst = /instance:(\S+)/.exec(filter)?.[1];
      const type = /type:(\S+)/.exec(filter)?.[1];
      const all = [...backups.values()].filter((b) => (!inst || b.instance === inst) && (!type || b.type === type)).reverse();
      const start = Number(req.query.get('pageToken') ?? 0);
      const size = Math.min(Number(req.query.get('pageSize') ?? 500), state.pageSize);
      const page = all.slice(start, start + size);
      return { route: 'ListBackups', body: { backups: page, ...(start + size < all.length ? { nextPageToken: String(start + size) } : {}) } };
    }
    if ((m = /^\/backups\/([^/]+)$/.exec(rest))) {
      const b = backups.get(m[1]!);
      if (!b) throw err(404, 'backupNotFound', 'The backup does not exist.');
      if (req.method === 'GET') return { route: 'GetBackup', body: b };
      if (req.method === 'DELETE') {
        const op = newOp('DELETE_BACKUP', b.instance, async () => { backups.delete(b.id); });
        b.state = 'DELETING';
        return { route: 'DeleteBackup', body: view(op) };
      }
    }
    if ((m = /^\/instances\/([^/]+)\/export$/.exec(rest)) && req.method === 'POST') {
      const instance = m[1]!;
      instanceOf(instance);
      const ctx = (req.body.exportContext ?? {}) as { uri?: string; databases?: string[]; fileType?: string };
      const uri = String(ctx.uri ?? '');
      const at = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri);
      if (!at || ctx.fileType !== 'SQL') throw err(400, 'invalid', 'exportContext.uri must be gs://bucket/object and fileType SQL');
      const op: Op = newOp('EXPORT', instance, async () => {
        // "If the file already exists, the request succeeds, but the operation fails."
        const file = storage.bucket(at[1]!).file(at[2]!);
        if ((await file.exists())[0]) { op.error = { errors: [{ code: 'ERROR_RDBMS', message: `${uri} already exists` }] }; return; }
        const dump = `-- fake Cloud SQL export of ${instance} (${(ctx.databases ?? []).join(',')})\nCREATE TABLE x (id int);\n`.repeat(50);
        await file.save(gzipSync(dump), { resumable: false, contentType: 'application/gzip' });
      }, { exportContext: { kind: 'sql#exportContext', uri, fileType: 'SQL', databases: ctx.databases ?? [] } });
      return { route: 'Export', body: view(op) };
    }
    if (rest === '/operations' && req.method === 'GET') {
      const inst = req.query.get('instance');
      return { route: 'ListOperations', body: { items: [...operations.values()].filter((o) => !inst || o.targetId === inst).reverse().map(view) } };
    }
    if ((m = /^\/operations\/([^/]+)(\/cancel)?$/.exec(rest))) {
      const op = operations.get(m[1]!);
      if (!op) throw err(404, 'operationDoesNotExist', 'The operation does not exist.');
      if (m[2] && req.method === 'POST') {
        if (op.status !== 'DONE') { op.status = 'DONE'; op.endTime = now(); op.error = { errors: [{ code: 'CANCELLED', message: 'cancelled by the user' }] }; }
        return { route: 'CancelOperation', body: {} };
      }
      return { route: 'GetOperation', body: view(op) };
    }
    if ((m = /^\/instances\/([^/]+)\/restoreBackup$/.exec(rest)) && req.method === 'POST') {
      const name = m[1]!;
      if (instances.has(name)) throw err(409, 'instanceAlreadyExists', 'The Cloud SQL instance already exists. When you delete an instance, you can\'t reuse the name of the deleted instance until one week from the deletion date.');
      const settings = req.body.restoreInstanceSettings as { settings?: { userLabels?: Record<string, string> } } | undefined;
      if (!settings) throw err(404, 'instanceDoesNotExist', 'The Cloud SQL instance does not exist (restoreInstanceSettings creates new instances only).');
      const source = [...backups.values()].find((b) => b.name === req.body.backup);
      if (!source || source.state !== 'SUCCESSFUL') throw err(400, 'invalid', `backup ${String(req.body.backup)} cannot be restored`);
      const inst: Instance = { name, databaseVersion: source.databaseVersion, state: 'PENDING_CREATE', settings: { userLabels: settings.settings?.userLabels ?? {} } };
      instances.set(name, inst);
      const op = newOp('RESTORE_VOLUME', name, async () => { inst.state = 'RUNNABLE'; });
      return { route: 'RestoreBackup', body: view(op) };
    }
    if ((m = /^\/instances\/([^/]+)$/.exec(rest)) && req.method === 'GET') return { route: 'GetInstance', body: { kind: 'sql#instance', ...instanceOf(m[1]!) } };
    throw err(404, 'notFound', `no route ${req.method} ${req.path}`);
  }

  const routeOf = (method: string, path: string) => `${method} ${path.replace(/\/(backups|operations|instances)\/[^/]+/g, '/$1/*')}`;
  const server = await startFakeServer(handle, routeOf);
  const fake: FakeCloudSql = Object.assign(server, {
    backups, operations, instances,
    config: state,
    addBackup: (b: Partial<Backup> & { instance: string; description: string }) => {
      seq += 1;
      const id = String(seq);
      const full: Backup = { name: `projects/${project}/backups/${id}`, id, state: 'SUCCESSFUL', databaseVersion: 'POSTGRES_15', type: 'ON_DEMAND', maxChargeableBytes: '1', ...b };
      backups.set(id, full);
      return full;
    },
    addInstance: (name: string, databaseVersion = 'POSTGRES_15', labels: Record<string, string> = {}) => { instances.set(name, { name, databaseVersion, state: 'RUNNABLE', settings: { userLabels: labels } }); },
    occupy: (instance: string, polls: number) => { newOp('MAINTENANCE', instance, async () => undefined, { polls }); },
  });
  return fake;
}
