// A FAKE of the Storage Transfer Service API v1 over its REST paths (no emulator exists), driven in
// the tests through the real @google-cloud/storage-transfer client with `fallback: true`. It models
// the reference (cloud.google.com/storage-transfer/docs/reference/rest/v1/transferJobs,
// .../transferOperations, "Filter by prefix", "Scheduling"): client-chosen job names, 409
// ALREADY_EXISTS for a name in use (also a DELETED one), a one-time schedule (start date = end
// date) that starts exactly one run on creation when that date is today UTC (none otherwise), latestOperationName empty for a few reads, an
// operation IN_PROGRESS for a few polls with int64 counters as strings, and a run that really copies
// objects between fake-gcs-server buckets, honouring excludePrefixes relative to the source path and
// overwriteWhen DIFFERENT (an identical object already there is "skipped by sync", and then not
// counted in objectsFoundFromSource, as the TransferCounters proto says).
import type { Storage } from '@google-cloud/storage';
import { HttpError, startFakeServer, type FakeRequest, type FakeServer } from './fakeHttp.ts';

interface Job { name: string; projectId: string; description: string; status: string; transferSpec: Spec; schedule?: Record<string, unknown>; latestOperationName?: string; reads: number; creationTime: string }
interface Spec { gcsDataSource?: { bucketName: string; path?: string }; gcsDataSink?: { bucketName: string; path?: string }; objectConditions?: { excludePrefixes?: string[]; includePrefixes?: string[] }; transferOptions?: { overwriteWhen?: string } }
interface Run { name: string; job: string; status: string; counters: Record<string, number>; polls: number; copying: Promise<void>; copied: boolean; startTime: string; endTime?: string; errorBreakdowns?: unknown[] }

export interface FakeStorageTransfer extends FakeServer {
  jobs: Map<string, Job>;
  runs: Map<string, Run>;
  /** Objects written to a sink, per sink key (a second write of the same key would show 2). */
  writes: Map<string, number>;
  /** polls: operation reads before a finished copy says so; emptyReads: job reads with no latestOperationName yet; failKey: source keys that fail to copy. */
  config: { polls: number; emptyReads: number; failKey: (key: string) => boolean };
}

const err = (status: number, grpc: string, message: string) => new HttpError(status, { error: { code: status, message, status: grpc } });
// The REST fallback sends enums as numbers ($alt=json;enum-encoding=int); the service accepts both.
const JOB_STATUS = ['STATUS_UNSPECIFIED', 'ENABLED', 'DISABLED', 'DELETED'];
const OVERWRITE = ['OVERWRITE_WHEN_UNSPECIFIED', 'DIFFERENT', 'NEVER', 'ALWAYS'];
const enumName = (names: string[], v: unknown, fallback: string) => typeof v === 'number' ? names[v] ?? fallback : typeof v === 'string' ? v : fallback;
const sameDate = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const isToday = (d: unknown) => { const n = new Date(); return sameDate(d, { year: n.getUTCFullYear(), month: n.getUTCMonth() + 1, day: n.getUTCDate() }); };

export async function startFakeStorageTransfer(storage: Storage): Promise<FakeStorageTransfer> {
  const jobs = new Map<string, Job>();
  const runs = new Map<string, Run>();
  const writes = new Map<string, number>();
  const config = { polls: 2, emptyReads: 1, failKey: (_key: string) => false };
  let seq = 0;

  async function copy(run: Run, spec: Spec): Promise<void> {
    const src = spec.gcsDataSource!;
    const sink = spec.gcsDataSink!;
    const path = src.path ?? '';
    const excludes = spec.objectConditions?.excludePrefixes ?? [];
    const k = run.counters;
    const [files] = await storage.bucket(src.bucketName).getFiles({ prefix: path });
    for (const f of files) {
      const rel = f.name.slice(path.length);
      if (excludes.some((e) => rel.startsWith(e))) continue;
      const size = Number(f.metadata.size ?? 0);
      if (run.status === 'ABORTED') return;
      // objectsFoundFromSource counts the objects "scheduled to be transferred, excluding any that are
      // filtered based on object conditions or skipped due to sync" (TransferCounters in the proto).
      const found = () => { k.objectsFoundFromSource! += 1; k.bytesFoundFromSource! += size; };
      if (config.failKey(f.name)) { found(); k.objectsFromSourceFailed! += 1; k.bytesFromSourceFailed! += size; continue; }
      const target = storage.bucket(sink.bucketName).file(`${sink.path ?? ''}${rel}`);
      const [there] = await target.exists();
      if (there && spec.transferOptions?.overwriteWhen !== 'ALWAYS') {
        const [meta] = await target.getMetadata();
        if (meta.md5Hash === f.metadata.md5Hash) { k.objectsFromSourceSkippedBySync! += 1; k.bytesFromSourceSkippedBySync! += size; continue; }
      }
      found();
      await f.copy(target);
      writes.set(target.name, (writes.get(target.name) ?? 0) + 1);
      k.objectsCopiedToSink! += 1; k.bytesCopiedToSink! += size;
    }
  }

  function startRun(job: Job): void {
    seq += 1;
    const name = `transferOperations/${job.name.replace('/', '-')}-${Date.now()}${seq}`;
    const counters = Object.fromEntries(['objectsFoundFromSource', 'bytesFoundFromSource', 'objectsCopiedToSink', 'bytesCopiedToSink', 'objectsFromSourceSkippedBySync',
      'bytesFromSourceSkippedBySync', 'objectsFromSourceFailed', 'bytesFromSourceFailed'].map((c) => [c, 0]));
    const run: Run = { name, job: job.name, status: 'IN_PROGRESS', counters, polls: config.polls, copied: false, startTime: new Date().toISOString(), copying: Promise.resolve() };
    run.copying = copy(run, job.transferSpec).then(() => { run.copied = true; }, (e: unknown) => { run.copied = true; run.status = 'FAILED'; run.errorBreakdowns = [{ errorCode: 'UNKNOWN', errorCount: '1', errorLogEntries: [{ url: String(e) }] }]; });
    runs.set(name, run);
    job.latestOperationName = name;
  }

  const strings = (c: Record<string, number>) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, String(v)]));
  const opView = (run: Run) => {
    const done = run.copied && run.polls <= 0 || run.status === 'ABORTED';
    if (done && run.status === 'IN_PROGRESS') { run.status = run.counters.objectsFromSourceFailed! > 0 ? 'FAILED' : 'SUCCESS'; run.endTime = new Date().toISOString(); }
    const job = jobs.get(run.job)!;
    return {
      name: run.name, done,
      metadata: {
        '@type': 'type.googleapis.com/google.storagetransfer.v1.TransferOperation', name: run.name, projectId: job.projectId, transferJobName: run.job,
        transferSpec: job.transferSpec, status: run.status, counters: strings(run.counters), startTime: run.startTime, ...(run.endTime ? { endTime: run.endTime } : {}),
        ...(run.errorBreakdowns ? { errorBreakdowns: run.errorBreakdowns } : {}),
      },
      ...(done ? { response: { '@type': 'type.googleapis.com/google.protobuf.Empty' } } : {}),
    };
  };
  const jobView = (job: Job) => {
    job.reads += 1;
    const { reads: _r, latestOperationName, ...rest } = job;
    return { ...rest, ...(latestOperationName && job.reads > config.emptyReads ? { latestOperationName } : {}) };
  };

  async function handle(req: FakeRequest): Promise<{ route: string; body: unknown }> {
    let m: RegExpMatchArray | null;
    if (req.path === '/v1/transferJobs' && req.method === 'POST') {
      const body = req.body as Partial<Job>;
      const name = String(body.name ?? '');
      if (!/^transferJobs\/(?!OPI)[A-Za-z0-9._~-]*[A-Za-z0-9]$/.test(name) || name.length > 128) throw err(400, 'INVALID_ARGUMENT', `invalid job name ${name}`);
      if (jobs.has(name)) throw err(409, 'ALREADY_EXISTS', `Transfer job ${name} already exists.`);
      const spec = body.transferSpec as Spec | undefined;
      if (spec?.transferOptions) spec.transferOptions.overwriteWhen = enumName(OVERWRITE, spec.transferOptions.overwriteWhen, 'DIFFERENT');
      if (!spec?.gcsDataSource?.bucketName || !spec.gcsDataSink?.bucketName) throw err(400, 'INVALID_ARGUMENT', 'a GCS source and sink are required');
      const sinkPath = spec.gcsDataSink.path ?? '';
      if (sinkPath && !sinkPath.endsWith('/')) throw err(400, 'INVALID_ARGUMENT', 'gcsDataSink.path must end with /');
      const ex = spec.objectConditions?.excludePrefixes ?? [];
      if (ex.length > 1000 || ex.some((e) => !e || e.startsWith('/') || ex.some((o) => o !== e && e.startsWith(o)))) throw err(400, 'INVALID_ARGUMENT', 'invalid excludePrefixes');
      const job: Job = { name, projectId: String(body.projectId ?? ''), description: String(body.description ?? ''), status: enumName(JOB_STATUS, body.status, 'ENABLED'), transferSpec: spec, ...(body.schedule ? { schedule: body.schedule } : {}), reads: 0, creationTime: new Date().toISOString() };
      jobs.set(name, job);
      // A one-time schedule runs immediately on creation, once ("Scheduling": start date = end date, no start time) -
      // when that date is the service's today (UTC); another date runs at a midnight this fake never reaches.
      const s = body.schedule as { scheduleStartDate?: unknown; scheduleEndDate?: unknown; startTimeOfDay?: unknown } | undefined;
      if (job.status === 'ENABLED' && s && sameDate(s.scheduleStartDate, s.scheduleEndDate) && !s.startTimeOfDay && isToday(s.scheduleStartDate)) startRun(job);
      return { route: 'CreateTransferJob', body: jobView(job) };
    }
    if ((m = /^\/v1\/(transferJobs\/.+)$/.exec(req.path)) && !m[1]!.endsWith(':run')) {
      const job = jobs.get(m[1]!);
      if (!job || job.projectId !== req.query.get('projectId')) throw err(404, 'NOT_FOUND', `Transfer job ${m[1]} not found.`);
      if (req.method === 'GET') return { route: 'GetTransferJob', body: jobView(job) };
      if (req.method === 'DELETE') { job.status = 'DELETED'; return { route: 'DeleteTransferJob', body: {} }; }
    }
    if ((m = /^\/v1\/(transferJobs\/.+):run$/.exec(req.path)) && req.method === 'POST') {
      const job = jobs.get(m[1]!);
      if (!job) throw err(404, 'NOT_FOUND', 'no such job');
      if ([...runs.values()].some((r) => r.job === job.name && !opView(r).done)) throw err(400, 'FAILED_PRECONDITION', 'A TransferJob has a maximum of one active TransferOperation.');
      startRun(job);
      return { route: 'RunTransferJob', body: { name: job.latestOperationName, done: false } };
    }
    if ((m = /^\/v1\/(transferOperations\/[^:]+)(:cancel)?$/.exec(req.path))) {
      const run = runs.get(m[1]!);
      if (!run) throw err(404, 'NOT_FOUND', `operation ${m[1]} not found`);
      if (m[2]) { if (!opView(run).done) run.status = 'ABORTED'; return { route: 'CancelOperation', body: {} }; }
      run.polls -= 1;
      return { route: 'GetOperation', body: opView(run) };
    }
    throw err(404, 'NOT_FOUND', `no route ${req.method} ${req.path}`);
  }

  const routeOf = (method: string, path: string) => `${method} ${path.replace(/\/(transferJobs|transferOperations)\/[^:]+/, '/$1/*')}`;
  const server = await startFakeServer(handle, routeOf);
  return Object.assign(server, { jobs, runs, writes, config });
}
