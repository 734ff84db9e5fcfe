// RDS snapshots against moto's RDS: deterministic identifiers, "already exists" = started (after an
// ownership check by tag), exactly one snapshot however often start is replayed, readable failures.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RDSClient, CreateDBInstanceCommand, DescribeDBSnapshotsCommand, CreateDBSnapshotCommand } from '@aws-sdk/client-rds';
import { freePort, stopProcess, waitForHttp } from './support/processes.ts';
import { classify, observeSnapshot, snapshotIdentifier, startSnapshot, UID_TAG, type SnapshotTarget } from '../providers/aws/rds.ts';
import { clusterInstanceId, targetTaken } from '../providers/aws/rdsRestore.ts';

// moto is the only RDS emulator available here (preinstalled on the project's machines, not on
// PyPI-less ones): without it this suite is skipped, and says so.
const hasMoto = (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, 'moto_server')));
let rds: RDSClient;
let stop: () => Promise<void>;
const uid = '5b0c7f9e-0d1a-4c55-9a3e-2f6b1c0d9e11';

before(async () => {
  if (!hasMoto) return;
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  stop = () => stopProcess(child);
  await waitForHttp(`http://127.0.0.1:${port}/moto-api/`);
  rds = new RDSClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await rds.send(new CreateDBInstanceCommand({ DBInstanceIdentifier: 'retail-prd-db', Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'liferay', MasterUserPassword: 'not-a-real-one-1' }));
});
after(async () => { await stop?.(); });

const target = (over: Partial<SnapshotTarget> = {}): SnapshotTarget => ({
  instanceId: 'retail-prd-db', cluster: false, snapshotId: snapshotIdentifier(uid), uid, tags: { project: 'retail', environment: 'prd' }, ...over,
});

describe('RDS snapshots (moto)', { skip: hasMoto ? false : 'moto_server is not installed' }, () => {
  it('derives a valid identifier from the UID', () => {
    const id = snapshotIdentifier(uid);
    assert.equal(id, 'lc2-s-5b0c7f9e0d1a4c559a3e2f6b1c0d9e11');
    assert.match(id, /^[a-z](?!.*--)[a-z0-9-]{0,62}$/);
    assert.ok(!id.endsWith('-'));
  });

  it('start replayed 10 times (and concurrently) creates one snapshot, tagged, then observed as done', async () => {
    await Promise.all(Array.from({ length: 10 }, () => startSnapshot(rds, target())));
    const manual = (await rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: 'retail-prd-db', SnapshotType: 'manual' }))).DBSnapshots ?? [];
    assert.equal(manual.length, 1);
    const tags = Object.fromEntries((manual[0]!.TagList ?? []).map((t) => [t.Key, t.Value]));
    assert.deepEqual(tags, { project: 'retail', environment: 'prd', [UID_TAG]: uid });
    const obs = await observeSnapshot(rds, target());
    assert.equal(obs.state, 'done');
    assert.equal(obs.state === 'done' && obs.result.snapshotId, snapshotIdentifier(uid));
  });

  it('a snapshot of that name made by someone else is a conflict, not "started"', async () => {
    await rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'retail-prd-db', DBSnapshotIdentifier: 'lc2-s-foreign', Tags: [{ Key: UID_TAG, Value: 'someone-else' }] }));
    await assert.rejects(startSnapshot(rds, target({ snapshotId: 'lc2-s-foreign' })), /exists but was not made for this BackupRequest/);
  });

  it('a restore target is taken when an instance of its name is someone else\'s; for Aurora also the first instance the restore would add', async () => {
    assert.equal(await targetTaken(rds, { instanceId: 'fresh-db', cluster: false, uid }), undefined);
    assert.match(await targetTaken(rds, { instanceId: 'retail-prd-db', cluster: false, uid }) ?? '', /RDS instance retail-prd-db already exists/);
    // No cluster of that name, but its first instance's name is used: refused before the cluster is made.
    await rds.send(new CreateDBInstanceCommand({ DBInstanceIdentifier: clusterInstanceId('aurora-drill'), Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'liferay', MasterUserPassword: 'not-a-real-one-1' }));
    assert.match(await targetTaken(rds, { instanceId: 'aurora-drill', cluster: true, uid }) ?? '', /RDS instance aurora-drill-i1 already exists/);
  });

  it('a missing instance fails with what to fix, not retryable', async () => {
    const err = await startSnapshot(rds, target({ instanceId: 'no-such-db', snapshotId: snapshotIdentifier(uid, 'x') })).then(() => undefined, (e: unknown) => e);
    const c = classify(err);
    assert.equal(c.retryable, false);
    assert.match(c.message, /check spec\.database\.instanceId: no such RDS instance/);
  });

  it('throttling and 5xx are retryable', () => {
    assert.equal(classify({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }).retryable, true);
    assert.equal(classify({ name: 'Whatever', $metadata: { httpStatusCode: 503 } }).retryable, true);
    assert.equal(classify({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }).retryable, false);
  });
});
