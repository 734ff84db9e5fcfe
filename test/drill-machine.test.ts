// A DR drill through the pure RestoreRequest machine (no I/O): the phase order, the verdict and RTO
// from recorded times, a cleanup after every failure that started a step, every Job created once
// under replays and stale parents (a status write lost), and refusals of drills that may not run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideRestore, type RestoreDecision, type RestoreInput } from '../hooks/restore/machine.ts';
import { drillScope } from '../hooks/restore/drill.ts';
import { localDrillCleanup, localRestoreProblems, localRestoreSteps } from '../providers/local/restore.ts';
import { statusErrors } from '../core/validation/schema.ts';
import { RESTORE_PHASES, type Consistency, type TenantReindex, type RestoreRequest, type RestoreRequestStatus } from '../core/crd.ts';
import type { Observation, RestorePlanner, RestoreStepName, RestoreStepResult } from '../core/provider.ts';
import type { Manifest } from '../hooks/backup/manifest.ts';
import { restoreRequest } from './support/resources.ts';

const config = { image: 'x', storage: { kind: 'file' as const, root: '/s' }, backoffLimit: 1, activeDeadlineSeconds: 60, transfers: 1 };
const planner: RestorePlanner = {
  problems: localRestoreProblems, steps: (ctx) => localRestoreSteps(ctx, config), drillCleanup: (ctx, scope) => localDrillCleanup(ctx, scope, config),
};
const KEY = 'retail/prd/nightly-1/manifest.json';
const manifest: Manifest = {
  schemaVersion: 'backup.liferay.cloud/manifest/v1', backupId: 'nightly-1', projectId: 'retail', environment: 'prd', provider: 'local',
  source: { namespace: 'proj-retail-prd', name: 'nightly', uid: 'u' }, startedAt: '2026-11-23T02:00:00Z', completedAt: '2026-11-23T02:10:00Z',
  location: { bucket: 'lc2-backups', prefix: 'retail/prd/nightly-1/' },
  database: { engine: 'postgresql', type: 'dump', instanceId: 'h', format: 'f', artifact: 'retail/prd/nightly-1/database.pgdump.zst', sizeBytes: 1, sha256: 'c'.repeat(64), tool: 't' },
  documentLibrary: { sourceBucket: 's', sourcePrefix: '', prefix: 'retail/prd/nightly-1/dl/', objectCount: 0, totalBytes: 0, excludedPatterns: [], tool: 't' },
  operations: {}, tools: {},
} as unknown as Manifest;

const drill = (name: string, spec: Record<string, unknown> = {}): RestoreRequest =>
  restoreRequest(name, { drill: true, source: { manifest: { bucket: 'lc2-backups', key: KEY } }, database: { instanceId: '127.0.0.1:5432', databaseName: 'drill_scratch', credentialsSecretRef: { name: 'db-credentials' } }, documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: 'drills/d1' }, ...spec });

type Outcome = Observation<RestoreStepResult>;
const done = (result: Partial<RestoreStepResult>, completedAt: string): Outcome => ({ state: 'done', result: { tool: 't', ...result }, completedAt });
const consistency = (missing: number): Consistency => ({ expected: 10, missing, orphans: 0, missingSample: missing ? ['20097/20121/30007/1.0'] : [], orphanSample: [] });

/**
 * Metacontroller, purely: syncs the parent until it is terminal, answering the machine's needs with
 * `outcome` (the step's result once its Job exists), creating the children it returns (counted per
 * name) and, when `loseWrite` says so, dropping a sync's status write (the next sync sees the stale parent).
 */
function run(parent: RestoreRequest, outcome: (step: RestoreStepName, tick: number) => Outcome | undefined, loseWrite: (tick: number) => boolean = () => false, reindex?: TenantReindex, finalizingFrom = Infinity) {
  const created = new Map<string, number>();
  const phases: string[] = [];
  let d: RestoreDecision | undefined;
  for (let tick = 0; tick < 60 && parent.status?.phase !== 'Succeeded' && parent.status?.phase !== 'Failed'; tick += 1) {
    const now = new Date(Date.parse('2026-11-23T03:00:00Z') + tick * 60_000).toISOString();
    const input: RestoreInput = { parent, backup: undefined, existingChildren: new Set(created.keys()), planner, observations: {}, now, ...(reindex ? { reindex, toolsImage: 'tools:1' } : {}), ...(tick >= finalizingFrom ? { finalizing: true } : {}) };
    d = decideRestore(input);
    for (let round = 0; d.need && round < 6; round += 1) {
      const need = d.need;
      if (need.kind === 'readManifest') input.observations = { ...input.observations, manifest: { ok: true, manifest } };
      else if (need.kind === 'preflight') input.observations = { ...input.observations, preflight: { ok: true } };
      else if (need.kind === 'archive') input.observations = { ...input.observations, archived: { ok: true } };
      else {
        const exists = need.step.children.every((c) => created.has(c.metadata.name));
        const obs = (exists ? outcome(need.step.name, tick) : undefined) ?? { state: 'running' as const };
        input.observations = { ...input.observations, steps: { ...input.observations.steps, [need.step.name]: obs } };
      }
      d = decideRestore(input);
    }
    assert.equal(d.need, undefined);
    assert.deepEqual(statusErrors('RestoreRequest', d.status), [], JSON.stringify(d.status));
    for (const c of d.children) if (!created.has(c.metadata.name)) created.set(c.metadata.name, 1);
    // What Metacontroller deletes: a Job it had that the sync did not return.
    for (const name of created.keys()) assert.ok(d.children.some((c) => c.metadata.name === name), `tick ${tick}: Job ${name} kept`);
    phases.push(d.status.phase!);
    if (!loseWrite(tick) || d.status.phase === 'Succeeded' || d.status.phase === 'Failed') parent = { ...parent, status: d.status };
  }
  return { status: parent.status!, created, phases: phases.filter((p, i) => p !== phases[i - 1]), last: d! };
}

const ready = (s: RestoreRequestStatus) => s.conditions!.find((c) => c.type === 'Ready')!;
const cleanupResult = (database: 'dropped' | 'absent' | 'refused', objectCount = 3): Partial<RestoreStepResult> => ({ cleanup: { database, prefix: 'deleted', objectCount } });

describe('DR drill machine (pure)', () => {
  it('passes: database, document library, cleanup in that order; RTO from the recorded times; Succeeded', () => {
    const r = run(drill('pass'), (step) => step === 'database' ? done({ sha256: 'c'.repeat(64) }, '2026-11-23T03:02:30Z')
      : step === 'documentLibrary' ? done({ objectCount: 10, totalBytes: 99, consistency: consistency(0) }, '2026-11-23T03:04:10Z')
        : done(cleanupResult('dropped', 10), '2026-11-23T03:06:00Z'));
    assert.deepEqual(r.phases, ['RestoringDatabase', 'RestoringDocumentLibrary', 'CleaningUp', 'Succeeded']);
    const s = r.status;
    // The database step started at the first sync's time (03:00, when its operation was recorded).
    assert.equal(s.operations!.database!.startTime, '2026-11-23T03:00:00.000Z');
    assert.equal(s.drill!.rtoSeconds, 250, 'from 03:00:00 to the document-library step\'s recorded end 03:04:10');
    assert.deepEqual([s.drill!.verdict, s.drill!.cleanup], ['Passed', 'Done']);
    assert.equal(ready(s).reason, 'DrillPassed');
    assert.match(s.drill!.cleanupMessage!, /dropped database drill_scratch on 127\.0\.0\.1:5432; deleted 10 objects under restored-dl\/drills\/d1\//);
    assert.equal(s.completionTime, '2026-11-23T03:06:00Z', 'ends when the cleanup ended');
    assert.deepEqual([...r.created.values()], [1, 1, 1]);
    assert.deepEqual([...r.created.keys()].map((n) => n.split('-').at(-2)), ['rdb', 'rdl', 'rdc']);
  });

  it('has no Reindexing phase even when the project configured a reindex', () => {
    const outcome = (step: RestoreStepName): Outcome => done(step === 'cleanup' ? cleanupResult('dropped') : { consistency: consistency(0) }, '2026-11-23T03:01:00Z');
    const r = run(drill('reindexed'), outcome, undefined, { http: { url: 'https://liferay.example/o/reindex' } });
    assert.deepEqual(r.phases, ['RestoringDatabase', 'RestoringDocumentLibrary', 'CleaningUp', 'Succeeded']);
    assert.equal(r.status.reindex?.skipped, 'SkippedByRequest');
    assert.equal([...r.created.keys()].some((n) => n.includes('-rix-')), false, 'no reindex Job');
    // The same project's plain restore does reindex (the setting reached the machine).
    const plain = run(drill('plain', { drill: false }), (step) => done(step === 'reindex' ? {} : { consistency: consistency(0) }, '2026-11-23T03:01:00Z'), undefined, { http: { url: 'https://liferay.example/o/reindex' } });
    assert.deepEqual(plain.phases, ['RestoringDatabase', 'RestoringDocumentLibrary', 'Reindexing', 'Succeeded']);
  });

  it('a missing referenced file fails the verdict, and the scratch targets are still removed', () => {
    const r = run(drill('missing'), (step) => step === 'database' ? done({}, '2026-11-23T03:01:00Z')
      : step === 'documentLibrary' ? done({ objectCount: 9, totalBytes: 90, consistency: consistency(1) }, '2026-11-23T03:02:00Z')
        : done(cleanupResult('dropped'), '2026-11-23T03:03:00Z'));
    assert.deepEqual(r.phases, ['RestoringDatabase', 'RestoringDocumentLibrary', 'CleaningUp', 'Failed']);
    assert.deepEqual([r.status.drill!.verdict, r.status.drill!.reason, r.status.drill!.cleanup], ['Failed', 'MissingFiles', 'Done']);
    assert.equal(r.status.drill!.rtoSeconds, 120, 'a restore that finished has an RTO even when its verdict failed');
    assert.equal(ready(r.status).reason, 'MissingFiles');
    assert.match(ready(r.status).message, /1 of 10 files .* missing .*20097\/20121\/30007\/1\.0.*dropped database drill_scratch/);
  });

  it('a failed database step (a tampered dump) still cleans up, with the database only', () => {
    const r = run(drill('tampered'), (step) => step === 'database'
      ? { state: 'failed', reason: 'ChecksumMismatch', message: 'artifact has sha256 x, the manifest says y', retryable: false }
      : done({ cleanup: { database: 'absent', prefix: 'skipped', objectCount: 0 } }, '2026-11-23T03:03:00Z'));
    assert.deepEqual(r.phases, ['RestoringDatabase', 'CleaningUp', 'Failed']);
    assert.deepEqual(drillScope(r.status), { database: true, prefix: false, prefixChecked: false, databaseCreated: false });
    const job = [...r.created.keys()].find((n) => n.includes('-rdc-'))!;
    const cleanup = r.last.children.find((c) => c.metadata.name === job)!;
    const env = (cleanup.spec as { template: { spec: { containers: Array<{ env: Array<{ name: string }> }> } } }).template.spec.containers[0]!.env.map((e) => e.name);
    assert.ok(env.includes('LC2_DRILL_MARKER') && !env.includes('LC2_DL_DEST'), 'the prefix this drill never wrote is not passed to the cleanup');
    assert.equal(ready(r.status).reason, 'ChecksumMismatch');
    assert.equal(r.status.drill!.rtoSeconds, undefined);
    assert.doesNotMatch(ready(r.status).message, /Left behind/);
  });

  it('a database that existed before (refused as taken) is out of the cleanup\'s scope; a refused drop fails the cleanup', () => {
    const taken = run(drill('taken'), (step) => step === 'database'
      ? { state: 'failed', reason: 'TargetExists', message: 'database drill_scratch already exists', retryable: false } : undefined);
    assert.deepEqual(taken.phases, ['RestoringDatabase', 'Failed'], 'nothing of the drill\'s own to remove: no cleanup Job');
    assert.equal([...taken.created.keys()].some((n) => n.includes('-rdc-')), false);
    assert.deepEqual([taken.status.drill!.cleanup, ready(taken.status).reason], ['Done', 'TargetExists']);
    assert.match(taken.status.drill!.cleanupMessage!, /database drill_scratch on 127\.0\.0\.1:5432 not touched/);

    const refused = run(drill('unmarked'), (step) => step === 'cleanup' ? done(cleanupResult('refused'), '2026-11-23T03:09:00Z') : done({ consistency: consistency(0) }, '2026-11-23T03:01:00Z'));
    assert.deepEqual([refused.status.phase, refused.status.drill!.verdict, refused.status.drill!.cleanup, ready(refused.status).reason], ['Failed', 'Passed', 'Failed', 'CleanupFailed']);
    assert.match(refused.status.drill!.cleanupMessage!, /refused to drop database drill_scratch .* no marker of this drill.*left in place/);
  });

  it('a cleanup Job that fails for good fails the drill and names what may be left', () => {
    const r = run(drill('cleanup-fails'), (step) => step === 'cleanup'
      ? { state: 'failed', reason: 'JobBackoffLimitExceeded', message: 'Job x: failed', retryable: false } : done({}, '2026-11-23T03:01:00Z'));
    assert.deepEqual([r.status.phase, r.status.drill!.verdict, r.status.drill!.cleanup], ['Failed', 'Passed', 'Failed']);
    assert.match(r.status.drill!.cleanupMessage!, /cleanup failed: JobBackoffLimitExceeded.*may be left: database drill_scratch .* and restored-dl\/drills\/d1\//);
  });

  it('every Job is created once when every other status write is lost (stale parents), with the same end', () => {
    const outcome = (step: RestoreStepName): Outcome => step === 'cleanup' ? done(cleanupResult('dropped'), '2026-11-23T03:30:00Z')
      : done({ consistency: consistency(0) }, step === 'database' ? '2026-11-23T03:05:00Z' : '2026-11-23T03:10:00Z');
    const clean = run(drill('clean'), outcome);
    for (const pattern of [(t: number) => t % 2 === 0, (t: number) => t % 2 === 1, (t: number) => t % 3 !== 2]) {
      const stale = run(drill('stale'), outcome, pattern);
      assert.deepEqual([...stale.created.values()], [1, 1, 1], `each Job created once: ${JSON.stringify([...stale.created])}`);
      assert.deepEqual([stale.status.phase, stale.status.drill!.verdict, stale.status.drill!.cleanup], ['Succeeded', 'Passed', 'Done']);
      assert.equal(stale.status.drill!.cleanupMessage, clean.status.drill!.cleanupMessage);
    }
  });

  it('a replayed terminal sync is a fixed point that keeps every Job', () => {
    const parent = drill('fixed');
    const r = run(parent, (step) => done(step === 'cleanup' ? cleanupResult('dropped') : {}, '2026-11-23T03:01:00Z'));
    const again = decideRestore({ parent: { ...parent, status: r.status }, backup: undefined, existingChildren: new Set(r.created.keys()), planner, observations: {}, now: '2026-11-24T00:00:00Z' });
    assert.equal(JSON.stringify(again.status), JSON.stringify(r.status));
    assert.deepEqual(again.children.map((c) => c.metadata.name), [...r.created.keys()]);
    assert.equal(again.resyncAfterSeconds, undefined);
  });

  it('refuses approveOverwrite with drill, and drills on other providers, before anything starts', () => {
    const input = (parent: RestoreRequest): RestoreInput => ({ parent, backup: undefined, existingChildren: new Set(), planner, observations: {}, now: '2026-11-23T03:00:00Z' });
    const overwrite = decideRestore(input(drill('o', { approveOverwrite: true })));
    assert.equal(overwrite.status.phase, 'Failed');
    assert.equal(ready(overwrite.status).reason, 'InvalidSpec');
    assert.match(ready(overwrite.status).message, /spec\.approveOverwrite: a drill never writes into something that exists/);
    assert.deepEqual([overwrite.status.drill?.verdict, overwrite.status.drill?.cleanup], ['Failed', 'Done']);
    assert.deepEqual(overwrite.children, []);
    // A provider without a drill cleanup (gcp, azure for now) cannot run one.
    const bare = decideRestore({ ...input(drill('b', { provider: 'gcp' })), planner: { problems: localRestoreProblems, steps: (ctx) => localRestoreSteps(ctx, config) } });
    assert.match(ready(bare.status).message, /spec\.provider: drills need a provider that removes its scratch targets afterwards \(local, aws\); gcp does not yet/);
  });

  it('phases only move forward, CleaningUp sits between the steps and the end', () => {
    const order = new Map(RESTORE_PHASES.map((p, i) => [p, i]));
    assert.ok(order.get('RestoringDocumentLibrary')! < order.get('CleaningUp')! && order.get('CleaningUp')! < order.get('Succeeded')!);
  });

  it('a drill that fails while a step runs (its spec changed) removes nothing until that step\'s Job has ended', () => {
    // The document-library step never ends here: the drill stops with that step Running.
    const parent = drill('mid-step');
    const r = run(parent, (step) => step === 'database' ? done({ sha256: 'c'.repeat(64) }, '2026-11-23T03:02:30Z') : { state: 'running' });
    assert.equal(r.status.phase, 'RestoringDocumentLibrary');
    const changed: RestoreRequest = { ...parent, metadata: { ...parent.metadata, generation: 2 }, status: r.status,
      spec: { ...parent.spec!, database: { ...parent.spec!.database, databaseName: 'elsewhere' } } };
    const existing = new Set(r.created.keys());
    const decide = (dl?: Outcome) => decideRestore({ parent: changed, backup: undefined, existingChildren: existing, planner, now: '2026-11-23T05:00:00Z',
      observations: dl ? { steps: { documentLibrary: dl } } : {} });
    const asked = decide();
    assert.equal(asked.status.phase, 'CleaningUp');
    assert.equal(asked.need?.kind, 'observeStep');
    assert.equal(asked.need?.kind === 'observeStep' ? asked.need.step.name : '', 'documentLibrary', 'the running step is looked at first');
    const waiting = decide({ state: 'running' });
    assert.equal(waiting.status.operations?.cleanup, undefined, 'no cleanup while the copy may still write');
    assert.ok(!waiting.children.some((c) => c.metadata.name.includes('-rdc-')), 'no cleanup Job');
    assert.ok(waiting.children.some((c) => c.metadata.name.includes('-rdl-')), 'the running Job is kept');
    const ended = decide({ state: 'failed', reason: 'JobFailed', message: 'x', retryable: false });
    assert.equal(ended.status.operations?.documentLibrary?.state, 'Failed');
    assert.equal(ended.status.operations?.cleanup?.state, 'Running', 'the cleanup starts once the step has ended');
    assert.equal(ended.status.drill?.reason, 'SpecChanged');
  });

  it('a drill of a BackupRequest that is gone fails at once (it would block its schedule\'s next drills)', () => {
    const d = decideRestore({ parent: drill('gone', { source: { backupRef: { name: 'deleted-backup' } } }), backup: undefined, existingChildren: new Set(), planner, now: '2026-11-23T05:00:00Z', observations: {} });
    assert.equal(d.status.phase, 'Failed');
    assert.equal(ready(d.status).reason, 'BackupNotFound');
  });
});

// Metacontroller's finalize hook: a drill deleted while it runs still removes its scratch targets
// (its finalizer goes only once the drill has ended: finalizeRestore answers finalized then).
describe('a DR drill deleted while it runs (pure)', () => {
  const cleanupAt = (r: ReturnType<typeof run>) => [...r.created.keys()].map((n) => n.split('-').at(-2));

  it('waits for the running step\'s Job, then runs its cleanup, then ends Failed (DrillDeleted)', () => {
    // Deleted at tick 2 while the database Job runs; that Job ends at tick 5.
    const r = run(drill('deleted'), (step, tick) => step === 'database' ? (tick >= 5 ? done({}, '2026-11-23T03:05:00Z') : undefined)
      : step === 'cleanup' ? done(cleanupResult('dropped', 0), '2026-11-23T03:07:00Z') : undefined, undefined, undefined, 2);
    assert.deepEqual(r.phases, ['RestoringDatabase', 'CleaningUp', 'Failed']);
    assert.deepEqual(cleanupAt(r), ['rdb', 'rdc'], 'no document-library step after the deletion; one cleanup Job');
    assert.equal(r.status.operations!.cleanup!.startTime, '2026-11-23T03:05:00.000Z', 'the cleanup started only once the database Job had ended');
    assert.deepEqual([r.status.drill!.verdict, r.status.drill!.reason, r.status.drill!.cleanup, ready(r.status).reason], ['Failed', 'DrillDeleted', 'Done', 'DrillDeleted']);
    assert.match(r.status.drill!.cleanupMessage!, /dropped database drill_scratch/);
  });

  it('a drill deleted before any step started ends at once, with nothing to remove', () => {
    const r = run(drill('early'), () => undefined, undefined, undefined, 0);
    assert.deepEqual(r.phases, ['Failed']);
    assert.equal(r.created.size, 0);
    assert.equal(r.status.drill!.cleanupMessage, 'nothing to remove: no step started');
  });

  it('a cached parent without the status write that started a step: the step is rebuilt from its Job, its Job kept and waited for', () => {
    // Tick 0 starts the database step and its status write is lost; the deletion arrives at tick 1
    // with that stale parent (no operations at all). The database Job ends at tick 3.
    const r = run(drill('stale'), (step, tick) => step === 'database' ? (tick >= 3 ? done({}, '2026-11-23T03:03:00Z') : undefined)
      : step === 'cleanup' ? done(cleanupResult('dropped', 0), '2026-11-23T03:05:00Z') : undefined, (tick) => tick === 0, undefined, 1);
    assert.deepEqual(cleanupAt(r), ['rdb', 'rdc'], 'each Job once; the database Job was never dropped from the children');
    assert.ok(r.status.operations!.cleanup!.startTime! >= '2026-11-23T03:03:00.000Z', 'the cleanup started only once the database Job had ended');
    assert.deepEqual([r.status.drill!.reason, r.status.drill!.cleanup], ['DrillDeleted', 'Done']);
    assert.match(r.status.drill!.cleanupMessage!, /dropped database drill_scratch/, 'not "nothing to remove"');
  });

  it('a cached parent that lost the write starting the document-library step: both steps are waited for, the cleanup comes after both, the verdict is kept', () => {
    // Tick 1 finishes the database step and starts the document-library Job; that write is lost.
    // Deleted at tick 2 (the parent still shows the database step running); the copy ends at tick 6.
    const r = run(drill('two-running'), (step, tick) => step === 'database' ? done({}, '2026-11-23T03:01:00Z')
      : step === 'documentLibrary' ? (tick >= 6 ? done({ objectCount: 10, totalBytes: 99, consistency: consistency(0) }, '2026-11-23T03:06:00Z') : undefined)
        : done(cleanupResult('dropped', 10), '2026-11-23T03:08:00Z'), (tick) => tick === 1, undefined, 2);
    assert.deepEqual(cleanupAt(r), ['rdb', 'rdl', 'rdc'], 'each Job once');
    assert.ok(r.status.operations!.cleanup!.startTime! >= '2026-11-23T03:06:00.000Z', `the cleanup started after the copy ended (${r.status.operations!.cleanup!.startTime})`);
    assert.deepEqual([r.status.drill!.verdict, r.status.drill!.cleanup, r.status.phase], ['Passed', 'Done', 'Succeeded'], 'a drill whose steps all finished keeps its verdict');
  });

  it('deleted with Jobs but no recorded source, and its backup gone: waits (the shell keeps the Jobs), then says what may be left', () => {
    const parent = drill('no-source');
    const job = localRestoreSteps({ name: parent.metadata.name, uid: parent.metadata.uid!, spec: parent.spec!, source: { manifest: { bucket: 'lc2-backups', key: KEY }, engine: 'postgresql', bucket: 'lc2-backups', artifact: 'a', sha256: 'c'.repeat(64), documentLibraryPrefix: 'p/', resultsPrefix: 'r/' } }, config)[0]!.children[0]!;
    const decide = (deletedMinutesAgo: number) => {
      const now = '2026-11-23T04:00:00.000Z';
      const input: RestoreInput = {
        parent: { ...parent, metadata: { ...parent.metadata, deletionTimestamp: new Date(Date.parse(now) - deletedMinutesAgo * 60_000).toISOString() } },
        backup: undefined, existingChildren: new Set([job.metadata.name]), planner, observations: {}, now, finalizing: true,
      };
      let d = decideRestore(input);
      if (d.need?.kind === 'readManifest') { input.observations = { manifest: { ok: false, reason: 'ManifestNotFound', message: 'no manifest', retryable: false } }; d = decideRestore(input); }
      return d;
    };
    const waiting = decide(1);
    assert.equal(ready(waiting.status).reason, 'Finalizing');
    assert.notEqual(waiting.status.phase, 'Failed');
    const ended = decide(11).status;
    assert.deepEqual([ended.phase, ended.drill!.cleanup], ['Failed', 'Failed']);
    assert.match(ended.drill!.cleanupMessage!, /deleted before its status recorded its steps.*may be left: database drill_scratch .* and restored-dl\/drills\/d1\//);
  });

  it('a spec changed on a cached parent that lost the write starting the copy: the copy Job is waited for before the cleanup (also when not deleted)', () => {
    // The status as the database step left it (still running in this stale view); the copy Job exists.
    const stale = run(drill('changed'), () => undefined);
    const status = stale.last.status;
    const source = status.source!;
    const parent = { ...drill('changed'), status } as RestoreRequest;
    const steps = localRestoreSteps({ name: parent.metadata.name, uid: parent.metadata.uid!, spec: parent.spec!, source }, config);
    const changedSpec = { ...parent.spec!, documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: 'drills/elsewhere' } };
    const input: RestoreInput = {
      parent: { ...parent, spec: changedSpec, metadata: { ...parent.metadata, generation: 2 } },
      backup: undefined, existingChildren: new Set([...stale.created.keys(), steps[1]!.children[0]!.metadata.name]), planner, observations: {}, now: '2026-11-23T05:00:00Z',
    };
    let d = decideRestore(input);
    for (let round = 0; d.need?.kind === 'observeStep' && round < 4; round += 1) {
      const step = d.need.step.name;
      input.observations = { ...input.observations, steps: { ...input.observations.steps, [step]: step === 'database' ? done({}, '2026-11-23T04:00:00Z') : { state: 'running' } } };
      d = decideRestore(input);
    }
    assert.equal(d.status.phase, 'CleaningUp');
    assert.match(ready(d.status).message, /waiting for the documentLibrary step's Job to end/);
    assert.equal(d.status.operations?.cleanup, undefined, 'no cleanup while the copy runs');
    assert.ok(d.children.some((c) => c.metadata.name === steps[1]!.children[0]!.metadata.name), 'the copy Job is kept');

    // The running copy is observed to end it, starting nothing; when it ends refusing its prefix (found
    // taken), that reason stays on its operation and the prefix is out of the cleanup's scope, though
    // the drill failed for another reason (the changed spec).
    const settling: RestoreInput = { ...input, observations: {} };
    let settled = 0;
    for (let w = decideRestore(settling), round = 0; w.need?.kind === 'observeStep' && round < 4; round += 1) {
      assert.equal(w.need.step.settle, true, `${w.need.step.name} is observed to settle`);
      const name = w.need.step.name;
      settling.observations = { steps: { ...settling.observations.steps, [name]: name === 'database' ? done({}, '2026-11-23T04:00:00Z')
        : { state: 'failed', reason: 'TargetNotEmpty', message: 'restored-dl/drills/d1/ already holds objects', retryable: false } } };
      w = decideRestore(settling);
      if (!w.need) {
        settled += 1;
        assert.equal(w.status.operations?.documentLibrary?.reason, 'TargetNotEmpty');
        assert.equal(drillScope(w.status).prefix, false, 'a prefix its copy found taken is never the cleanup\'s');
        assert.equal(w.status.drill?.reason, 'SpecChanged');
      }
    }
    assert.equal(settled, 1, 'the copy was observed to its end');
  });

  it('a Job that cannot come while the drill is deleted (its namespace is going) is given up after 10 minutes, not waited for forever', () => {
    const parent = drill('ns-gone');
    const started = run(parent, (step) => step === 'cleanup' ? undefined : done({}, '2026-11-23T03:01:00Z'));
    // The drill entered CleaningUp; its cleanup Job is asked for, and never appears.
    assert.equal(started.last.status.phase, 'CleaningUp');
    const stuck = { ...parent, status: started.last.status };
    const opStart = Date.parse(stuck.status.operations!.cleanup!.startTime!);
    const decide = (deletedMinutesAgo: number) => {
      const now = new Date(opStart + 5 * 60_000).toISOString();
      const input: RestoreInput = {
        parent: { ...stuck, metadata: { ...stuck.metadata, deletionTimestamp: new Date(opStart + 5 * 60_000 - deletedMinutesAgo * 60_000).toISOString() } },
        backup: undefined, existingChildren: new Set(), planner, observations: {}, now, finalizing: true,
      };
      let d = decideRestore(input);
      if (d.need?.kind === 'observeStep') { input.observations = { steps: { [d.need.step.name]: { state: 'running', message: 'Job is being created' } } }; d = decideRestore(input); }
      return d;
    };
    assert.equal(decide(5).status.phase, 'CleaningUp', 'deleted 5 minutes ago: still waiting');
    const given = decide(11).status;
    assert.deepEqual([given.phase, given.drill!.cleanup], ['Failed', 'Failed']);
    assert.match(given.drill!.cleanupMessage!, /could not run while the drill was deleted.*may be left: database drill_scratch/);

    // A cloud cleanup (no Job: an RDS instance being deleted takes minutes) is waited for, never given up.
    const cloud: RestorePlanner = { ...planner, drillCleanup: (ctx, scope) => ({ ...localDrillCleanup(ctx, scope, config), children: [], scope }) };
    const now = new Date(opStart + 5 * 60_000).toISOString();
    const input: RestoreInput = {
      parent: { ...stuck, metadata: { ...stuck.metadata, deletionTimestamp: new Date(opStart + 5 * 60_000 - 30 * 60_000).toISOString() } },
      backup: undefined, existingChildren: new Set(), planner: cloud, observations: {}, now, finalizing: true,
    };
    let d = decideRestore(input);
    assert.equal(d.need?.kind, 'observeStep');
    if (d.need?.kind === 'observeStep') {
      assert.deepEqual(d.need.step.scope, drillScope(stuck.status), 'the step carries its scope to the provider');
      input.observations = { steps: { cleanup: { state: 'running', message: 'deleting the drill\'s RDS instance' } } };
      d = decideRestore(input);
    }
    assert.equal(d.status.phase, 'CleaningUp', 'deleted 30 minutes ago, the cloud cleanup still runs');

    // A cached parent that shows no step at all (the one that created the instance lost): a cloud
    // cleanup still runs (its provider deletes only what carries the drill's UID tag); a Job one has nothing to do.
    const { operations: _ops, ...bare } = stuck.status;
    const blind = (p: RestorePlanner) => decideRestore({ ...input, parent: { ...input.parent, status: { ...bare, phase: 'RestoringDatabase' } }, planner: p, observations: {} });
    const c = blind(cloud);
    assert.deepEqual([c.status.phase, c.status.operations?.cleanup?.state], ['CleaningUp', 'Running'], 'the cloud cleanup is started');
    assert.equal(blind(planner).status.drill?.cleanupMessage, 'nothing to remove: no step started');
  });
});
