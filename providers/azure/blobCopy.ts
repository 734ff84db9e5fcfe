// Server-side copy of a document library between Azure Blob containers. Nothing streams through the
// hook. Blobs are taken in listing (name) order; the cursor (listing marker + last name done) is
// what the caller keeps in status and in the leased checkpoint. Every copy is create-only (If-None-Match "*"), pinned
// to the listed source version (source If-Match) and marked in the destination's metadata with the
// operation ID and the source ETag: a replayed or concurrent copy gets 409 BlobAlreadyExists and
// adopts what is there after checking the marker, so no blob is ever copied twice. Blobs up to the
// threshold go through Copy Blob From URL (synchronous, <= 256 MiB); larger ones through the
// asynchronous Copy Blob, whose copy ID is kept in the progress until the copy succeeded.
import type { BlobBeginCopyFromUrlPollState, BlobItem, ContainerClient } from '@azure/storage-blob';
import { keyOrder } from '../shared/leasedStep.ts';
import type { AzureClients } from './clients.ts';
import { codeOf, isNotFound, refusal } from './errors.ts';
import type { ContainerRef } from './ids.ts';

export interface BlobCopySpec {
  source: ContainerRef; sourcePrefix: string;
  destination: ContainerRef; destinationPrefix: string;
  /** Relative names (under sourcePrefix) that are not copied: the Liferay exclusions. */
  exclude: (relativeName: string) => boolean;
  parallelism: number; pageSize: number; asyncThreshold: number;
  /** The operation's ID (it carries the UID): written into every copy's metadata, proof that a blob found there is ours. */
  opId: string;
  /** A blob there that is not ours may be replaced (an approved restore overwrite); otherwise it is a refusal. */
  mayReplace: boolean;
}

export interface PendingCopy { copyId: string; etag: string }

export interface BlobCopyProgress {
  /** The listing marker of the page the cursor is in, and the last source name done. */
  marker?: string; after?: string;
  copied: number; alreadyThere: number; excluded: number; bytes: number; alreadyBytes?: number;
  /** Large blobs copied asynchronously and still pending, by relative name (copy ID and source ETag). */
  pending?: Record<string, PendingCopy>;
}

export const emptyProgress = (): BlobCopyProgress => ({ copied: 0, alreadyThere: 0, excluded: 0, bytes: 0 });

/** Metadata keys must be C# identifiers. */
export const OP_META = 'lc2op';
export const ETAG_META = 'lc2srcetag';
const bare = (etag: string | undefined) => (etag ?? '').replace(/"/g, '');

/** A relative name that stays inside its folder: no empty, "." or ".." segment (blob names may hold any of them). */
export function isCleanRelativeName(rel: string): boolean {
  if (rel === '' || rel.length > 1024) return false;
  const segments = rel.split('/');
  return segments.every((seg, i) => (seg !== '' || i === segments.length - 1) && seg !== '.' && seg !== '..');
}

const MAX_PENDING = 64;
/**
 * What the pending list may take in the checkpoint (at most 64 KiB with the rest, leasedStep.ts):
 * a tenant's many sparse 1 TiB page blobs with 1 KiB names must not make it unwritable (a step whose
 * checkpoint cannot be saved never ends, nor does the backup's deletion).
 */
const MAX_PENDING_BYTES = 32 * 1024;
/** A pending entry's share of the JSON: its name, copy ID, ETag and punctuation (an upper bound). */
const pendingWeight = (rel: string) => Buffer.byteLength(JSON.stringify(rel)) + 160;
const isPending = (p: unknown): p is PendingCopy => !!p && typeof p === 'object' && typeof (p as PendingCopy).copyId === 'string'
  && (p as PendingCopy).copyId.length <= 100 && typeof (p as PendingCopy).etag === 'string' && (p as PendingCopy).etag.length <= 100;
/** Kept pending copies in their plain shape only (status and checkpoint are data); a Map, so no name is special. */
const keptPending = (p: BlobCopyProgress['pending']) => new Map(p && typeof p === 'object'
  ? Object.entries(p).filter(([rel, v]) => isCleanRelativeName(rel) && isPending(v)).slice(0, MAX_PENDING) : []);

interface ListedPage { segment: { blobItems: BlobItem[] }; continuationToken?: string }

type Outcome = 'copied' | 'already' | { pending: PendingCopy };

interface Ctx { clients: AzureClients; spec: BlobCopySpec; src: ContainerClient; dst: ContainerClient }

/** What the destination holds: ours and of this source version (done, or still copying), or in the way. */
async function existing(c: Ctx, destName: string, item: BlobItem): Promise<'same' | { pending: PendingCopy } | { replace: string }> {
  const p = await c.clients.call((abortSignal) => c.dst.getBlobClient(destName).getProperties({ abortSignal }));
  const ours = p.metadata?.[OP_META] === c.spec.opId;
  const sameVersion = ours && p.metadata?.[ETAG_META] === bare(item.properties.etag);
  if (sameVersion && p.copyStatus === 'pending' && p.copyId) return { pending: { copyId: p.copyId, etag: bare(item.properties.etag) } };
  if (sameVersion && (p.copyStatus === undefined || p.copyStatus === 'success') && p.contentLength === item.properties.contentLength) return 'same';
  // Ours but of an older source version, or a failed copy: replaced. Someone else's: only when approved.
  if (ours || c.spec.mayReplace) return { replace: p.etag ?? '' };
  throw refusal('TargetNotEmpty', `${c.spec.destination.account}.${c.spec.destination.container}/${destName} already exists and was not written by this operation; restore into a new prefix or set spec.approveOverwrite`);
}

async function startCopy(c: Ctx, item: BlobItem, destName: string, ifMatch: string | undefined): Promise<Outcome> {
  const etag = bare(item.properties.etag);
  const url = await c.clients.sourceUrl(c.spec.source.account, c.spec.source.container, item.name);
  const options = {
    metadata: { ...(item.metadata ?? {}), [OP_META]: c.spec.opId, [ETAG_META]: etag },
    conditions: ifMatch ? { ifMatch } : { ifNoneMatch: '*' },
    sourceConditions: { ifMatch: `"${etag}"` },
  };
  const dest = c.dst.getBlobClient(destName);
  if ((item.properties.contentLength ?? 0) > c.spec.asyncThreshold) {
    // beginCopyFromURL sends one Copy Blob and returns; its poller (whose state holds the SAS'd
    // source URL) is never polled or serialized: only the copy ID is kept.
    const poller = await c.clients.call((abortSignal) => dest.beginCopyFromURL(url, { ...options, abortSignal }), true);
    const state = poller.getOperationState() as BlobBeginCopyFromUrlPollState;
    if (state.error) throw state.error;
    return state.isCompleted ? 'copied' : { pending: { copyId: state.copyId ?? '', etag } };
  }
  await c.clients.call((abortSignal) => dest.syncCopyFromURL(url, { ...options, abortSignal }), true);
  return 'copied';
}

/** One blob: copied now, already there (a replay), or an asynchronous copy still under way. */
async function copyOne(c: Ctx, item: BlobItem, destName: string, pending: PendingCopy | undefined): Promise<Outcome> {
  if (pending) {
    // A large copy started by an earlier sync: only its status is read.
    try {
      const p = await c.clients.call((abortSignal) => c.dst.getBlobClient(destName).getProperties({ abortSignal }));
      if (p.copyId === pending.copyId && pending.etag === bare(item.properties.etag)) {
        if (p.copyStatus === 'success') return 'copied';
        if (p.copyStatus === 'pending') return { pending };
      }
    } catch (e) { if (!isNotFound(e)) throw e; }
    // Failed, aborted, replaced or of an older source version: decided afresh below.
  }
  try {
    return await startCopy(c, item, destName, undefined);
  } catch (e) {
    if (codeOf(e) !== 'BlobAlreadyExists' && codeOf(e) !== 'PendingCopyOperation') throw e;
  }
  const there = await existing(c, destName, item);
  if (there === 'same') return pending ? 'copied' : 'already';
  if ('pending' in there) return there;
  // A pending copy in the way is aborted first (Copy Blob refuses to overwrite it).
  const props = await c.clients.call((abortSignal) => c.dst.getBlobClient(destName).getProperties({ abortSignal }));
  if (props.copyStatus === 'pending' && props.copyId) await c.clients.call((abortSignal) => c.dst.getBlobClient(destName).abortCopyFromURL(props.copyId!, { abortSignal })).catch(() => undefined);
  return startCopy(c, item, destName, there.replace || '*');
}

interface Slot { item: BlobItem; rel: string; skipped: boolean; marker: string | undefined; nextMarker: string | undefined; outcome?: Outcome }

/**
 * Copies from the progress on until done or `budgetMs` is spent. Blobs stream through a pool of
 * `parallelism` copies in listing order (the next page is listed while one copies), at most a page
 * ahead of the cursor: the cursor is the last blob of the unbroken run of finished ones, so a
 * replay redoes at most a page (409 adoptions, no copies). A pending large copy holds the cursor at
 * its blob; the sync stops pulling a page past it. `save` records a started large copy before the
 * sync moves on.
 */
export async function blobCopyStep(clients: AzureClients, spec: BlobCopySpec, progress: BlobCopyProgress, budgetMs: number,
  save?: (p: BlobCopyProgress) => Promise<void>): Promise<{ progress: BlobCopyProgress; done: boolean }> {
  const c: Ctx = { clients, spec, src: clients.container(spec.source.account, spec.source.container), dst: clients.container(spec.destination.account, spec.destination.container) };
  const deadline = Date.now() + budgetMs;
  const relative = (n: string) => n.slice(spec.sourcePrefix.length);
  // One listing call per page, each with its own deadline; the next page is asked for while this one copies.
  const listPage = (marker: string | undefined) => {
    const pages = c.src.listBlobsFlat({ prefix: spec.sourcePrefix, includeMetadata: true, abortSignal: clients.signal() })
      .byPage({ maxPageSize: spec.pageSize, ...(marker ? { continuationToken: marker } : {}) });
    const next = pages.next().then((r) => r.value as ListedPage | undefined);
    next.catch(() => undefined); // a prefetched page the sync never reads must not be an unhandled rejection
    return next;
  };

  // Slots pulled and not yet settled, in order; settling moves the cursor over the finished ones.
  const window: Slot[] = [];
  const kept = keptPending(progress.pending);
  const passed = new Set<string>();
  const large = (s: Slot) => !s.skipped && (s.item.properties.contentLength ?? 0) > spec.asyncThreshold;
  /** Would taking `next` let the pending list outgrow its share? Counts pending copies and large ones under way. */
  const pendingFull = (next: Slot) => {
    if (!large(next) || kept.has(next.rel) || window.length === 0) return false; // an empty window always takes one: the cursor moves
    let count = 1, bytes = pendingWeight(next.rel);
    const inWindow = new Set<string>();
    for (const s of window) if (typeof s.outcome === 'object' || (s.outcome === undefined && large(s))) { count += 1; bytes += pendingWeight(s.rel); inWindow.add(s.rel); }
    for (const rel of kept.keys()) if (!passed.has(rel) && !inWindow.has(rel)) { count += 1; bytes += pendingWeight(rel); }
    return count > MAX_PENDING || bytes > MAX_PENDING_BYTES;
  };
  let heldByPending = false;

  // The source, one slot per listed blob past the cursor, pulled one at a time in listing order and
  // put in the window here (in the pull's chain, so the pending check sees every slot taken before).
  let listing = listPage(progress.marker);
  let listingMarker = progress.marker;
  let listed = false;
  let buffer: Slot[] = [];
  let taken = 0;
  let pulling: Promise<Slot | undefined> = Promise.resolve(undefined);
  const pull = () => (pulling = pulling.then(async () => {
    while (taken >= buffer.length) {
      if (listed) return undefined;
      const page = await listing;
      const token = page?.continuationToken || undefined;
      const marker = listingMarker;
      if (token) { listing = listPage(token); listingMarker = token; } else listed = true;
      const items = (page?.segment.blobItems ?? []).filter((b) => progress.after === undefined || keyOrder(b.name, progress.after) > 0);
      buffer = items.map((b, i) => ({
        item: b, rel: relative(b.name), skipped: !isCleanRelativeName(relative(b.name)) || spec.exclude(relative(b.name)),
        marker, nextMarker: i === items.length - 1 ? token : undefined,
      }));
      taken = 0;
    }
    const next = buffer[taken]!;
    // Enough large copies pending: no new one starts this sync (the next sync polls them first).
    if (heldByPending || pendingFull(next)) { heldByPending = true; return undefined; }
    taken += 1;
    window.push(next);
    return next;
  }));

  let cursor = { after: progress.after, marker: progress.marker };
  const n = { copied: 0, already: 0, excluded: 0, bytes: 0, alreadyBytes: 0 };
  // Wakes workers waiting for room in the window, after every finished copy.
  const signal = () => { let resolve = () => {}; const promise = new Promise<void>((r) => { resolve = r; }); return { promise, resolve }; };
  let advanced = signal();
  const wake = () => { advanced.resolve(); advanced = signal(); };
  const settle = () => {
    while (window.length > 0 && window[0]!.outcome !== undefined && typeof window[0]!.outcome !== 'object') {
      const s = window.shift()!;
      const size = s.item.properties.contentLength ?? 0;
      if (s.skipped) n.excluded += 1;
      else if (s.outcome === 'copied') { n.copied += 1; n.bytes += size; } else { n.already += 1; n.alreadyBytes += size; }
      passed.add(s.rel);
      // The last blob of a page moves the marker to the next page; otherwise the page is listed again and skipped up to the name.
      cursor = { after: s.item.name, marker: s.nextMarker ?? s.marker };
    }
    wake();
  };
  const blocked = () => typeof window[0]?.outcome === 'object';
  let failed = false;
  let begun = 0;
  let recording = Promise.resolve();
  const worker = async () => {
    for (;;) {
      // Past the budget no new copy starts; at least one per sync so the cursor always moves.
      if (failed || (Date.now() >= deadline && begun > 0)) return;
      // At most a page ahead of the cursor; a pending large copy at the cursor will not settle this sync.
      if (window.length >= Math.max(spec.pageSize, spec.parallelism)) {
        if (blocked()) return;
        await advanced.promise;
        continue;
      }
      const s = await pull();
      if (!s) return;
      begun += 1;
      if (s.skipped) { s.outcome = 'already'; settle(); continue; }
      try {
        s.outcome = await copyOne(c, s.item, spec.destinationPrefix + s.rel, kept.get(s.rel));
      } catch (e) {
        failed = true;
        wake();
        throw e;
      }
      if (typeof s.outcome === 'object' && !kept.has(s.rel) && save) {
        kept.set(s.rel, s.outcome.pending);
        const snapshot = { ...progress, pending: Object.fromEntries(kept) };
        recording = recording.then(() => save(snapshot));
        await recording;
      }
      settle();
    }
  };
  await Promise.all(Array.from({ length: spec.parallelism }, () => worker().finally(wake)));
  await recording;

  // Large copies still pending: those seen now, and kept ones not reached yet (past the cursor).
  const pending = new Map<string, PendingCopy>();
  for (const [rel, pend] of kept) if (!passed.has(rel) && (cursor.after === undefined || keyOrder(spec.sourcePrefix + rel, cursor.after) > 0)) pending.set(rel, pend);
  for (const s of window) if (typeof s.outcome === 'object') pending.set(s.rel, s.outcome.pending);
  const done = listed && taken >= buffer.length && window.length === 0;
  return {
    done,
    progress: {
      ...(cursor.marker ? { marker: cursor.marker } : {}), ...(cursor.after ? { after: cursor.after } : {}),
      copied: progress.copied + n.copied, alreadyThere: progress.alreadyThere + n.already, excluded: progress.excluded + n.excluded,
      bytes: progress.bytes + n.bytes, alreadyBytes: (progress.alreadyBytes ?? 0) + n.alreadyBytes,
      ...(pending.size && !done ? { pending: Object.fromEntries(pending) } : {}),
    },
  };
}

/** Ends the large copies still pending (before a folder is deleted): nothing writes into it afterwards. */
export async function abortPending(clients: AzureClients, dest: ContainerRef, destinationPrefix: string, progress: BlobCopyProgress | undefined): Promise<void> {
  const c = clients.container(dest.account, dest.container);
  for (const [rel, pend] of keptPending(progress?.pending)) {
    await c.getBlobClient(destinationPrefix + rel).abortCopyFromURL(pend.copyId, { abortSignal: clients.signal() }).catch((e: unknown) => {
      if (!isNotFound(e) && !['NoPendingCopyOperation', 'CopyIdMismatch'].includes(codeOf(e))) throw e;
    });
  }
}

/** Whether a container holds any blob (under `prefix`): one listing call of one item. */
export async function holdsBlobs(c: ContainerClient, prefix: string | undefined, abortSignal: AbortSignal): Promise<boolean> {
  const page = await c.listBlobsFlat({ ...(prefix ? { prefix } : {}), abortSignal }).byPage({ maxPageSize: 1 }).next();
  return ((page.value as { segment?: { blobItems?: unknown[] } } | undefined)?.segment?.blobItems?.length ?? 0) > 0;
}
