// The main job on embedded defaults: a real backup and restore of a sample Liferay environment
// through the real hook server. A local directory stands in for the buckets; PostgreSQL is the
// machine's (127.0.0.1:5432, user postgres; override with PGHOST/PGPORT/PGUSER/PGPASSWORD).
// Metacontroller is played by the same driver the tests use; each Job's real command runs locally.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { startServer } from '../app/main.ts';
import { loadConfig } from '../app/config.ts';
import { configureLog } from '../hooks/server/log.ts';
import { MetacontrollerDriver } from '../test/support/driver.ts';
import { API_VERSION } from '../hooks/contract/objects.ts';
import type { BackupRequest, BackupRequestStatus, RestoreRequest, RestoreRequestStatus } from '../core/crd.ts';
import { createSampleDatabase, dropDatabase, sampleDocumentLibrary, tableFingerprint, type DbTarget } from './sample.ts';
import { table, timeline, type PhaseMark } from './report.ts';
import { randomBytes } from 'node:crypto';

const root = resolve(process.env.LC2_DEMO_DIR ?? '.demo');
const buckets = join(root, 'buckets');
const pg: DbTarget = {
  engine: 'postgresql', host: process.env.PGHOST ?? '127.0.0.1', port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'postgres', password: process.env.PGPASSWORD ?? '',
};
const files = Number(process.env.LC2_DEMO_FILES ?? 200);
const say = (line: string) => console.log(line);
// When each resource entered each phase (the driver reports "Kind name: from -> to"): the timeline.
const marks = new Map<string, PhaseMark[]>();
const progress = (line: string) => {
  say(`   ${line}`);
  const m = /^(\w+) (\S+): (\S+) -> (\S+)$/.exec(line);
  if (!m) return;
  const list = marks.get(m[2]!) ?? [];
  if (list.length === 0) list.push({ phase: m[3] === '-' ? 'Created' : m[3]!, at: started });
  list.push({ phase: m[4]!, at: Date.now() });
  marks.set(m[2]!, list);
};
let started = Date.now();

configureLog({ level: 'warn' });
rmSync(root, { recursive: true, force: true });
say(`LC2 backup demo — buckets in ${buckets}`);

say(`1. sample Liferay environment: database lc2_demo_lportal (${files} DLFileEntry/DLFileVersion rows) + document_library/`);
createSampleDatabase(pg, 'lc2_demo_lportal', files);
const library = sampleDocumentLibrary(files);
for (const f of library) {
  const path = join(buckets, 'liferay-dl', f.key);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, f.body);
}
const originals = library.filter((f) => !f.generated).length;
say(`   ${library.length} files: ${originals} originals, ${library.length - originals} generated previews/thumbnails/adaptive renditions`);

// One machine, one tenant: the tenant boundary (BackupTenant objects) needs a cluster.
// A token of the demo's own for its REST API (the history row at the end).
const token = randomBytes(16).toString('hex');
const server = await startServer(loadConfig({
  ...process.env, PORT: '0', LC2_API_PORT: '0', LC2_STORAGE_URL: `file://${buckets}`, LC2_TENANCY: 'off', LC2_ARCHIVE_DIR: join(root, 'archive'),
  LC2_API_TOKENS: JSON.stringify({ [token]: '*' }),
}));
const hookUrl = () => `http://127.0.0.1:${server.port}`;
say(`2. hook server listening on ${hookUrl()}`);
const secrets = { 'lportal-db': { username: pg.user, password: pg.password } };
const meta = (name: string) => ({ name, namespace: 'proj-retail-prd', uid: crypto.randomUUID(), generation: 1 });

const backup: BackupRequest = {
  apiVersion: API_VERSION, kind: 'BackupRequest', metadata: meta('retail-prd-demo'),
  spec: {
    projectId: 'retail', environment: 'prd', provider: 'local', initiator: 'demo',
    database: { engine: 'postgresql', type: 'dump', instanceId: `${pg.host}:${pg.port}`, databaseName: 'lc2_demo_lportal', credentialsSecretRef: { name: 'lportal-db' } },
    documentLibrary: { sourceBucket: 'liferay-dl', sourcePrefix: 'document_library/', destinationBucket: 'lc2-backups', excludeGeneratedFiles: true },
  },
};
say('3. BackupRequest retail-prd-demo');
started = Date.now();
const br = new MetacontrollerDriver(backup, { hookUrl, syncPath: '/backuprequest/sync', secrets, onProgress: progress });
const phase = await br.runToCompletion();
const bs = br.status as BackupRequestStatus;
say(`   ${phase}: ${bs.conditions?.find((c) => c.type === 'Ready')?.message}`);
if (phase !== 'Succeeded') { for (const r of br.jobRuns) say(r.stderr); await server.close(); process.exit(1); }
await br.sync(); // the echo of the final status write: the finished backup goes into the history
say(`   history: ${(br.status as BackupRequestStatus).conditions?.find((c) => c.type === 'Archived')?.message ?? 'not archived'} (PGlite in ${join(root, 'archive')})`);

say('4. RestoreRequest into a NEW database (lc2_demo_restored) and a NEW prefix');
dropDatabase(pg, 'lc2_demo_restored');
const restore: RestoreRequest = {
  apiVersion: API_VERSION, kind: 'RestoreRequest', metadata: meta('retail-prd-restore'),
  spec: {
    projectId: 'retail', environment: 'prd', provider: 'local', source: { backupRef: { name: 'retail-prd-demo' } },
    database: { instanceId: `${pg.host}:${pg.port}`, databaseName: 'lc2_demo_restored', credentialsSecretRef: { name: 'lportal-db' } },
    documentLibrary: { destinationBucket: 'liferay-dl-restored', destinationPrefix: 'document_library' },
  },
};
started = Date.now();
const rr = new MetacontrollerDriver(restore, {
  hookUrl, syncPath: '/restorerequest/sync', secrets, onProgress: progress,
  related: () => ({ [`BackupRequest.${API_VERSION}`]: { 'proj-retail-prd/retail-prd-demo': br.parent } }),
});
const restored = await rr.runToCompletion();
const rs = rr.status as RestoreRequestStatus;
say(`   ${restored}: ${rs.conditions?.find((c) => c.type === 'Ready')?.message}`);

const same = JSON.stringify(tableFingerprint(pg, 'lc2_demo_restored')) === JSON.stringify(tableFingerprint(pg, 'lc2_demo_lportal'));
say(`5. check: restored tables ${same ? 'identical to' : 'DIFFERENT FROM'} the source; ${rs.documentLibrary?.objectCount ?? 0}/${originals} original files restored`);
say(`   manifest: ${join(buckets, bs.manifest!.bucket, bs.manifest!.key)}`);
await rr.sync(); // the restore's echo: it goes into the history too

say('\n$ kubectl get br,rr -n proj-retail-prd');
const age = (t?: string) => (t ? `${Math.max(0, Math.round((Date.now() - Date.parse(t)) / 1000))}s` : '');
say(table(['NAME', 'PHASE', 'PROJECT', 'ENVIRONMENT', 'PROVIDER', 'SIZE', 'AGE'], [
  [`backuprequest/${backup.metadata.name}`, br.phase ?? '', 'retail', 'prd', 'local', bs.totalSize ?? '', age(bs.startTime)],
  [`restorerequest/${restore.metadata.name}`, rr.phase ?? '', 'retail', 'prd', 'local', '', age(rs.startTime)],
]));

say(`\n$ curl -H 'Authorization: Bearer ...' http://127.0.0.1:${server.apiPort}/api/v1/backups?project=retail`);
const history = await (await fetch(`http://127.0.0.1:${server.apiPort}/api/v1/backups?project=retail`, { headers: { authorization: `Bearer ${token}` } })).json() as { items: Array<Record<string, unknown>> };
say(table(['KIND', 'NAME', 'PHASE', 'COMPLETED', 'DURATION', 'DATABASE', 'DOCUMENTS'], history.items.map((h) => [
  String(h.kind), String(h.name), String(h.phase), String(h.completedAt ?? ''), h.durationSeconds === null ? '' : `${String(h.durationSeconds)}s`,
  h.databaseBytes === null ? '' : `${String(h.databaseBytes)} B`, h.documentLibraryObjects === null ? '' : `${String(h.documentLibraryObjects)} files, ${String(h.documentLibraryBytes)} B`,
])));

say('\ntimeline (each phase as long as it lasted)');
for (const [name, list] of marks) say(timeline(name.padEnd(20), list));
await server.close();
process.exit(restored === 'Succeeded' && same && rs.documentLibrary?.objectCount === originals ? 0 : 1);
