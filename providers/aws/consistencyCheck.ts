// The consistency check's Jobs observed (consistencyJobs.ts plans them). Their results sit where the
// project's credentials can write, so what they say is cross-checked, never merely taken: the
// comparison must use the list the first Job made (same count), and a list that was made must be used.
import type { Consistency } from '../../core/crd.ts';
import { resultKey } from '../../core/layout.ts';
import type { BackupContext, BackupStepResult, Observation, ObjectStore } from '../../core/provider.ts';
import type { KubeObject } from '../../core/kube.ts';
import { observeJob, readJobResult } from '../shared/jobs/results.ts';

const invalid = (message: string): Observation<BackupStepResult> => ({ state: 'failed', reason: 'ResultInvalid', message, retryable: false });

export async function observeCheckJob(step: 'keys' | 'consistency', ctx: BackupContext, job: KubeObject | undefined, store: ObjectStore): Promise<Observation<BackupStepResult>> {
  const { bucket } = ctx.location;
  const obs = await observeJob(job, store, bucket, resultKey(ctx.location, step));
  if (obs.state !== 'done') return obs;
  if (step === 'keys') return { state: 'done', result: {}, completedAt: obs.completedAt };
  const dl = ctx.documentLibrary;
  if (!dl) return invalid('the document-library step recorded no result to check');
  const listed = await readJobResult(store, bucket, resultKey(ctx.location, 'keys'));
  if (listed.kind !== 'ok') return invalid(`the key list's result ${resultKey(ctx.location, 'keys')} is ${listed.kind === 'invalid' ? `invalid (${listed.message})` : listed.kind}`);
  const expected = listed.value.expectedKeys;
  const c: Consistency | undefined = obs.result.consistency;
  if (expected === undefined) {
    // No Liferay document tables: no list, no check, and the backup says nothing about consistency.
    return c ? invalid('the check reports a comparison, but no key list was made') : { state: 'done', result: { documentLibrary: dl }, completedAt: obs.completedAt };
  }
  if (!c) return invalid(`the key list holds ${expected} keys, but the check reports no comparison`);
  if (c.expected !== expected) return invalid(`the check compared ${c.expected} keys, the key list holds ${expected}`);
  return { state: 'done', result: { documentLibrary: { ...dl, consistency: c } }, completedAt: obs.completedAt };
}
