// Golden files (test/golden/cli/) of what a person reads: --help of every verb, and every table and
// describe view at a fixed clock. The archive tables come from the real command on an embedded
// PGlite archive. UPDATE_GOLDEN=1 rewrites the files after a deliberate change.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VERBS, GROUPS } from '../cli/spec.ts';
import { backupTable, describeBackup, describeRestore, restoreTable } from '../cli/views.ts';
import { environmentHealth, healthTable } from '../cli/health.ts';
import { connect } from '../hooks/archive/db.ts';
import { Archive } from '../hooks/archive/store.ts';
import { backupRecord, restoreRecord } from '../hooks/archive/records.ts';
import { cli, golden } from './support/cli.ts';
import { NOW, fixtureBackups, fixtureRestores, fixtureSchedules } from './support/cliFixtures.ts';

describe('--help', () => {
  it('top level, each group and each verb (golden), exit 0', async () => {
    const top = await cli(['--help']);
    assert.equal(top.code, 0);
    golden('help.txt', top.stdout);
    assert.equal((await cli([])).stdout, top.stdout, 'no arguments prints the same help');
    for (const group of Object.keys(GROUPS)) golden(`help-${group}.txt`, (await cli([group])).stdout);
    for (const verb of VERBS) {
      const r = await cli([...verb.path, '--help']);
      assert.equal(r.code, 0, `${verb.path.join(' ')} --help: ${r.stderr}`);
      golden(`help-${verb.path.join('-')}.txt`, r.stdout);
      assert.equal((await cli(['help', ...verb.path])).stdout, r.stdout, `help ${verb.path.join(' ')}`);
      for (const flag of verb.flags) assert.match(r.stdout, new RegExp(`--${flag}\\b`), `${verb.path.join(' ')} documents --${flag}`);
    }
  });

  it('says the name it was called by', async () => {
    assert.match((await cli(['backup', 'list', '-h'], { prog: 'lc2-backup' })).stdout, /^ {2}lc2-backup backup list \[flags\]$/m);
  });
});

describe('tables and describe views at a fixed clock', () => {
  const backups = fixtureBackups();
  it('backup list: plain, wide, all namespaces', () => {
    golden('backup-list.txt', backupTable(backups.filter((b) => b.metadata.namespace === 'proj-retail-prd'), NOW, false, false));
    golden('backup-list-wide-A.txt', backupTable(backups, NOW, true, true));
  });
  it('restore list', () => {
    golden('restore-list.txt', restoreTable(fixtureRestores(), NOW, false, false));
    golden('restore-list-wide.txt', restoreTable(fixtureRestores(), NOW, true, false));
  });
  it('status: RPO, running, queued, failed since the last success, next run, last drill (verdict, RTO, age)', () => {
    const rows = environmentHealth(backups, fixtureSchedules(), [], NOW);
    golden('status.txt', healthTable(rows, NOW, false));
    // prd: the newest Succeeded backup completed 02:04:15, 5h55m45s before the clock; uat: none, its schedule is suspended.
    assert.deepEqual(rows.map((r) => [r.environment, r.rpoSeconds, r.running, r.queued, r.failedSinceLastSuccess, r.nextScheduledAt]), [
      ['prd', 5 * 3600 + 55 * 60 + 45, 1, 0, 0, '2026-11-24T02:00:00Z'],
      ['uat', null, 0, 1, 1, null],
    ]);
    assert.deepEqual(rows.map((r) => [r.environment, r.lastDrill, r.lastDrillVerdict, r.lastDrillRtoSeconds, r.lastDrillAt]), [
      ['prd', 'nightly-drill-29397780', 'Passed', 312, '2026-11-23T03:05:17Z'],
      ['uat', null, null, null, null],
    ]);
  });
  it('backup describe and restore describe (with --details)', () => {
    golden('backup-describe.txt', describeBackup(backups[0]!, NOW, false));
    golden('backup-describe-running.txt', describeBackup(backups[1]!, NOW, false));
    golden('restore-describe-details.txt', describeRestore(fixtureRestores()[0]!, NOW, true));
  });
});

describe('archive tables from the real command (PGlite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lc2-cli-golden-'));
  const env = { LC2_ARCHIVE_DIR: join(dir, 'archive'), HOME: '/nonexistent' };
  before(async () => {
    const sql = await connect(undefined, env.LC2_ARCHIVE_DIR);
    const archive = new Archive(sql);
    // The hook archives a resource once it is terminal.
    for (const b of fixtureBackups().filter((x) => x.status?.phase === 'Succeeded' || x.status?.phase === 'Failed')) await archive.upsert(backupRecord(b));
    await archive.upsert(restoreRecord(fixtureRestores()[0]!));
    await sql.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('history, history -o wide, summary', async () => {
    const h = await cli(['history'], { env, now: NOW });
    assert.equal(h.code, 0, h.stderr);
    golden('history.txt', h.stdout);
    golden('history-wide.txt', (await cli(['history', '-o', 'wide', '--env', 'prd'], { env, now: NOW })).stdout);
    golden('summary.txt', (await cli(['summary'], { env, now: NOW })).stdout);
    const failed = JSON.parse((await cli(['history', '--phase', 'Failed', '-o', 'json'], { env, now: NOW })).stdout) as Array<{ name: string }>;
    assert.deepEqual(failed.map((f) => f.name), ['retail-uat-20261122']);
  });
});
