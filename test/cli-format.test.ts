// The CLI's pure parts: sizes, durations (kubectl's HumanDuration), --timeout values, where the
// verb is among flags, and the resources the create verbs build.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatBytes, formatDuration, parseDuration, table } from '../cli/format.ts';
import { parse, words } from '../cli/args.ts';
import { backupFromFlags, latestSucceeded, nameWith, restoreFromBackup, stamp } from '../cli/build.ts';
import { Usage, Failed } from '../cli/errors.ts';
import { fixtureBackups, fixtureRestores } from './support/cliFixtures.ts';
import { phaseDetail } from '../cli/wait.ts';

describe('format', () => {
  it('sizes in binary units, one decimal below 10', () => {
    assert.deepEqual([0, 54, 1023, 1024, 1536, 10 * 1024, 1_288_490_189, 25_769_803_776, 1024 ** 4 * 3, 1024 * 1024 - 1].map(formatBytes),
      ['0B', '54B', '1023B', '1KiB', '1.5KiB', '10KiB', '1.2GiB', '24GiB', '3TiB', '1MiB']);
    assert.deepEqual([undefined, null, -1, Number.NaN].map(formatBytes), ['-', '-', '-', '-']);
  });

  it('durations as kubectl prints ages', () => {
    const cases: Array<[number, string]> = [[0, '0s'], [-0.5, '0s'], [-5, '<invalid>'], [45, '45s'], [119, '119s'], [120, '2m'], [252, '4m12s'],
      [599, '9m59s'], [600, '10m'], [3 * 3600 - 1, '179m'], [3 * 3600, '3h'], [3 * 3600 + 12 * 60, '3h12m'], [30 * 3600, '30h'],
      [53 * 3600, '2d5h'], [48 * 3600, '2d'], [90 * 86400, '90d'], [3 * 365 * 86400 + 20 * 86400, '3y20d'], [9 * 365 * 86400, '9y']];
    for (const [s, text] of cases) assert.equal(formatDuration(s), text, `${s}s`);
  });

  it('every duration reads as a number and a unit (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 20 * 365 * 86400 }), (s) => /^\d+[smhdy]/.test(formatDuration(s))));
  });

  it('a tenant\'s text cannot drive the terminal: control characters print as ?', () => {
    const out = table(['NAME', 'INITIATOR'], [['x', 'eve\u001b[2J\u001b[H\nforged-row   Succeeded']]);
    assert.equal(out.split('\n').length, 2);
    assert.ok(!/[\u0000-\u001f]/.test(out.replace(/\n/g, '')));
    assert.match(out, /eve\?\[2J\?\[H\?forged-row/);
  });

  it('--timeout values', () => {
    assert.deepEqual(['90s', '30m', '1h30m', '2h', '1h2m3s'].map(parseDuration), [90_000, 1_800_000, 5_400_000, 7_200_000, 3_723_000]);
    assert.deepEqual(['', 'soon', '5', '1d', 'm'].map(parseDuration), [undefined, undefined, undefined, undefined, undefined]);
  });
});

describe('args', () => {
  it('finds the verb among flags and flag values, before or after', () => {
    assert.deepEqual(words(['-n', 'backup', 'backup', '--output=yaml', 'list', '-A']).map((w) => w.word), ['backup', 'list']);
    const p = parse(['-n', 'ns', 'backup', 'describe', 'x', '--details']);
    assert.ok('verb' in p);
    assert.deepEqual([p.verb.path, { ...p.values }, p.args], [['backup', 'describe'], { namespace: 'ns', details: true }, ['x']]);
    const alias = parse(['backup', 'get']);
    assert.ok('verb' in alias && alias.verb.path.join(' ') === 'backup list');
  });

  it('a flag another verb has is refused; an unknown verb is a usage error', () => {
    assert.throws(() => parse(['history', '--wait']), (e) => e instanceof Usage && /Unknown option '--wait'/.test(e.message));
    assert.throws(() => parse(['backup', 'frob']), (e) => e instanceof Usage && /unknown command "backup frob"/.test(e.message));
    assert.throws(() => parse(['-n', 'x']), Usage);
    assert.throws(() => parse(['constructor']), (e) => e instanceof Usage && /unknown command "constructor"/.test(e.message), 'no verb from Object.prototype');
  });
});

describe('build', () => {
  const now = new Date('2026-11-23T03:04:05Z');
  it('names: sortable stamps, at most 63 characters', () => {
    assert.equal(stamp(now), '20261123-030405');
    const long = nameWith('a'.repeat(80), stamp(now));
    assert.equal(long.length, 63);
    assert.match(long, /^a+-20261123-030405$/);
  });

  it('backup from flags: a dump needs its engine; the spec is checked against the CRD schema', () => {
    const base = { project: 'retail', env: 'prd', dbInstance: 'db:5432', dlBucket: 'retail-dl', backupBucket: 'lc2-backups', incremental: false };
    assert.throws(() => backupFromFlags(base, { name: 'b', namespace: 'n', initiator: 'me' }), /--db-engine .* is required for a dump/);
    assert.throws(() => backupFromFlags({ ...base, dbEngine: 'oracle' }, { name: 'b', namespace: 'n', initiator: 'me' }), /would be refused: .*engine/);
    assert.throws(() => backupFromFlags({ ...base, dbEngine: 'mysql', retentionDays: 'ten' }, { name: 'b', namespace: 'n', initiator: 'me' }), /--retention-days must be a whole number/);
    const ok = backupFromFlags({ ...base, dbType: 'snapshot', provider: 'aws' }, { name: 'b', namespace: 'n', initiator: 'me' });
    assert.deepEqual(ok.spec!.database, { type: 'snapshot', instanceId: 'db:5432' });
  });

  it('restore: the newest Succeeded backup; a new database and prefix by default; cloud restores name their new instance', () => {
    const [done] = fixtureBackups();
    const older = structuredClone(done!);
    older.metadata.name = 'older';
    older.status!.completionTime = '2026-11-20T02:00:00Z';
    assert.equal(latestSucceeded([older, ...fixtureBackups()], 'retail', 'prd')?.metadata.name, 'retail-prd-20261123');
    assert.equal(latestSucceeded(fixtureBackups(), 'retail', 'uat'), undefined, 'Failed and Queued backups are no recovery point');
    const r = restoreFromBackup(done!, { approveOverwrite: false }, { name: 'r', namespace: 'proj-retail-prd', initiator: 'me' }, now);
    assert.deepEqual([r.spec!.database.databaseName, r.spec!.documentLibrary.destinationPrefix, r.spec!.database.instanceId],
      ['lportal_restored_20261123_0304', 'document_library-restored-20261123-030405', '127.0.0.1:5432']);
    const aws = structuredClone(done!);
    aws.spec!.provider = 'aws';
    assert.throws(() => restoreFromBackup(aws, { approveOverwrite: false }, { name: 'r', namespace: 'n', initiator: 'me' }, now), /NEW database instance: name it with --db-instance/);
    assert.throws(() => restoreFromBackup(fixtureBackups()[1]!, { approveOverwrite: false }, { name: 'r', namespace: 'n', initiator: 'me' }, now),
      (e) => e instanceof Failed && /TransferInProgress, not Succeeded/.test(e.message));
    assert.throws(() => restoreFromBackup(done!, { approveOverwrite: false, database: 'bad name' }, { name: 'r', namespace: 'n', initiator: 'me' }, now), /databaseName/);
  });
});

describe('--wait progress lines', () => {
  it('say why a backup waits, which steps run, and how it ended', () => {
    const [done, running, queued, failed] = fixtureBackups();
    assert.deepEqual([queued, running, done, failed, fixtureRestores()[0]].map((o) => phaseDetail(o!)), [
      '#1 in the queue: maxConcurrentBackups (2) reached', 'running transfer', 'BackupSucceeded: backup complete',
      'DatabaseUnreachable: connection refused by retail-uat-db:5432', 'running documentLibrary',
    ]);
  });
});
