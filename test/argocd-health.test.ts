// The Argo CD health checks (argocd/), run by a real Lua 5.1 interpreter (Argo CD runs gopher-lua,
// a Lua 5.1) against statuses the hook's own state machines produce.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import YAML from 'yaml';
import { decideBackup } from '../hooks/backup/machine.ts';
import { localBackupProblems, localBackupSteps } from '../providers/local/backup.ts';
import { backupRequest } from './support/resources.ts';
import type { BackupRequest } from '../core/crd.ts';

const cm = YAML.parse(execFileSync('kubectl', ['kustomize', 'argocd'], { encoding: 'utf8' })) as { metadata: { name: string; namespace: string }; data: Record<string, string> };
const script = (kind: string) => cm.data[`resource.customizations.health.backup.liferay.cloud_${kind}`]!;

/** JSON value → Lua 5.1 table constructor (fixtures are ASCII). */
function lua(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{${value.map(lua).join(', ')}}`;
  return `{${Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `[${JSON.stringify(k)}] = ${lua(v)}`).join(', ')}}`;
}

function health(kind: string, obj: object): { status: string; message: string } {
  const program = `obj = ${lua(obj)}\nlocal function check()\n${script(kind)}\nend\nlocal hs = check()\nio.write(hs.status, "\\n", hs.message or "")\n`;
  const [status, ...message] = execFileSync('lua5.1', ['-'], { input: program, encoding: 'utf8' }).split('\n');
  return { status: status!, message: message.join('\n') };
}

const config = { image: 'x', storage: { kind: 'file' as const, root: '/s' }, backoffLimit: 1, activeDeadlineSeconds: 60, transfers: 1 };
const planner = { problems: localBackupProblems, steps: (ctx: Parameters<typeof localBackupSteps>[0]) => localBackupSteps(ctx, config) };
const decided = (parent: BackupRequest): BackupRequest => {
  const d = decideBackup({ parent, existingChildren: new Set(), planner, observations: {}, now: '2026-11-23T02:00:00Z' });
  return { ...parent, status: { ...d.status, observedGeneration: parent.metadata.generation } };
};

describe('Argo CD health (Lua 5.1)', () => {
  it('argocd/ renders one argocd-cm with a check per kind', () => {
    assert.equal(cm.metadata.name, 'argocd-cm');
    assert.equal(cm.metadata.namespace, 'argocd');
    for (const kind of ['BackupRequest', 'RestoreRequest', 'BackupSchedule']) assert.ok(script(kind), kind);
  });

  it('BackupRequest: Progressing without status, while running and while a spec change is unobserved', () => {
    assert.equal(health('BackupRequest', backupRequest('a')).status, 'Progressing');
    const running = decided(backupRequest('b'));
    const h = health('BackupRequest', running);
    assert.deepEqual(h, { status: 'Progressing', message: 'dumping postgresql database lportal (operation b-db-' + running.metadata.uid!.replace(/-/g, '').slice(0, 8) + ')' });
    const edited = { ...running, metadata: { ...running.metadata, generation: 2 } };
    assert.deepEqual(health('BackupRequest', edited), { status: 'Progressing', message: 'The controller has not seen the latest spec yet' });
  });

  it('BackupRequest: Degraded with the reason when Failed, Healthy when Succeeded', () => {
    const failed = decided(backupRequest('c', { retentionDays: 0 }));
    assert.deepEqual(health('BackupRequest', failed), { status: 'Degraded', message: 'spec.retentionDays: must be >= 1 (got 0)' });
    const ok = { ...failed, status: { ...failed.status, phase: 'Succeeded', conditions: [{ type: 'Ready', status: 'True', reason: 'BackupSucceeded', message: 'backup complete', lastTransitionTime: 't' }] } };
    assert.deepEqual(health('BackupRequest', ok), { status: 'Healthy', message: 'backup complete' });
  });

  it('RestoreRequest uses the same rules', () => {
    assert.equal(health('RestoreRequest', { metadata: { generation: 1 }, status: { phase: 'RestoringDatabase', observedGeneration: 1 } }).status, 'Progressing');
    assert.equal(health('RestoreRequest', { metadata: { generation: 1 }, status: { phase: 'Failed', observedGeneration: 1 } }).status, 'Degraded');
  });

  it('BackupSchedule mirrors CronJob: Suspended, Degraded, Progressing, Healthy', () => {
    assert.equal(health('BackupSchedule', { spec: { suspend: true }, status: { active: ['x'] } }).status, 'Suspended');
    assert.deepEqual(health('BackupSchedule', { spec: {}, status: { conditions: [{ type: 'Ready', status: 'False', reason: 'LastBackupFailed', message: 'nightly-1 failed' }] } }), { status: 'Degraded', message: 'nightly-1 failed' });
    assert.deepEqual(health('BackupSchedule', { spec: {}, status: { active: ['nightly-29384160'] } }), { status: 'Progressing', message: 'Backup running: nightly-29384160' });
    assert.deepEqual(health('BackupSchedule', { spec: {}, status: { lastSuccessfulBackup: 'nightly-1' } }), { status: 'Healthy', message: 'Last successful backup: nightly-1' });
  });
});
