// The Azure provider's server-side document-library copy on Azurite (Microsoft's Blob emulator, npm
// devDependency, started here) through the real @azure/storage-blob client and a proxy that counts
// the copy requests Azurite accepted: copies across containers of one account over many syncs
// (cursor in the progress), Liferay exclusions, create-only replays, ten concurrent syncs under the
// lease, a large blob through the asynchronous Copy Blob (made to look pending by the proxy: Azurite
// finishes same-instance copies at once), refusal of a foreign blob in a restore target, faults.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAzurite, AZURITE_ACCOUNT, AZURITE_KEY, type Azurite } from './support/azurite.ts';
import { startBlobProxy, type BlobProxy } from './support/blobProxy.ts';
import { azureClients, type AzureClients } from '../providers/azure/clients.ts';
import { azureConfigFromEnv } from '../providers/azure/config.ts';
import { AzureBlobStore } from '../providers/azure/blobStore.ts';
import { blobCopyStep, emptyProgress, ETAG_META, OP_META, type BlobCopyProgress, type BlobCopySpec } from '../providers/azure/blobCopy.ts';
import { leasedStep } from '../providers/shared/leasedStep.ts';
import { classify } from '../providers/azure/errors.ts';
import { excluder } from '../core/glob.ts';
import { LIFERAY_GENERATED_PATTERNS } from '../core/exclusions.ts';
import { sampleDocumentLibrary } from '../demo/sample.ts';

let azurite: Azurite;
let proxy: BlobProxy;
let clients: AzureClients;
let store: AzureBlobStore;
const files = sampleDocumentLibrary(400, (i) => 50 + (i % 7) * 30);
const originals = files.filter((f) => !f.generated);
const rel = (k: string) => k.slice('document_library/'.length);
const dl = { account: AZURITE_ACCOUNT, container: 'liferay-dl' };
const backups = { account: AZURITE_ACCOUNT, container: 'lc2-backups' };

const spec = (destinationPrefix: string, over: Partial<BlobCopySpec> = {}): BlobCopySpec => ({
  source: dl, sourcePrefix: 'document_library/', destination: backups, destinationPrefix,
  exclude: excluder([...LIFERAY_GENERATED_PATTERNS]), parallelism: 8, pageSize: 40, asyncThreshold: 256 * 1024 ** 2,
  opId: 'lc2-t-test', mayReplace: false, ...over,
});

async function names(container: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const b of azurite.service.getContainerClient(container).listBlobsFlat({ prefix })) out.push(b.name);
  return out.sort();
}
const bytes = async (container: string, name: string) => azurite.service.getContainerClient(container).getBlobClient(name).downloadToBuffer();

/** Syncs until done, each with `budgetMs`, keeping only what the step returns (as status does). */
async function copyAll(s: BlobCopySpec, budgetMs: number, from: BlobCopyProgress = emptyProgress()): Promise<{ progress: BlobCopyProgress; syncs: number }> {
  let p = from;
  for (let i = 1; i < 500; i += 1) {
    const r = await blobCopyStep(clients, s, p, budgetMs);
    p = r.progress;
    if (r.done) return { progress: p, syncs: i };
  }
  throw new Error('copy did not finish');
}

before(async () => {
  azurite = await startAzurite();
  proxy = await startBlobProxy(azurite.url.replace(`/${AZURITE_ACCOUNT}`, ''));
  for (const c of ['liferay-dl', 'lc2-backups', 'restored-dl']) await azurite.service.getContainerClient(c).create();
  const src = azurite.service.getContainerClient('liferay-dl');
  for (let i = 0; i < files.length; i += 32) await Promise.all(files.slice(i, i + 32).map((f) => src.getBlockBlobClient(f.key).upload(f.body, f.body.length)));
  const config = azureConfigFromEnv({
    LC2_AZURE_SUBSCRIPTION_ID: '00000000-0000-4000-8000-000000000001', LC2_AZURE_RESOURCE_GROUP: 'rg', LC2_AZURE_BLOB_URL_TEMPLATE: proxy.template,
    LC2_AZURE_STORAGE_ACCOUNT_KEY: AZURITE_KEY, LC2_AZURE_ARM_ENDPOINT: 'http://127.0.0.1:9', LC2_AZURE_CALL_TIMEOUT_MS: '5000', LC2_CHECKPOINT_KEY: 'blob-copy-test-key',
  })!;
  clients = azureClients(config);
  store = new AzureBlobStore(clients, AZURITE_ACCOUNT);
});

after(async () => {
  await proxy?.close();
  await azurite?.stop();
});

describe('Azure Blob server-side copy (Azurite)', () => {
  it('copies the library across containers over many syncs: exactly the non-generated blobs, byte-identical, each copied once', async () => {
    proxy.copies.clear();
    const { progress, syncs } = await copyAll(spec('retail/prd/b1/dl/'), 30);
    assert.ok(syncs > 3, `resumed across ${syncs} syncs`);
    assert.deepEqual(await names('lc2-backups', 'retail/prd/b1/dl/'), originals.map((f) => `retail/prd/b1/dl/${rel(f.key)}`).sort());
    assert.equal(progress.copied, originals.length);
    assert.equal(progress.excluded, files.length - originals.length);
    assert.equal(progress.bytes, originals.reduce((n, f) => n + f.body.length, 0));
    assert.equal(proxy.copies.size, originals.length);
    assert.ok([...proxy.copies.values()].every((n) => n === 1), 'no blob copied twice');
    assert.equal(proxy.syncCopies.size, originals.length, 'small blobs through Copy Blob From URL');
    for (const f of originals.slice(0, 40)) assert.ok((await bytes('lc2-backups', `retail/prd/b1/dl/${rel(f.key)}`)).equals(f.body), f.key);
    const props = await azurite.service.getContainerClient('lc2-backups').getBlobClient(`retail/prd/b1/dl/${rel(originals[0]!.key)}`).getProperties();
    assert.equal(props.metadata?.[OP_META], 'lc2-t-test', 'each copy carries the operation marker');
    assert.ok(props.metadata?.[ETAG_META], 'and the source version');

    // A replay from the start (its progress lost) copies nothing: every blob is found, create-only, and adopted.
    proxy.copies.clear();
    const replay = await copyAll(spec('retail/prd/b1/dl/'), 5000);
    assert.equal(replay.progress.copied, 0);
    assert.equal(replay.progress.alreadyThere, originals.length);
    assert.equal(proxy.copies.size, 0, 'Azurite accepted no copy on the replay');
  });

  it('the object store pages by "after" (no start-after in Blob listings): every name once, in order', async () => {
    const all: string[] = [];
    let after: string | undefined;
    for (let i = 0; i < 100; i += 1) {
      const page = await store.list('lc2-backups', 'retail/prd/b1/dl/', after, 37);
      if (page.length === 0) break;
      all.push(...page.map((o) => o.key));
      after = page[page.length - 1]!.key;
    }
    assert.deepEqual(all, await names('lc2-backups', 'retail/prd/b1/dl/'));
    assert.deepEqual((await store.list('lc2-backups', 'retail/prd/b1/dl/', all[100], 3)).map((o) => o.key), all.slice(101, 104), 'from any key, remembered or not');
  });

  it('ten concurrent syncs under the lease and checkpoint: every blob copied once, all agree it is done', async () => {
    proxy.copies.clear();
    const s = spec('retail/prd/b2/dl/');
    const book = store.bookkeeping('lc2-backups');
    const sync = async () => {
      let p = emptyProgress();
      for (let i = 0; i < 400; i += 1) {
        const r = await leasedStep<BlobCopyProgress>(book, 'retail/prd/b2/results/transfer-progress', 30_000, p, (q) => q.after ?? '',
          (start, save) => blobCopyStep(clients, s, start, 40, save), 'blob-copy-test-key');
        p = r.progress;
        if (r.done) return p;
        if (r.busyUntil) await new Promise((res) => setTimeout(res, 20));
      }
      throw new Error('did not finish');
    };
    const results = await Promise.all(Array.from({ length: 10 }, sync));
    assert.equal(proxy.copies.size, originals.length);
    assert.ok([...proxy.copies.values()].every((n) => n === 1), 'no blob copied twice');
    for (const r of results) assert.equal(r.copied + r.alreadyThere, originals.length);
  });

  it('a checkpoint a tenant plants, or one copied from another backup\'s folder, is not believed (signed for its place)', async () => {
    const book = store.bookkeeping('lc2-backups');
    const run = (folder: string) => leasedStep<BlobCopyProgress>(book, `${folder}results/transfer-progress`, 30_000, emptyProgress(), (q) => q.after ?? '',
      (start, save) => blobCopyStep(clients, spec(`${folder}dl/`), start, 60_000, save), 'blob-copy-test-key');
    // Planted: "done, 999 copied", unsigned.
    const planted = JSON.stringify({ progress: { ...emptyProgress(), copied: 999, after: 'document_library/zzz' }, done: true, completedAt: '2026-01-01T00:00:00Z' });
    await azurite.service.getContainerClient('lc2-backups').getBlockBlobClient('retail/prd/b6/results/transfer-progress.json').upload(planted, planted.length);
    const out = await run('retail/prd/b6/');
    assert.equal(out.done, true);
    assert.equal(out.progress.copied + out.progress.alreadyThere, originals.length, 'the real copy ran');
    assert.deepEqual(await names('lc2-backups', 'retail/prd/b6/dl/'), originals.map((f) => `retail/prd/b6/dl/${rel(f.key)}`).sort());
    // A genuine, signed "done" checkpoint copied into another backup's folder.
    const genuine = await bytes('lc2-backups', 'retail/prd/b6/results/transfer-progress.json');
    await azurite.service.getContainerClient('lc2-backups').getBlockBlobClient('retail/prd/b7/results/transfer-progress.json').upload(genuine, genuine.length);
    const other = await run('retail/prd/b7/');
    assert.equal(other.done, true);
    assert.equal((await names('lc2-backups', 'retail/prd/b7/dl/')).length, originals.length, 'the copy into b7 was made, not skipped');
  });

  it('a large blob goes through the asynchronous Copy Blob: its copy ID is kept while pending and the cursor waits for it', async () => {
    const big = Buffer.alloc(3 * 1024 ** 2, 7);
    const src = azurite.service.getContainerClient('liferay-dl');
    await src.getBlockBlobClient('big/20097/20121/900/1.0').upload(big, big.length);
    for (let i = 901; i <= 930; i += 1) await src.getBlockBlobClient(`big/20097/20121/${i}/1.0`).upload(Buffer.from(`small ${i}`), 9);
    proxy.copies.clear(); proxy.syncCopies.clear();
    const dest = 'retail/prd/b3/dl/20097/20121/900/1.0';
    // Pending on its Copy Blob answer and on the next two property reads.
    proxy.pending.set(`/${AZURITE_ACCOUNT}/lc2-backups/${dest}`, 3);
    const s = spec('retail/prd/b3/dl/', { sourcePrefix: 'big/', asyncThreshold: 1024 ** 2, pageSize: 10 });
    const first = await blobCopyStep(clients, s, emptyProgress(), 5000);
    assert.equal(first.done, false);
    assert.ok(proxy.copies.size <= 10, `the sync stopped a page past the pending copy (${proxy.copies.size} copies), not at its budget`);
    const pend = first.progress.pending?.['20097/20121/900/1.0'];
    assert.ok(pend?.copyId, 'the copy ID is kept');
    assert.equal(first.progress.after, undefined, 'the cursor waits at the pending blob');
    assert.doesNotMatch(JSON.stringify(first.progress), /sig=|se=|sv=/, 'no SAS in the progress');
    const { progress } = await copyAll(s, 5000, first.progress);
    // The small blob after it was copied in the first sync but counted once the cursor passed it (as found there).
    assert.equal(progress.copied + progress.alreadyThere, 31);
    assert.equal(progress.pending, undefined);
    assert.ok([...proxy.copies.values()].every((n) => n === 1));
    assert.equal(proxy.copies.get(`/${AZURITE_ACCOUNT}/lc2-backups/${dest}`), 1, 'the large blob was copied once');
    assert.equal(proxy.syncCopies.get(`/${AZURITE_ACCOUNT}/lc2-backups/${dest}`), undefined, 'through Copy Blob, not Copy Blob From URL');
    assert.ok((await bytes('lc2-backups', dest)).equals(big), 'byte-identical');
  });

  it('many large blobs with long names pending at once: the pending list stays within the checkpoint\'s 64 KiB, and all are copied once', async () => {
    const src = azurite.service.getContainerClient('liferay-dl');
    const long = (i: number) => `wide/${String(i).padStart(4, '0')}-${'x'.repeat(900)}`;
    for (let i = 0; i < 120; i += 24) await Promise.all(Array.from({ length: 24 }, (_, j) => src.getBlockBlobClient(long(i + j)).upload('page blob', 9)));
    proxy.copies.clear();
    // Every blob goes through the asynchronous Copy Blob and looks pending for its answer and two property reads.
    for (let i = 0; i < 120; i += 1) proxy.pending.set(`/${AZURITE_ACCOUNT}/lc2-backups/retail/prd/b9/dl/${long(i).slice('wide/'.length)}`, 3);
    const s = spec('retail/prd/b9/dl/', { sourcePrefix: 'wide/', asyncThreshold: 5, pageSize: 200, parallelism: 16 });
    const book = store.bookkeeping('lc2-backups');
    let p = emptyProgress();
    let done = false;
    let most = 0;
    for (let i = 0; i < 200 && !done; i += 1) {
      // The checkpoint is written under the lease as in the provider: one that outgrows 64 KiB is refused there.
      const out = await leasedStep<BlobCopyProgress>(book, 'retail/prd/b9/results/transfer-progress', 20_000, p, (q) => q.after ?? '',
        (start, save) => blobCopyStep(clients, s, start, 2000, save), 'blob-copy-test-key');
      p = out.progress; done = out.done;
      most = Math.max(most, Object.keys(p.pending ?? {}).length);
    }
    assert.equal(done, true);
    assert.ok(most > 1 && most <= 64, `large copies pending at once: ${most}`);
    assert.equal(p.copied + p.alreadyThere, 120);
    assert.equal(proxy.copies.size, 120);
    assert.ok([...proxy.copies.values()].every((n) => n === 1), 'each copied once');
  });

  it('a blob in a restore target that this operation did not write is refused, or replaced when approved', async () => {
    const target = 'retail/restored/';
    const first = originals[0]!;
    await azurite.service.getContainerClient('restored-dl').getBlockBlobClient(`${target}${rel(first.key)}`).upload('someone else', 12);
    const s = spec(target, { destination: { account: AZURITE_ACCOUNT, container: 'restored-dl' }, opId: 'lc2-r-test' });
    const refused = await copyAll(s, 5000).then(() => undefined, (e: unknown) => e);
    assert.equal(classify(refused).reason, 'TargetNotEmpty');
    assert.equal(classify(refused).retryable, false);
    assert.equal((await bytes('restored-dl', `${target}${rel(first.key)}`)).toString(), 'someone else', 'left alone');
    const { progress } = await copyAll({ ...s, mayReplace: true }, 5000);
    assert.equal(progress.copied + progress.alreadyThere, originals.length);
    assert.ok((await bytes('restored-dl', `${target}${rel(first.key)}`)).equals(first.body), 'replaced when approved');
  });

  it('with 10% of requests failing (503, 500, dropped), retried syncs finish with every blob copied once', async () => {
    proxy.copies.clear();
    proxy.faults.share = 0.1; proxy.faults.seen = 0;
    const s = spec('retail/prd/b5/dl/');
    let p = emptyProgress();
    let failures = 0;
    try {
      for (let i = 0; i < 400; i += 1) {
        const r = await blobCopyStep(clients, s, p, 40).catch((e: unknown) => { assert.equal(classify(e).retryable, true, JSON.stringify(classify(e))); failures += 1; return undefined; });
        if (!r) continue;
        p = r.progress;
        if (r.done) break;
      }
    } finally { proxy.faults.share = 0; }
    assert.ok(proxy.faults.seen > 10, `faults injected: ${proxy.faults.seen}`);
    assert.equal(p.copied + p.alreadyThere, originals.length);
    assert.deepEqual(await names('lc2-backups', 'retail/prd/b5/dl/'), originals.map((f) => `retail/prd/b5/dl/${rel(f.key)}`).sort());
    assert.ok([...proxy.copies.values()].every((n) => n === 1), `no blob copied twice (${failures} syncs failed)`);
  });
});
