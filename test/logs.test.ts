// The JSON log of a real local backup, captured from the hook server: every line is one JSON
// object; each operation's start and finish, each phase change and the deletion of the data are
// logged exactly once (with every sync replayed 5 times) with the resource's namespace, name and
// UID and the operation ID; a failure says its reason; and the database password in the Secret
// the Jobs use appears nowhere.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { configureLog } from '../hooks/server/log.ts';
import { startReplicas, roundRobinDriver, postgresDump, type Replicas } from './support/replicas.ts';
import { uniqueName } from './support/env.ts';
import { backupRequest } from './support/resources.ts';
import { createSampleDatabase, dropDatabase, localPostgres, sampleDocumentLibrary } from '../demo/sample.ts';
import type { BackupRequestStatus } from '../core/crd.ts';

// Trust authentication on 127.0.0.1 accepts any password: the Jobs get this one and the backup works.
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const source = uniqueName('lc2_logs');
const lines: string[] = [];
let replicas: Replicas;

before(async () => {
  configureLog({ level: 'debug', sink: (line) => lines.push(line) });
  replicas = await startReplicas({ count: 2 });
  replicas.upload('liferay-dl', sampleDocumentLibrary(20));
  createSampleDatabase(localPostgres, source, 30);
});
after(async () => {
  configureLog({ level: 'warn', sink: (line) => process.stdout.write(`${line}\n`) });
  await replicas?.close();
  dropDatabase(localPostgres, source);
});

type Line = { time: string; level: string; msg: string; namespace?: string; name?: string; uid?: string; step?: string; operationId?: string; state?: string; from?: string | null; to?: string; reason?: string };
const events = (uid: string) => lines.map((l) => JSON.parse(l) as Line).filter((e) => e.uid === uid);
const count = (all: Line[], match: Partial<Line>) => all.filter((e) => Object.entries(match).every(([k, v]) => e[k as keyof Line] === v)).length;

describe('JSON logs of a backup', () => {
  it('log each operation, phase change and deletion once, with the resource and operation IDs, and no secret', async () => {
    const br = backupRequest('logged', { deletionPolicy: 'Delete', database: postgresDump(source) });
    const d = roundRobinDriver(replicas, br, undefined, PASSWORD);
    assert.equal(await d.runToCompletion({ syncsPerStep: 5 }), 'Succeeded');
    d.parent.metadata.deletionTimestamp = new Date().toISOString();
    for (let i = 0; i < 3 && !(await d.sync(true)).finalized; i += 1) { /* Jobs go first, then the data */ }

    const bad = roundRobinDriver(replicas, backupRequest('logged-bad', { database: postgresDump(uniqueName('lc2_missing')) }), undefined, PASSWORD);
    assert.equal(await bad.runToCompletion({ syncsPerStep: 5 }), 'Failed');

    assert.ok(lines.length > 0);
    for (const l of lines) {
      const e = JSON.parse(l) as Line;
      assert.ok(e.time && e.level && e.msg, l);
      assert.ok(!l.includes(PASSWORD), `no line carries the database password: ${l}`);
    }

    const uid = br.metadata.uid!;
    const mine = events(uid);
    for (const e of mine) assert.deepEqual([e.namespace, e.name], ['proj-retail-prd', 'logged']);
    const ops = (d.history.at(-1) as BackupRequestStatus | undefined)?.operations ?? (d.status as BackupRequestStatus).operations!;
    assert.ok(Object.keys(ops).length >= 2, JSON.stringify(ops));
    for (const [step, op] of Object.entries(ops)) {
      assert.equal(count(mine, { msg: 'operation started', step, operationId: op.id }), 1, `${step} started once`);
      assert.equal(count(mine, { msg: 'operation finished', step, operationId: op.id, state: 'Succeeded' }), 1, `${step} finished once`);
    }
    const phases = mine.filter((e) => e.msg === 'phase changed').map((e) => `${e.from ?? '-'}>${e.to}`);
    assert.deepEqual(phases, [...new Set(phases)], 'each phase change logged once');
    assert.equal(phases.at(-1)?.endsWith('>Succeeded'), true, phases.join(' '));
    assert.equal(count(mine, { msg: 'backup data deleted' }), 1);

    const failed = events(bad.parent.metadata.uid!);
    const reason = (bad.status as BackupRequestStatus).conditions!.find((c) => c.type === 'Ready')!.reason;
    assert.equal(count(failed, { msg: 'phase changed', to: 'Failed', reason, level: 'warn' }), 1);
    assert.equal(count(failed, { msg: 'operation finished', state: 'Failed', level: 'warn' }), 1);
  });
});
