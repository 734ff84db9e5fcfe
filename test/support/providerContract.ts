// The contract every cloud provider's database step keeps (docs: the provider template in
// style-anchors.md): three starts make one resource; a foreign resource under our name is an
// OwnershipConflict (not retried); throttling is retryable; a second delete is done; verification
// after the resource vanished is a permanent "not ok". A provider's test supplies a Subject over its
// real SDK client and its emulator or fake; the assertions are the same for every provider.
import { it } from 'node:test';
import assert from 'node:assert/strict';

export interface Classified { reason: string; retryable: boolean }

export interface ContractSubject {
  /** A fresh backup target (a new UID): nothing exists for it yet. */
  fresh(): Promise<void>;
  /** The step for the current target run to the end of its operation, from nothing recorded (a replay that lost its status). */
  startToDone(): Promise<void>;
  /** One sync of the step, classifying what it throws (undefined when it did not throw). */
  startOnce(): Promise<Classified | undefined>;
  /** How many resources the cloud holds (or was asked to create) for the current target. */
  created(): Promise<number>;
  /** Someone else's resource under the current target's name. */
  plantForeign(): Promise<void>;
  throttle(on: boolean): void;
  /** Deletes the current target's resource; true once it is gone. */
  delete(): Promise<boolean>;
  /** Verification before Succeeded. */
  verify(): Promise<{ ok: boolean; retryable?: boolean }>;
  /** The resource disappears behind our back. */
  removeExternally(): Promise<void>;
}

export function providerContract(subject: () => ContractSubject): void {
  it('contract: three starts make one resource', async () => {
    const s = subject();
    await s.fresh();
    for (let i = 0; i < 3; i += 1) await s.startToDone();
    assert.equal(await s.created(), 1);
  });

  it('contract: a foreign resource under our name is an OwnershipConflict, not retried', async () => {
    const s = subject();
    await s.fresh();
    await s.plantForeign();
    const c = await s.startOnce();
    assert.equal(c?.reason, 'OwnershipConflict');
    assert.equal(c?.retryable, false);
  });

  it('contract: throttling is retryable', async () => {
    const s = subject();
    await s.fresh();
    s.throttle(true);
    try {
      const c = await s.startOnce();
      assert.equal(c?.retryable, true, JSON.stringify(c));
    } finally { s.throttle(false); }
  });

  it('contract: a second delete is done; verification after the resource vanished is a permanent failure', async () => {
    const s = subject();
    await s.fresh();
    await s.startToDone();
    assert.equal((await s.verify()).ok, true);
    let gone = false;
    for (let i = 0; i < 10 && !gone; i += 1) gone = await s.delete();
    assert.ok(gone);
    assert.equal(await s.delete(), true);
    await s.fresh();
    await s.startToDone();
    await s.removeExternally();
    const v = await s.verify();
    assert.equal(v.ok, false);
    assert.equal(v.retryable, false);
  });
}
