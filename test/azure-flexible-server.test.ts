// Flexible Server on-demand backups and point-in-time restores through the REAL
// @azure/arm-postgresql-flexible v9 client against test/support/armFake.ts - a FAKE of ARM (no
// emulator exists), following the ARM async-operation docs and the Flexible Server REST API
// 2025-08-01 (see the fake's header for the pages and for what it cannot prove).
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startArmFake, type ArmFake } from './support/armFake.ts';
import { armClient, flexibleServerApi, type FlexibleServerApi } from '../providers/azure/clients.ts';
import type { AzureProviderConfig } from '../providers/azure/config.ts';
import { backupRun, deleteBackup, readBackup, type BackupProgress, type BackupTarget } from '../providers/azure/flexibleServer.ts';
import { restoreRun, targetTaken, type ServerRestoreProgress, type ServerRestoreTarget } from '../providers/azure/serverRestore.ts';
import { classify } from '../providers/azure/errors.ts';
import { operationId, serverResourceId, UID_TAG } from '../providers/azure/ids.ts';

let arm: ArmFake;
let pg: FlexibleServerApi;
const signal = () => AbortSignal.timeout(5000);
const never = { getToken: async () => { throw new Error('the fake takes no token'); } };
const uid = 'c0ffee00-1111-4222-8333-444455556666';
const server = { resourceGroup: 'rg-retail', server: 'retail-prd-pg' };

const target = (name = operationId(uid, 's')): BackupTarget => ({ server, name, id: `${serverResourceId(arm.subscriptionId, server)}/backups/${name}`, project: 'retail' });

/** Runs the backup step sync after sync, as the machine does, keeping only what it returns. */
async function syncUntilDone(t: BackupTarget, from: BackupProgress = {}, max = 20): Promise<{ progress: BackupProgress; syncs: number }> {
  let p = from;
  for (let i = 1; i <= max; i += 1) {
    const r = await backupRun(pg, t, p, signal);
    p = r.progress;
    if (r.done) return { progress: p, syncs: i };
  }
  throw new Error('did not finish');
}

before(async () => {
  arm = await startArmFake();
  pg = flexibleServerApi(armClient({ subscriptionId: arm.subscriptionId, armEndpoint: arm.endpoint } as AzureProviderConfig, never), arm.endpoint);
});
after(async () => { await arm?.close(); });
beforeEach(() => {
  arm.servers.clear(); arm.backups.clear(); arm.accepted.clear(); arm.received.clear();
  arm.pollsToFinish = 2; arm.failNext = false; arm.faults.share = 0;
  arm.addServer('rg-retail', 'retail-prd-pg');
});

describe('Flexible Server on-demand backup (real ARM client, fake ARM)', () => {
  it('GET first, one PUT, then one status GET per sync from the serialized poller; the handle holds no secret', async () => {
    const t = target();
    const first = await backupRun(pg, t, {}, signal);
    assert.equal(first.done, false);
    assert.ok(first.progress.token, 'the poller state is the handle');
    assert.doesNotMatch(first.progress.token!, /sig=|Bearer|authorization/i);
    assert.deepEqual(Object.fromEntries(arm.received), { 'GET backup': 1, 'PUT backup': 1 });
    const before = arm.received.get('GET backup');
    const second = await backupRun(pg, t, first.progress, signal);
    assert.equal(second.done, false);
    assert.equal(arm.received.get('PUT backup'), 1, 'a resumed sync sends no PUT');
    assert.equal(arm.received.get('GET backup'), before, 'and reads the operation, not the backup, while it runs');
    const done = await syncUntilDone(t, second.progress);
    assert.equal(arm.accepted.get('PUT backup'), 1, 'exactly one backup was requested');
    assert.equal(done.progress.backupId, t.id);
    assert.ok(done.progress.completedTime && Date.parse(done.progress.completedTime) > 0);
    // Further syncs of a finished step call nothing.
    const calls = [...arm.received.values()].reduce((a, b) => a + b, 0);
    assert.equal((await backupRun(pg, t, done.progress, signal)).done, true);
    assert.equal([...arm.received.values()].reduce((a, b) => a + b, 0), calls);
  });

  it('a handle naming another host is never resumed (the client would send it its bearer token)', async () => {
    const t = target();
    const first = await backupRun(pg, t, {}, signal);
    const forged = first.progress.token!.replaceAll(new URL(arm.endpoint).host, 'attacker.example:443');
    const before = [...arm.received.values()].reduce((a, b) => a + b, 0);
    await assert.rejects(backupRun(pg, t, { token: forged }, signal), (e) => { assert.equal(classify(e).reason, 'HandleUntrusted'); assert.equal(classify(e).retryable, false); return true; });
    await assert.rejects(backupRun(pg, t, { token: '{"state":{}}' }, signal), /HandleUntrusted|does not point/);
    assert.equal([...arm.received.values()].reduce((a, b) => a + b, 0), before, 'nothing was sent');
  });

  it('three starts without a handle make one backup: a PUT while the first runs is a retryable 409, then the finished backup is adopted by name', async () => {
    const t = target();
    await backupRun(pg, t, {}, signal); // the answer (the handle) is lost
    await assert.rejects(backupRun(pg, t, {}, signal), (e) => { const c = classify(e); assert.equal(c.retryable, true); assert.match(c.reason, /Conflict/); return true; });
    arm.pollsToFinish = 0;
    // The first operation finishes (polled by nobody here: the fake finishes it on its status URL).
    for (const [k, b] of arm.backups) if (k.endsWith(t.name)) { b.visible = true; b.completedTime = new Date().toISOString(); }
    for (const s of arm.servers.values()) delete s.busyWith;
    const adopted = await backupRun(pg, t, {}, signal);
    assert.equal(adopted.done, true);
    assert.equal(arm.accepted.get('PUT backup'), 1, 'one PUT accepted');
  });

  it('a PUT carried out whose answer is lost is never sent again: the marker saved before it leads to GETs by name until the backup shows', async () => {
    const t = target(operationId('dddd', 's'));
    arm.pollsToFinish = 3;
    arm.dropNext.set('PUT backup', 1);
    let saved: BackupProgress = {};
    const save = async (p: BackupProgress) => { saved = p; };
    // The fake makes the backup and drops the answer (the client's own retry meets a busy server).
    await assert.rejects(backupRun(pg, t, {}, signal, { save }));
    assert.ok(saved.sentAt, 'the "PUT sent" marker was saved before the PUT');
    assert.equal(arm.accepted.get('PUT backup'), 1, 'the PUT was carried out');
    const puts = arm.received.get('PUT backup');
    let p = saved;
    let done = false;
    for (let i = 0; i < 10 && !done; i += 1) { const r = await backupRun(pg, t, p, signal, { save }); p = r.progress; done = r.done; }
    assert.equal(done, true, 'the backup the lost PUT made is adopted by name');
    assert.equal(arm.received.get('PUT backup'), puts, 'no PUT was sent after the marker');
    assert.equal(arm.accepted.get('PUT backup'), 1);
  });

  it('a PUT sent but unseen past the deadline was never made: it is sent afresh; deleting before then is not done', async () => {
    const t = target(operationId('eeee', 's'));
    arm.pollsToFinish = 0;
    const recent = { sentAt: new Date().toISOString(), project: 'retail' };
    assert.equal(await deleteBackup(pg, t, signal, recent, 60_000), false, 'a 404 while a sent PUT may still show is not a deletion');
    const waiting = await backupRun(pg, t, recent, signal, { unseenDeadlineMs: 60_000 });
    assert.equal(arm.received.get('PUT backup'), undefined, 'within the deadline only GETs');
    assert.equal(waiting.done, false);
    const old = { sentAt: new Date(Date.now() - 120_000).toISOString(), project: 'retail' };
    assert.equal(await deleteBackup(pg, t, signal, old, 60_000), true, 'past the deadline a 404 is done');
    const again = await backupRun(pg, t, old, signal, { unseenDeadlineMs: 60_000 });
    assert.equal(arm.received.get('PUT backup'), 1, 'past the deadline the PUT is sent afresh');
    assert.ok(again.progress.token || again.done);
  });

  it('an operation that ends Failed fails the step (not retried); throttling (429) is retryable', async () => {
    arm.failNext = true;
    arm.pollsToFinish = 0;
    const t = target(operationId('aaaa', 's'));
    const first = await backupRun(pg, t, {}, signal).catch((e: unknown) => e);
    const failed = first instanceof Error ? first : await backupRun(pg, t, (first as { progress: BackupProgress }).progress, signal).then(() => undefined, (e: unknown) => e);
    const c = classify(failed);
    assert.equal(c.retryable, false);
    assert.equal(c.reason, 'LongRunningOperationFailed');
    arm.faults.share = 1;
    const throttled = await backupRun(pg, target(), {}, signal).then(() => undefined, (e: unknown) => e);
    arm.faults.share = 0;
    assert.equal(classify(throttled).retryable, true, JSON.stringify(classify(throttled)));
  });

  it('a missing server fails with a hint naming spec.database.instanceId; an automatic backup under our name is never adopted', async () => {
    const missing = await backupRun(pg, { ...target(), server: { resourceGroup: 'rg-retail', server: 'no-such-pg' } }, {}, signal).then(() => undefined, (e: unknown) => e);
    const c = classify(missing);
    assert.equal(c.retryable, false);
    assert.match(c.message, /spec\.database\.instanceId/);
    const t = target();
    arm.backups.set(`rg-retail/retail-prd-pg/${t.name}`, { name: t.name, backupType: 'Full', completedTime: new Date().toISOString(), visible: true });
    await assert.rejects(backupRun(pg, t, {}, signal), (e) => { assert.equal(classify(e).reason, 'OwnershipConflict'); assert.equal(classify(e).retryable, false); return true; });
  });

  it('delete removes exactly this backup (NotFound = done); verification after deletion is a permanent failure', async () => {
    const mine = target();
    const other = target(operationId('bbbb', 's'));
    arm.pollsToFinish = 0;
    await syncUntilDone(mine);
    await syncUntilDone(other);
    assert.equal((await readBackup(pg, mine, signal())).ok, true);
    let gone = false;
    for (let i = 0; i < 5 && !gone; i += 1) gone = await deleteBackup(pg, mine, signal);
    assert.ok(gone);
    assert.equal(await deleteBackup(pg, mine, signal), true, 'a second delete is done');
    const read = await readBackup(pg, mine, signal());
    assert.equal(read.ok, false);
    assert.equal(!read.ok && read.retryable, false);
    assert.equal((await readBackup(pg, other, signal())).ok, true, 'another backup is untouched');
  });
});

describe('point-in-time restore into a NEW server (real ARM client, fake ARM)', () => {
  const restoreTarget = (name: string): ServerRestoreTarget => ({
    server: { resourceGroup: 'rg-restore', server: name }, uid: 'restore-uid-1', tags: { 'lc2-backup-project': 'retail' },
    source: server, sourceServerResourceId: serverResourceId(arm.subscriptionId, server), pointInTime: '2026-11-23T02:10:00.000Z',
  });

  it('creates the server with createMode PointInTimeRestore, tagged with the restore UID, once; resumes with one GET per sync', async () => {
    const t = restoreTarget('retail-restored');
    assert.equal(await targetTaken(pg, t, signal()), undefined);
    let p: ServerRestoreProgress = {};
    let done = false;
    for (let i = 0; i < 10 && !done; i += 1) { const r = await restoreRun(pg, t, p, signal); p = r.progress; done = r.done; }
    assert.ok(done);
    assert.equal(arm.accepted.get('PUT server'), 1);
    const made = arm.servers.get('rg-restore/retail-restored')!;
    assert.equal(made.body.createMode, 'PointInTimeRestore');
    assert.equal(made.body.sourceServerResourceId, t.sourceServerResourceId);
    assert.equal(made.body.pointInTimeUTC, t.pointInTime);
    assert.equal(made.location, 'westeurope', 'the source server\'s region');
    assert.equal(made.tags[UID_TAG], 'restore-uid-1');
    assert.equal(await targetTaken(pg, t, signal()), undefined, 'its own server is not "taken"');
    // A replay with no handle finds its own server and sends no PUT.
    assert.equal((await restoreRun(pg, t, {}, signal)).done, true);
    assert.equal(arm.accepted.get('PUT server'), 1);
  });

  it('a server name taken elsewhere in Azure (a global 409) fails TargetExists, not retried; a 409 on its own server being made is adopted', async () => {
    arm.takenNames.add('taken-globally');
    try {
      await assert.rejects(restoreRun(pg, restoreTarget('taken-globally'), {}, signal), (e) => {
        assert.equal(classify(e).reason, 'TargetExists'); assert.equal(classify(e).retryable, false); assert.match(classify(e).message, /global/); return true;
      });
    } finally { arm.takenNames.clear(); }
    // The PUT made the server and its answer was lost; the client's retry meets the busy server (409): ours, adopted.
    arm.dropNext.set('PUT server', 1);
    const t = restoreTarget('retail-restored-409');
    const r = await restoreRun(pg, t, {}, signal);
    assert.equal(r.done, false);
    assert.equal(arm.accepted.get('PUT server'), 1);
  });

  it('an existing server that is not this restore\'s is refused and never updated', async () => {
    arm.addServer('rg-restore', 'someone-elses', 'westeurope', { owner: 'bank' });
    const t = restoreTarget('someone-elses');
    assert.match((await targetTaken(pg, t, signal())) ?? '', /already exists.*NEW server/);
    await assert.rejects(restoreRun(pg, t, {}, signal), (e) => { assert.equal(classify(e).reason, 'TargetExists'); assert.equal(classify(e).retryable, false); return true; });
    assert.equal(arm.received.get('PUT server') ?? 0, 0);
    assert.deepEqual(arm.servers.get('rg-restore/someone-elses')!.tags, { owner: 'bank' });
  });
});
