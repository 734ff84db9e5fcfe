// The pure BackupRequest machine, without I/O: random observation sequences never move a phase
// backwards, never leave a terminal phase, never mark Succeeded without a verified manifest, and
// every status they produce is one the API server accepts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideBackup, type BackupObservations } from '../hooks/backup/machine.ts';
import { decideRestore } from '../hooks/restore/machine.ts';
import { BACKUP_PHASES, type BackupRequest } from '../core/crd.ts';
import { localBackupProblems, localBackupSteps } from '../providers/local/backup.ts';
import { statusErrors } from '../core/validation/schema.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';
import type { Observation, BackupPlanner, BackupStepName } from '../core/provider.ts';
import type { BackupStepResult } from '../core/provider.ts';

const config = { image: 'x', storage: { kind: 'file' as const, root: '/s' }, backoffLimit: 1, activeDeadlineSeconds: 60, transfers: 1 };
const planner: BackupPlanner = { problems: localBackupProblems, steps: (ctx) => localBackupSteps(ctx, config) };

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}

const db: BackupStepResult = { database: { engine: 'postgresql', format: 'f', artifact: 'k', sizeBytes: 5, sha256: 'b'.repeat(64), tool: 't' } };
const dl: BackupStepResult = { documentLibrary: { objectCount: 2, totalBytes: 9, excludedPatterns: [], tool: 't' } };

function randomObservation(r: () => number, step: BackupStepName): Observation<BackupStepResult> {
  const x = r();
  if (x < 0.4) return { state: 'running' };
  if (x < 0.5) return { state: 'running', progress: { after: `k${Math.floor(r() * 100)}` }, resyncAfterSeconds: 1 };
  if (x < 0.55) return { state: 'failed', reason: 'Throttling', message: 'slow down', retryable: true };
  if (x < 0.6) return { state: 'failed', reason: 'JobFailed', message: 'boom', retryable: false };
  return { state: 'done', result: step === 'export' ? db : dl, completedAt: '2026-11-23T03:00:00Z' };
}

describe('BackupRequest machine (pure)', () => {
  it('random histories: phases only move forward, terminal is final, Succeeded only after verification', () => {
    const order = new Map(BACKUP_PHASES.map((p, i) => [p, i]));
    for (let seed = 1; seed <= 300; seed += 1) {
      const r = rng(seed);
      let parent: BackupRequest = backupRequest(`p${seed}`);
      let lastIndex = -1;
      let terminalStatus: string | undefined;
      for (let tick = 0; tick < 25; tick += 1) {
        const observations: BackupObservations = {};
        let d = decideBackup({ parent, existingChildren: new Set(), planner, observations, now: `2026-11-23T02:${String(tick).padStart(2, '0')}:00Z` });
        for (let round = 0; d.need && round < 6; round += 1) {
          if (d.need.kind === 'observeStep') observations.steps = { ...observations.steps, [d.need.step.name]: randomObservation(r, d.need.step.name) };
          else observations.manifest = r() < 0.7 ? { ok: true } : { ok: false, retryable: r() < 0.5, message: 'm' };
          d = decideBackup({ parent, existingChildren: new Set(), planner, observations, now: `2026-11-23T02:${String(tick).padStart(2, '0')}:00Z` });
        }
        assert.equal(d.need, undefined);
        assert.deepEqual(statusErrors('BackupRequest', d.status), [], `seed ${seed}`);
        const phase = d.status.phase!;
        if (terminalStatus) assert.equal(JSON.stringify(d.status), terminalStatus, 'terminal status never changes');
        assert.ok(order.get(phase)! >= lastIndex, `seed ${seed}: ${phase} after index ${lastIndex}`);
        lastIndex = order.get(phase)!;
        if (phase === 'Succeeded') {
          assert.equal(observations.manifest?.ok ?? true, true);
          assert.ok(d.status.manifest && d.status.database && d.status.documentLibrary);
        }
        if (phase === 'Succeeded' || phase === 'Failed') {
          terminalStatus ??= JSON.stringify(d.status);
          assert.equal(d.resyncAfterSeconds, undefined, 'no resync once terminal');
        } else {
          // In flight: 30 s, sooner when a step asks (progress) or at the end of a backoff (≤ 5 min).
          assert.ok(d.resyncAfterSeconds !== undefined && d.resyncAfterSeconds >= 1 && d.resyncAfterSeconds <= 300, `resync while in flight: ${d.resyncAfterSeconds}`);
        }
        parent = { ...parent, status: d.status };
      }
    }
  });

  it('starts the dump step with the operation ID recorded before any observation', () => {
    const d = decideBackup({ parent: backupRequest('a'), existingChildren: new Set(), planner, observations: {}, now: '2026-11-23T02:00:00Z' });
    assert.equal(d.need, undefined);
    assert.equal(d.status.phase, 'ExportInProgress');
    assert.equal(d.status.operations?.export?.id, d.children[0]!.metadata.name);
  });
});

describe('RestoreRequest machine (pure)', () => {
  it('needs the manifest before starting, and refuses a manifest of another project', () => {
    const restorePlanner = { problems: () => [], steps: () => [] };
    // A key in another project's folder is refused without being read.
    const foreign = restoreRequest('f', { source: { manifest: { bucket: 'lc2-backups', key: 'other/prd/b-1/manifest.json' } } });
    const unread = decideRestore({ parent: foreign, backup: undefined, existingChildren: new Set(), planner: restorePlanner, observations: {}, now: 'n' });
    assert.equal(unread.need, undefined);
    assert.equal(unread.status.conditions!.find((c) => c.type === 'Ready')!.reason, 'ManifestNotFound');
    const parent = restoreRequest('r', { source: { manifest: { bucket: 'lc2-backups', key: 'retail/prd/b-1/manifest.json' } } });
    const first = decideRestore({ parent, backup: undefined, existingChildren: new Set(), planner: restorePlanner, observations: {}, now: 'n' });
    assert.deepEqual(first.need, { kind: 'readManifest', bucket: 'lc2-backups', key: 'retail/prd/b-1/manifest.json' });
    const manifest = {
      schemaVersion: 'backup.liferay.cloud/manifest/v1' as const, backupId: 'b-1', projectId: 'other', environment: 'prd', provider: 'local',
      source: { namespace: 'n', name: 'b', uid: 'u' }, startedAt: 's', completedAt: 'c', location: { bucket: 'lc2-backups', prefix: 'other/prd/b-1/' },
      database: { engine: 'postgresql', type: 'dump', instanceId: 'h', format: 'f', artifact: 'a', sizeBytes: 1, sha256: 'c'.repeat(64) },
      documentLibrary: { sourceBucket: 's', sourcePrefix: '', prefix: 'other/prd/b-1/dl/', objectCount: 0, totalBytes: 0, excludedPatterns: [] },
      operations: {}, tools: {},
    };
    const d = decideRestore({ parent, backup: undefined, existingChildren: new Set(), planner: restorePlanner, observations: { manifest: { ok: true, manifest } }, now: 'n' });
    assert.equal(d.status.phase, 'Failed');
    assert.match(d.status.conditions!.find((c) => c.type === 'Ready')!.message, /^no manifest at lc2-backups\/retail\/prd\/b-1\/manifest.json$/);
    assert.deepEqual(d.children, []);
  });
});

describe('the dump Job\'s zstd level (LC2_ZSTD_LEVEL) and chunk size (LC2_DUMP_CHUNK_MIB)', () => {
  const dumpEnv = (level?: number, chunkBytes?: number, name = 'LC2_ZSTD_LEVEL') => {
    const ctx = { name: 'b', uid: 'u-1', spec: backupRequest('b').spec!, location: { bucket: 'lc2-backups', prefix: 'retail/prd/b-1/' } };
    const job = localBackupSteps(ctx, { ...config, ...(level ? { zstdLevel: level } : {}), ...(chunkBytes ? { chunkBytes } : {}) })[0]!.children[0]!;
    const env = (job.spec as { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } }).template.spec.containers[0]!.env;
    return env.find((e) => e.name === name)?.value;
  };
  it('the chunk size reaches the dump Job (64 MiB unless set), and only 1-256 MiB starts the server', async () => {
    assert.equal(dumpEnv(undefined, undefined, 'LC2_CHUNK_BYTES'), String(64 * 1024 * 1024));
    assert.equal(dumpEnv(undefined, 8 * 1024 * 1024, 'LC2_CHUNK_BYTES'), String(8 * 1024 * 1024));
    assert.equal(dumpEnv(undefined, undefined, 'LC2_CHUNK_LIST'), 'lc2-backups/retail/prd/b-1/database.pgdump.zst.chunks');
    const { loadConfig } = await import('../app/config.ts');
    const base = { LC2_STORAGE_URL: 'file:///tmp/lc2', LC2_HOOK_AUTH: 'off' };
    assert.equal(loadConfig({ ...base, LC2_DUMP_CHUNK_MIB: '8' }).local?.chunkBytes, 8 * 1024 * 1024);
    assert.throws(() => loadConfig({ ...base, LC2_DUMP_CHUNK_MIB: '0' }), /LC2_DUMP_CHUNK_MIB must be an integer from 1 to 256, got 0/);
    assert.throws(() => loadConfig({ ...base, LC2_DUMP_CHUNK_MIB: '512' }), /from 1 to 256, got 512/);
  });
  it("reaches the dump Job when the hook server sets it, and is left to the script's default (1) otherwise", async () => {
    assert.equal(dumpEnv(6), '6');
    assert.equal(dumpEnv(), undefined);
    const { loadConfig } = await import('../app/config.ts');
    const base = { LC2_STORAGE_URL: 'file:///tmp/lc2', LC2_HOOK_AUTH: 'off' };
    assert.equal(loadConfig({ ...base, LC2_ZSTD_LEVEL: '9' }).local?.zstdLevel, 9);
    assert.throws(() => loadConfig({ ...base, LC2_ZSTD_LEVEL: '0' }), /LC2_ZSTD_LEVEL must be an integer from 1 to 19, got 0/);
    assert.throws(() => loadConfig({ ...base, LC2_ZSTD_LEVEL: '-3; rm -rf /' }), /LC2_ZSTD_LEVEL must be an integer/);
  });
});
