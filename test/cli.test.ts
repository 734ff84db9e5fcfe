// lc2-backup, run as the real command against a directory store and an embedded PGlite archive.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { buildManifest } from '../hooks/backup/manifest.ts';
import { backupRequest } from './support/resources.ts';
import { golden } from './support/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'lc2-cli-'));
const env = { ...process.env, LC2_STORAGE_URL: `file://${join(root, 'buckets')}`, LC2_ARCHIVE_DIR: join(root, 'archive') };
const cli = async (...args: string[]) => {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['bin/lc2-backup.ts', ...args], { env, cwd: new URL('..', import.meta.url).pathname });
    return { code: 0, stdout };
  } catch (e) { const err = e as { code: number; stdout: string; stderr: string }; return { code: err.code, stdout: err.stdout + err.stderr }; }
};
const write = (key: string, body: string | Buffer) => { const p = join(root, 'buckets', 'lc2-backups', key); mkdirSync(dirname(p), { recursive: true }); writeFileSync(p, body); };

const br = backupRequest('nightly');
const prefix = 'retail/prd/nightly-1/';
const dump = Buffer.from('pretend this is a zstd pg_dump');

before(() => {
  write(`${prefix}database.pgdump.zst`, dump);
  write(`${prefix}dl/20097/20121/30001/1.0`, 'original one');
  write(`${prefix}dl/20097/20121/30002/1.0`, 'original two');
  const status = {
    backupId: 'nightly-1', location: { bucket: 'lc2-backups', prefix }, startTime: '2026-11-23T02:00:00Z',
    operations: { transfer: { id: 't', state: 'Succeeded' as const, completionTime: '2026-11-23T02:05:00Z' } },
    database: { engine: 'postgresql' as const, format: 'pg_dump-custom+zstd', artifact: `${prefix}database.pgdump.zst`, sizeBytes: dump.length, sha256: createHash('sha256').update(dump).digest('hex'), tool: 'pg_dump 15' },
    documentLibrary: { objectCount: 2, totalBytes: 24, excludedPatterns: [], tool: 'rclone' },
  };
  write(`${prefix}manifest.json`, JSON.stringify(buildManifest(br, br.spec!, status)));
  write('retail/prd/README.txt', 'not a manifest');
});

describe('lc2-backup CLI', () => {
  it('rebuild-archive, history, show, summary', async () => {
    const rebuilt = await cli('rebuild-archive', '--bucket', 'lc2-backups');
    assert.equal(rebuilt.code, 0, rebuilt.stdout);
    assert.match(rebuilt.stdout, /found 1 manifests, archived 1, skipped 4 other files, 0 unparseable/);
    const history = await cli('history', '--project', 'retail');
    assert.match(history.stdout, /^NAME\s+KIND\s+PHASE\s+PROJECT\s+ENV\s+SIZE\s+DURATION\s+COMPLETED$/m);
    assert.match(history.stdout, /^nightly\s+backup\s+Succeeded\s+retail\s+prd\s+54B\s+5m\s+\S+ ago$/m);
    const items = JSON.parse((await cli('history', '-o', 'json')).stdout) as Array<{ uid: string }>;
    assert.equal(items.length, 1);
    assert.equal(items[0]!.uid, br.metadata.uid);
    assert.match((await cli('show', br.metadata.uid!)).stdout, /^backupId:\s+nightly-1$/m);
    assert.equal((await cli('show', 'no-such-uid')).code, 1);
    const summary = JSON.parse((await cli('summary', '-o', 'json')).stdout) as Array<{ successRate: number; totalBytes: number }>;
    assert.deepEqual(summary.map((s) => [s.successRate, s.totalBytes]), [[1, dump.length + 24]]);
  });

  it('rebuild-archive prints tenant-written keys and problems with control characters replaced', async () => {
    const evil = (key: string, body: string) => { const p = join(root, 'buckets', 'evil-backups', key); mkdirSync(dirname(p), { recursive: true }); writeFileSync(p, body); };
    evil('a\u001b[2J\u001b]0;pwned\u0007/manifest.json', 'not json');
    evil('b\n  forged/manifest.json: fine\r/manifest.json', '{}');
    const rebuilt = await cli('rebuild-archive', '--bucket', 'evil-backups');
    assert.equal(rebuilt.code, 1, rebuilt.stdout);
    assert.match(rebuilt.stdout, /2 unparseable/);
    assert.match(rebuilt.stdout, /^ {2}a\?\[2J\?\]0;pwned\?\/manifest\.json: not JSON$/m);
    assert.doesNotMatch(rebuilt.stdout, /[\u0000-\u0009\u000b-\u001f\u007f]/, 'no control character but the line breaks between entries');
    assert.equal(rebuilt.stdout.trimEnd().split('\n').length, 3, 'one line per unparseable manifest');
  });

  it('verify passes on intact artifacts and fails (exit 1) on a corrupt dump', async () => {
    const ok = await cli('verify', '--bucket', 'lc2-backups', '--manifest', `${prefix}manifest.json`);
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, /^database sha256\s+ok/m);
    golden('verify.txt', ok.stdout);
    write(`${prefix}database.pgdump.zst`, Buffer.from('pretend this is a zstd pg_dumq'));
    const bad = await cli('verify', '--bucket', 'lc2-backups', '--manifest', `${prefix}manifest.json`, '-o', 'json');
    assert.equal(bad.code, 1);
    const result = JSON.parse(bad.stdout) as { ok: boolean; checks: Array<{ check: string; ok: boolean }> };
    assert.deepEqual(result.checks.filter((c) => !c.ok).map((c) => c.check), ['database sha256']);
  });

  it('storage-policy prints the policy of a project\'s storage key from its BackupTenant, and refuses one that would widen it', async () => {
    const file = join(root, 'tenants.yaml');
    const tenant = (name: string, dl: string) => `apiVersion: backup.liferay.cloud/v1alpha1\nkind: BackupTenant\nmetadata: {name: ${name}}\nspec: {namespaces: [proj-${name}-prd], documentLibraryBuckets: ["${dl}"], backupBuckets: [lc2-backups]}\n`;
    writeFileSync(file, `${tenant('retail', 'retail-dl')}---\n${tenant('bank', 'bank.dl/x')}`);
    const ok = await cli('storage-policy', '--tenant-file', file, '--project', 'retail');
    assert.equal(ok.code, 0, ok.stdout);
    const policy = JSON.parse(ok.stdout) as { Version: string; Statement: Array<{ Resource: string[] }> };
    assert.equal(policy.Version, '2012-10-17');
    assert.deepEqual(policy.Statement.flatMap((s) => s.Resource), ['arn:aws:s3:::lc2-backups', 'arn:aws:s3:::lc2-backups/retail/*', 'arn:aws:s3:::retail-dl', 'arn:aws:s3:::retail-dl/*']);
    const widening = await cli('storage-policy', '--tenant-file', file, '--project', 'bank');
    assert.equal(widening.code, 1);
    // Refused by the CRD's bucket-name pattern before the generator's own check.
    assert.match(widening.stdout, /documentLibraryBuckets.*"bank.dl\/x" is not valid/);
    assert.equal((await cli('storage-policy', '--tenant-file', file)).code, 2, 'two tenants and no --project');
    assert.equal((await cli('storage-policy', '--tenant-file', file, '--project', 'nobody')).code, 1);
  });

  it('usage errors exit 2 with a message', async () => {
    const r = await cli('frobnicate');
    assert.equal(r.code, 2);
    assert.match(r.stdout, /unknown command "frobnicate"/);
    assert.equal((await cli('verify', '--bucket', 'x')).code, 2);
    assert.equal((await cli('history', '--limit', '9999')).code, 2);
    assert.equal((await cli('history', '--bogus')).code, 2);
  });
});
