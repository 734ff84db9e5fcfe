// The CLI against a real kube-apiserver with the CRDs (and a directory store and a PGlite archive
// where a verb needs them): every create verb writes what the API server accepts, --wait follows
// phases the test patches into the status subresource, errors exit with the documented codes and
// never show a token, and the plugin runs through kubectl itself (plugin lookup and completion).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import YAML from 'yaml';
import { startKube, apiServerAvailable, type Kube } from './support/kube.ts';
import { freePort } from './support/processes.ts';
import { cli, exec, ROOT, type CliResult } from './support/cli.ts';
import { buildManifest } from '../hooks/backup/manifest.ts';
import { connect } from '../hooks/archive/db.ts';
import { Archive } from '../hooks/archive/store.ts';
import { backupRecord } from '../hooks/archive/records.ts';
import type { BackupRequest, BackupRequestStatus, RestoreRequest } from '../core/crd.ts';

const NS = 'proj-retail-prd';
const NOBODY = 'nobody-token-0123456789';
let kube: Kube;
let env: NodeJS.ProcessEnv;
const dir = mkdtempSync(join(tmpdir(), 'lc2-cli-kube-'));
const seen: CliResult[] = [];
const run = async (argv: string[], extra: NodeJS.ProcessEnv = {}, onErr?: (line: string) => void) => {
  const r = await cli(argv, { env: { ...env, ...extra }, ...(onErr ? { onErr } : {}) });
  seen.push(r);
  return r;
};
const patchStatus = (plural: string, name: string, status: object) =>
  kube.kubectl(['patch', '-n', NS, plural, name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
const get = <T>(plural: string, name: string) => JSON.parse(kube.kubectl(['get', '-n', NS, plural, name, '-o', 'json'])) as T;

/** The part of `actual` that has the keys of `shape` (an object written, read back with defaults added). */
function within(actual: unknown, shape: unknown): unknown {
  if (!shape || typeof shape !== 'object' || Array.isArray(shape) || !actual || typeof actual !== 'object') return actual;
  return Object.fromEntries(Object.keys(shape).map((k) => [k, within((actual as Record<string, unknown>)[k], (shape as Record<string, unknown>)[k])]));
}

const createFlags = ['--project', 'retail', '--env', 'prd', '--db-engine', 'postgresql', '--db-instance', 'retail-prd-db:5432', '--db-name', 'lportal',
  '--db-secret', 'lportal-db', '--dl-bucket', 'retail-prd-dl', '--dl-prefix', 'document_library/', '--backup-bucket', 'lc2-backups', '--retention-days', '30'];

before(async () => {
  assert.ok(apiServerAvailable(), 'kube-apiserver is not built: run bash scripts/bootstrap.sh');
  kube = await startKube({ [NOBODY]: { name: 'nobody', groups: [] } });
  kube.kubectl(['apply', '--server-side', '-k', 'crds/']);
  kube.kubectl(['wait', '--for', 'condition=Established', '--timeout=60s', 'crd/backuprequests.backup.liferay.cloud', 'crd/restorerequests.backup.liferay.cloud', 'crd/backupschedules.backup.liferay.cloud']);
  kube.kubectl(['create', 'namespace', NS]);
  env = { KUBECONFIG: kube.kubeconfig, HOME: dir, LC2_STORAGE_URL: `file://${join(dir, 'buckets')}` };
});
after(async () => {
  await kube?.stop();
  rmSync(dir, { recursive: true, force: true });
  // Whatever happened, no output ever carried a credential.
  for (const r of seen) for (const secret of [kube?.token, NOBODY].filter((t): t is string => !!t)) assert.ok(!`${r.stdout}${r.stderr}`.includes(secret), 'a token was printed');
});

/** A finished local backup: its status, with artifacts and manifest in the directory store. */
function succeed(name: string, completionTime: string): BackupRequestStatus {
  const br = get<BackupRequest>('backuprequests', name);
  const prefix = `retail/prd/${name}-1/`;
  const dump = Buffer.from(`pretend this is the zstd pg_dump of ${name}`);
  const write = (key: string, body: string | Buffer) => { const p = join(dir, 'buckets', 'lc2-backups', key); mkdirSync(dirname(p), { recursive: true }); writeFileSync(p, body); };
  write(`${prefix}database.pgdump.zst`, dump);
  write(`${prefix}dl/1.0`, 'twelve bytes');
  const status: BackupRequestStatus = {
    phase: 'Succeeded', backupId: `${name}-1`, location: { bucket: 'lc2-backups', prefix }, startTime: '2026-11-23T02:00:00Z', completionTime,
    operations: { transfer: { id: 't', state: 'Succeeded', startTime: '2026-11-23T02:00:00Z', completionTime } },
    database: { engine: 'postgresql', format: 'pg_dump-custom+zstd', artifact: `${prefix}database.pgdump.zst`, sizeBytes: dump.length, sha256: createHash('sha256').update(dump).digest('hex'), tool: 'pg_dump 16' },
    documentLibrary: { objectCount: 1, totalBytes: 12, excludedPatterns: [], tool: 'rclone' },
    conditions: [{ type: 'Ready', status: 'True', reason: 'BackupSucceeded', message: 'backup complete', lastTransitionTime: completionTime }],
  };
  write(`${prefix}manifest.json`, JSON.stringify(buildManifest(br, br.spec!, status)));
  status.manifest = { bucket: 'lc2-backups', key: `${prefix}manifest.json`, schemaVersion: 'v1' };
  patchStatus('backuprequests', name, status);
  return status;
}

describe('kubectl lc2 on a real API server', () => {
  it('backup create: the dry run prints what the API server accepts; the create writes it', async () => {
    const dry = await run(['backup', 'create', 'retail-prd-manual', ...createFlags, '-n', NS, '--dry-run=client', '-o', 'yaml']);
    assert.equal(dry.code, 0, dry.stderr);
    const doc = YAML.parse(dry.stdout) as BackupRequest;
    assert.equal(doc.kind, 'BackupRequest');
    assert.equal(doc.spec!.initiator, 'lc2-admin', 'the kubeconfig user asked for it');
    assert.match(kube.kubectl(['apply', '-n', NS, '--dry-run=server', '-f', '-'], dry.stdout), /backuprequest.backup.liferay.cloud\/retail-prd-manual created \(server dry run\)/);
    assert.throws(() => get('backuprequests', 'retail-prd-manual'), /NotFound|not found/, 'a dry run writes nothing');

    const made = await run(['backup', 'create', 'retail-prd-manual', ...createFlags, '-n', NS]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /^backuprequest.backup.liferay.cloud\/retail-prd-manual created: retail\/prd, dump of retail-prd-db:5432 into lc2-backups$/);
    // The API server adds its defaults (deletionPolicy, Secret keys); everything printed is what was written.
    const written = get<BackupRequest>('backuprequests', 'retail-prd-manual').spec;
    assert.deepEqual(within(written, doc.spec), doc.spec);
    assert.equal(written?.deletionPolicy, 'Retain');

    const again = await run(['backup', 'create', 'retail-prd-manual', ...createFlags, '-n', NS]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists \(409\): pick another name/);
    const missing = await run(['backup', 'create', '--project', 'retail', '-n', NS]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--env is required \(or use --from-schedule SCHEDULE\)/);
    const bad = await run(['backup', 'create', ...createFlags, '--retention-days', '99999', '-n', NS, '--dry-run=client']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /retentionDays/);
  });

  it('backup create --from-schedule takes the template (not the service\'s labels)', async () => {
    const spec = get<BackupRequest>('backuprequests', 'retail-prd-manual').spec;
    kube.kubectl(['apply', '-n', NS, '-f', '-'], JSON.stringify({
      apiVersion: 'backup.liferay.cloud/v1alpha1', kind: 'BackupSchedule', metadata: { name: 'nightly' },
      spec: { schedule: '0 2 * * *', template: { metadata: { labels: { team: 'retail', 'backup.liferay.cloud/schedule': 'forged' } }, spec: { ...spec, initiator: 'schedule' } } },
    }));
    patchStatus('backupschedules', 'nightly', { nextScheduleTime: '2099-01-01T02:00:00Z' });
    const r = await run(['backup', 'create', 'nightly-now', '--from-schedule', 'nightly', '-n', NS]);
    assert.equal(r.code, 0, r.stderr);
    const made = get<BackupRequest>('backuprequests', 'nightly-now');
    assert.deepEqual(made.metadata.labels, { team: 'retail' });
    assert.equal(made.spec!.initiator, 'lc2-admin (from schedule nightly)');
    assert.equal(made.spec!.database.instanceId, 'retail-prd-db:5432');
    const mixed = await run(['backup', 'create', '--from-schedule', 'nightly', '--project', 'x', '-n', NS]);
    assert.equal(mixed.code, 2);
    assert.match(mixed.stderr, /drop --project/);
    const none = await run(['backup', 'create', '--from-schedule', 'weekly', '-n', NS]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /BackupSchedule weekly not found in namespace proj-retail-prd/);
  });

  it('backup list and describe read the cluster; a missing one exits 1 and says how to list', async () => {
    succeed('retail-prd-manual', '2026-11-23T02:04:12Z');
    const list = await run(['backup', 'list', '-n', NS]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAME\s+PHASE\s+PROJECT\s+ENV\s+SIZE\s+DURATION\s+AGE$/m);
    assert.match(list.stdout, /^retail-prd-manual\s+Succeeded\s+retail\s+prd\s+\d+B\s+4m12s\s+\S+$/m);
    assert.match(list.stdout, /^nightly-now\s+Pending\s+retail\s+prd\s+-\s+-\s+\S+$/m);
    const all = await run(['backup', 'list', '-A', '-o', 'wide']);
    assert.match(all.stdout, /^NAMESPACE\s+NAME\s+PHASE.*MESSAGE$/m);
    assert.match(all.stdout, /^proj-retail-prd\s+retail-prd-manual\s+Succeeded.*backup complete$/m);
    const json = JSON.parse((await run(['backup', 'list', '-n', NS, '-o', 'json'])).stdout) as { kind: string; items: BackupRequest[] };
    assert.equal(json.kind, 'List');
    assert.deepEqual(json.items.map((i) => i.metadata.name).sort(), ['nightly-now', 'retail-prd-manual']);
    assert.equal((await run(['backup', 'list', '-n', NS, '--env', 'uat'])).stdout, '');

    const d = await run(['backup', 'describe', 'retail-prd-manual', '-n', NS, '--details']);
    assert.equal(d.code, 0, d.stderr);
    for (const line of [/^Phase:\s+Succeeded$/m, /^Duration:\s+4m12s$/m, /^ {2}Objects:\s+1$/m, /^ {2}transfer\s+Succeeded/m,
      /^ {2}Ready\s+True\s+BackupSucceeded/m, /^ {2}Object: lc2-backups\/retail\/prd\/retail-prd-manual-1\/manifest.json$/m, /^Spec \(as admitted\):$/m,
      /^ {4}backupId: retail-prd-manual-1$/m, /^ {4}schemaVersion: /m]) assert.match(d.stdout, line);
    const unread = await run(['backup', 'describe', 'retail-prd-manual', '-n', NS, '--details'], { LC2_STORAGE_URL: '' });
    assert.match(unread.stdout, /^ {2}Content: <set LC2_STORAGE_URL to read it>$/m);
    const gone = await run(['backup', 'describe', 'nope', '-n', NS]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /backup nope not found in namespace proj-retail-prd: list them with kubectl lc2 backup list -n proj-retail-prd/);
  });

  it('verify --backup checks the artifacts its status names; a backup without a manifest exits 1', async () => {
    const ok = await run(['verify', '--backup', 'retail-prd-manual', '-n', NS]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^database sha256\s+ok/m);
    const early = await run(['verify', '--backup', 'nightly-now', '-n', NS]);
    assert.equal(early.code, 1);
    assert.match(early.stderr, /no manifest yet \(phase Pending\)/);
  });

  it('restore create --latest: the newest Succeeded backup, into a NEW database and prefix, accepted by the API server', async () => {
    const dry = await run(['restore', 'create', 'r-dry', '--latest', '--project', 'retail', '--env', 'prd', '-n', NS, '--dry-run=client', '-o', 'yaml']);
    assert.equal(dry.code, 0, dry.stderr);
    const doc = YAML.parse(dry.stdout) as RestoreRequest;
    assert.deepEqual(doc.spec!.source, { backupRef: { name: 'retail-prd-manual' } });
    assert.match(doc.spec!.database.databaseName, /^lportal_restored_\d{8}_\d{4}$/);
    assert.match(doc.spec!.documentLibrary.destinationPrefix, /^document_library-restored-\d{8}-\d{6}$/);
    assert.equal(doc.spec!.documentLibrary.destinationBucket, 'retail-prd-dl');
    assert.deepEqual(doc.spec!.database.credentialsSecretRef, { name: 'lportal-db' });
    assert.match(kube.kubectl(['apply', '-n', NS, '--dry-run=server', '-f', '-'], dry.stdout), /restorerequest.backup.liferay.cloud\/r-dry created \(server dry run\)/);

    const none = await run(['restore', 'create', '--latest', '--project', 'retail', '--env', 'uat', '-n', NS]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no Succeeded backup of retail\/uat in namespace proj-retail-prd/);
    assert.equal((await run(['restore', 'create', '--latest', '--from-backup', 'x', '-n', NS])).code, 2);
    const pending = await run(['restore', 'create', '--from-backup', 'nightly-now', '-n', NS]);
    assert.equal(pending.code, 1);
    assert.match(pending.stderr, /nightly-now is Pending, not Succeeded/);
  });

  it('restore create --wait follows the phases the status reports, one line per change, and exits 0 on Succeeded', async () => {
    const lines: string[] = [];
    let created: () => void = () => undefined;
    const exists = new Promise<void>((resolve) => { created = resolve; });
    const waiting = run(['restore', 'create', 'r-wait', '--from-backup', 'retail-prd-manual', '--database', 'lportal_restored', '--dl-prefix', 'dl-restored', '-n', NS, '--wait'], {},
      (line) => { lines.push(line); if (/r-wait {2}Pending/.test(line)) created(); });
    await exists;
    const step = async (status: object, phase: string) => {
      patchStatus('restorerequests', 'r-wait', status);
      while (!lines.some((l) => l.includes(`r-wait  ${phase}`))) await new Promise((r) => setTimeout(r, 20));
    };
    await step({ phase: 'RestoringDatabase', startTime: '2026-11-23T03:00:00Z', operations: { database: { id: 'd', state: 'Running' } } }, 'RestoringDatabase');
    await step({ phase: 'RestoringDocumentLibrary', operations: { database: { id: 'd', state: 'Succeeded' }, documentLibrary: { id: 'l', state: 'Running' } } }, 'RestoringDocumentLibrary');
    patchStatus('restorerequests', 'r-wait', { phase: 'Succeeded', completionTime: '2026-11-23T03:04:12Z',
      conditions: [{ type: 'Ready', status: 'True', reason: 'RestoreSucceeded', message: 'restored', lastTransitionTime: '2026-11-23T03:04:12Z' }] });
    const r = await waiting;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^restorerequest.backup.liferay.cloud\/r-wait created: backup retail-prd-manual into database lportal_restored on retail-prd-db:5432, document library retail-prd-dl\/dl-restored$/);
    assert.deepEqual(lines.filter((l) => l.startsWith('[')).map((l) => l.replace(/^\[\s*\S+\] /, '')), [
      'r-wait  Pending', 'r-wait  RestoringDatabase  running database', 'r-wait  RestoringDocumentLibrary  running documentLibrary',
      'r-wait  Succeeded  RestoreSucceeded: restored',
    ]);
    const d = await run(['restore', 'describe', 'r-wait', '-n', NS]);
    assert.match(d.stdout, /^Phase:\s+Succeeded$/m);
    assert.match(d.stdout, /^Duration:\s+4m12s$/m);
    assert.match(d.stdout, /^ {2}Database \(new\):\s+lportal_restored$/m);
    assert.match((await run(['restore', 'list', '-n', NS])).stdout, /^r-wait\s+Succeeded\s+retail\s+prd\s+retail-prd-manual\s+lportal_restored\s+4m12s/m);
  });

  it('--wait exits 1 when it fails and 4 when --timeout passes (the restore keeps running)', async () => {
    const failing = run(['restore', 'create', 'r-fail', '--from-backup', 'retail-prd-manual', '-n', NS, '--wait']);
    while (!kube.kubectl(['get', '-n', NS, 'restorerequests', '-o', 'name']).includes('r-fail')) await new Promise((r) => setTimeout(r, 50));
    patchStatus('restorerequests', 'r-fail', { phase: 'Failed', conditions: [{ type: 'Ready', status: 'False', reason: 'ChecksumMismatch', message: 'the dump does not match its manifest', lastTransitionTime: '2026-11-23T03:00:00Z' }] });
    const f = await failing;
    assert.equal(f.code, 1);
    assert.match(f.stderr, /error: r-fail Failed after \S+: ChecksumMismatch: the dump does not match its manifest; see kubectl lc2 restore describe r-fail -n proj-retail-prd/);
    const slow = await run(['restore', 'create', 'r-slow', '--from-backup', 'retail-prd-manual', '-n', NS, '--wait', '--timeout', '1s']);
    assert.equal(slow.code, 4);
    assert.match(slow.stderr, /r-slow is still Pending after \S+ \(--timeout\); it keeps running/);
    assert.equal((await run(['restore', 'create', '--from-backup', 'retail-prd-manual', '-n', NS, '--wait', '--timeout', 'soon'])).code, 2);
  });

  it('status: RPO from the newest Succeeded backup, running and queued, next run; the archive adds backups the cluster no longer has', async () => {
    patchStatus('backuprequests', 'nightly-now', { phase: 'Queued', queue: { position: 1, reason: 'maxConcurrentBackups (1) reached' } });
    const s = await run(['status', '-n', NS]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /^PROJECT\s+ENV\s+LAST-BACKUP\s+RPO\s+RUNNING\s+QUEUED\s+FAILED\s+NEXT\s+LAST-DRILL$/m);
    assert.match(s.stdout, /^retail\s+prd\s+retail-prd-manual\s+\S+\s+0\s+1\s+0\s+in \S+\s+-$/m);
    const rows = JSON.parse((await run(['status', '-n', NS, '-o', 'json'])).stdout) as Array<{ lastVerifiedAt: string; nextScheduledAt: string; lastDrillAt: null }>;
    assert.deepEqual(rows.map((r) => [r.lastVerifiedAt, r.nextScheduledAt, r.lastDrillAt]), [['2026-11-23T02:04:12Z', '2099-01-01T02:00:00Z', null]]);

    const archiveDir = join(dir, 'archive');
    const sql = await connect(undefined, archiveDir);
    const deleted = get<BackupRequest>('backuprequests', 'retail-prd-manual');
    deleted.metadata = { ...deleted.metadata, uid: '99999999-9999-4999-8999-999999999999', name: 'deleted-later' };
    deleted.status = { ...deleted.status, completionTime: '2026-11-24T02:04:12Z' };
    await new Archive(sql).upsert(backupRecord(deleted, '2026-11-24T05:00:00Z'));
    await sql.close();
    const withArchive = JSON.parse((await run(['status', '-n', NS, '-o', 'json'], { LC2_ARCHIVE_DIR: archiveDir })).stdout) as Array<{ lastBackup: string | null; lastVerifiedAt: string }>;
    assert.deepEqual(withArchive.map((r) => [r.lastBackup, r.lastVerifiedAt]), [[null, '2026-11-24T02:04:12.000Z']]);
  });

  it('cluster access: unknown context 2, unreachable server 3, forbidden 1, an exec credential plugin works, no kubeconfig 3', async () => {
    const ctx = await run(['backup', 'list', '--context', 'prod']);
    assert.equal(ctx.code, 2);
    assert.match(ctx.stderr, /--context prod: no such context in .* \(have: lc2\)/);
    const write = (name: string, server: string, token: string) => {
      const file = join(dir, name);
      writeFileSync(file, YAML.stringify({ apiVersion: 'v1', kind: 'Config', 'current-context': 'c', clusters: [{ name: 'c', cluster: { server, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token } }], contexts: [{ name: 'c', context: { cluster: 'c', user: 'u', namespace: NS } }] }));
      return file;
    };
    const down = await run(['backup', 'list', '--kubeconfig', write('down', `https://127.0.0.1:${await freePort()}`, kube.token)]);
    assert.equal(down.code, 3);
    assert.match(down.stderr, /cannot reach the API server at https:\/\/127.0.0.1:\d+ \(ECONNREFUSED\)/);
    const forbidden = await run(['backup', 'list', '--kubeconfig', write('nobody', kube.server, NOBODY)]);
    assert.equal(forbidden.code, 1);
    assert.match(forbidden.stderr, /forbidden \(403\): .*"nobody" cannot list resource "backuprequests"/);
    const unauthorized = await run(['status', '--kubeconfig', write('stale', kube.server, 'expired-token')]);
    assert.equal(unauthorized.code, 3);
    assert.match(unauthorized.stderr, /did not accept your credentials \(401\)/);
    // The server's certificate checked against the kubeconfig's CA (the harness's self-signed one), relative to the kubeconfig.
    const caConfig = join(dirname(kube.kubeconfig), 'ca-kubeconfig');
    writeFileSync(caConfig, YAML.stringify({ apiVersion: 'v1', kind: 'Config', 'current-context': 'c', clusters: [{ name: 'c', cluster: { server: kube.server, 'certificate-authority': 'certs/apiserver.crt' } }],
      users: [{ name: 'u', user: { token: kube.token } }], contexts: [{ name: 'c', context: { cluster: 'c', user: 'u', namespace: NS } }] }));
    assert.equal((await run(['backup', 'list', '--kubeconfig', caConfig])).code, 0, 'verified with the CA file');
    writeFileSync(caConfig, YAML.stringify({ apiVersion: 'v1', kind: 'Config', 'current-context': 'c', clusters: [{ name: 'c', cluster: { server: kube.server } }],
      users: [{ name: 'u', user: { token: kube.token } }], contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }] }));
    const untrusted = await run(['backup', 'list', '--kubeconfig', caConfig]);
    assert.equal(untrusted.code, 3, 'a server certificate no CA vouches for is refused');
    assert.match(untrusted.stderr, /cannot reach the API server .*(SELF_SIGNED|UNABLE_TO|CERT)/);
    // An exec credential plugin (EKS, GKE, OIDC helpers) goes through @kubernetes/client-node.
    const plugin = join(dir, 'credential-plugin.sh');
    writeFileSync(plugin, `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${kube.token}"}}'\n`, { mode: 0o755 });
    const execConfig = join(dir, 'exec');
    writeFileSync(execConfig, YAML.stringify({ apiVersion: 'v1', kind: 'Config', 'current-context': 'c', clusters: [{ name: 'c', cluster: { server: kube.server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'sso', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } } }], contexts: [{ name: 'c', context: { cluster: 'c', user: 'sso', namespace: NS } }] }));
    const viaPlugin = await run(['backup', 'list', '--kubeconfig', execConfig]);
    assert.equal(viaPlugin.code, 0, viaPlugin.stderr);
    assert.match(`${viaPlugin.stdout}${viaPlugin.stderr}`, /^retail-prd-manual\s+Succeeded|^No backups found in proj-retail-prd namespace/m, 'listed with the plugin\'s token (a 401 exits 3)');
    const nothing = await run(['backup', 'list'], { KUBECONFIG: join(dir, 'missing') });
    assert.equal(nothing.code, 3);
    assert.match(nothing.stderr, /no kubeconfig found .*: pass --kubeconfig or set KUBECONFIG/);
  });
});

describe('the installed executables', () => {
  it('kubectl finds the plugin on PATH: kubectl lc2 … runs the same verbs and exit codes', async () => {
    const list = await exec('kubectl', ['lc2', 'backup', 'list', '-n', NS], { KUBECONFIG: kube.kubeconfig });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^retail-prd-manual\s+Succeeded/m);
    const help = await exec('kubectl', ['lc2', 'restore', 'create', '--help']);
    assert.match(help.stdout, /^ {2}kubectl lc2 restore create \[NAME\] \[flags\]$/m);
    assert.equal((await exec('kubectl', ['lc2', 'frobnicate'])).code, 2);
    assert.match((await exec(`${ROOT}bin/lc2-backup.ts`, ['backup', 'list', '-h'])).stdout, /^ {2}lc2-backup backup list \[flags\]$/m);
  });

  it('kubectl completes the plugin through kubectl_complete-lc2, with names from the API server', async () => {
    const verbs = await exec('kubectl', ['__complete', 'lc2', 'backup', 'd'], { KUBECONFIG: kube.kubeconfig });
    assert.match(verbs.stdout, /^describe$/m);
    const names = await exec('kubectl', ['__complete', 'lc2', 'backup', 'describe', '-n', NS, 'retail'], { KUBECONFIG: kube.kubeconfig });
    assert.match(names.stdout, /^retail-prd-manual$/m);
    assert.doesNotMatch(names.stdout, /^nightly-now$/m);
    const flags = await run(['__complete', 'restore', 'create', '-n', NS, '--from-backup', '']);
    assert.deepEqual(flags.stdout.split('\n').sort(), [':4', 'nightly-now', 'retail-prd-manual']);
    assert.deepEqual((await run(['__complete', 'backup', 'list', '-o', ''])).stdout.split('\n'), ['json', 'yaml', 'wide', ':4']);
  });

  it('completion bash: the script completes verbs in a real bash', async () => {
    const script = (await exec(`${ROOT}bin/kubectl-lc2`, ['completion', 'bash'])).stdout;
    const r = await exec('bash', ['-c', `${script}\nCOMP_WORDS=(kubectl-lc2 restore c); COMP_CWORD=2; _kubectl_lc2; echo "\${COMPREPLY[@]}"`]);
    assert.equal(r.stdout.trim(), 'create', r.stderr);
    assert.match((await exec(`${ROOT}bin/kubectl-lc2`, ['completion', 'zsh'])).stdout, /^compdef _kubectl_lc2 kubectl-lc2$/m);
    assert.equal((await exec(`${ROOT}bin/kubectl-lc2`, ['completion', 'fish'])).code, 2);
  });
});
