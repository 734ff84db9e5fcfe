// The directory-backed object store (the demo's and the tests' storage): a listing never leaves
// its bucket - not through '..', not through a symlinked folder - and a prefix through a file is empty.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileObjectStore } from '../providers/shared/storage/fileStore.ts';

describe('file object store listing', () => {
  it('lists only inside the bucket and the prefix\'s own directory', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lc2-fs-'));
    const outside = mkdtempSync(join(tmpdir(), 'lc2-outside-'));
    mkdirSync(join(outside, 'e'), { recursive: true });
    writeFileSync(join(outside, 'e', 'secret.txt'), 'not yours');
    const store = new FileObjectStore(root);
    await store.put('b', 'p/q/a.txt', 'a');
    await store.put('b', 'p/r/b.txt', 'b');
    await store.put('b', 'file', 'x');
    symlinkSync(outside, join(root, 'b', 'link'));
    assert.deepEqual((await store.list('b', 'p/q/')).map((o) => o.key), ['p/q/a.txt']);
    assert.deepEqual((await store.list('b', 'p/')).map((o) => o.key), ['p/q/a.txt', 'p/r/b.txt']);
    assert.deepEqual((await store.list('b', 'p')).map((o) => o.key), ['p/q/a.txt', 'p/r/b.txt'], 'a prefix without / walks the bucket');
    assert.deepEqual(await store.list('b', 'link/e/'), [], 'a symlinked folder leading out of the bucket is not followed');
    assert.deepEqual(await store.list('b', '../../'), []);
    assert.deepEqual(await store.list('b', 'file/x/'), [], 'a prefix through a file is empty, not an error');
  });
});
