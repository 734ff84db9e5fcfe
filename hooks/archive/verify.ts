// Checks a backup's artifacts against its manifest: the manifest validates, the database artifact
// exists with the recorded size and SHA-256, and the document-library copy holds the recorded
// number of objects and bytes.
import { manifestProblem } from '../backup/manifestTrust.ts';
import type { ObjectStore } from '../../core/provider.ts';
import { readManifest } from '../restore/sync.ts';
import { chunkListKey } from '../../core/layout.ts';

export interface Verification { ok: boolean; checks: Array<{ check: string; ok: boolean; detail: string }> }

export async function verifyBackup(store: ObjectStore, bucket: string, manifestKey: string): Promise<Verification> {
  const checks: Verification['checks'] = [];
  const read = await readManifest(store, bucket, manifestKey);
  checks.push({ check: 'manifest', ok: read.ok, detail: read.ok ? `${bucket}/${manifestKey} is a valid ${read.manifest.schemaVersion}` : read.message });
  if (!read.ok) return { ok: false, checks };
  const m = read.manifest;
  // A manifest that names what is not its own folder's is never followed (it could name another project's data).
  const untrusted = manifestProblem({ bucket, key: manifestKey }, m);
  checks.push({ check: 'manifest place', ok: !untrusted, detail: untrusted ?? `at its own folder's manifest.json` });
  if (untrusted) return { ok: false, checks };
  if (m.database.artifact) {
    const head = await store.head(m.location.bucket, m.database.artifact);
    checks.push({ check: 'database size', ok: head?.size === m.database.sizeBytes, detail: head ? `${head.size} bytes, manifest says ${m.database.sizeBytes}` : `${m.database.artifact} is missing` });
    if (head && m.database.sha256) {
      const sha = await store.sha256(m.location.bucket, m.database.artifact);
      checks.push({ check: 'database sha256', ok: sha === m.database.sha256, detail: sha === m.database.sha256 ? sha : `${sha ?? 'missing'}, manifest says ${m.database.sha256}` });
    }
    const chunks = m.database.chunks;
    if (chunks) {
      // What a restore checks each chunk against: one line per chunk of the recorded size, hashing to the recorded value.
      const key = chunkListKey(m.database.artifact);
      const sha = await store.sha256(m.location.bucket, key);
      const lines = Math.max(1, Math.ceil(m.database.sizeBytes / chunks.bytes));
      const ok = sha === chunks.sha256 && chunks.count === lines;
      checks.push({ check: 'database chunk list', ok, detail: ok ? `${chunks.count} chunks of ${chunks.bytes} bytes` : `${key}: sha256 ${sha ?? 'missing'} for ${chunks.count} chunks, manifest says ${chunks.sha256} for ${lines}` });
    }
  }
  const enc = m.database.encryption;
  if (enc) {
    // Without the KEK this can only see that a wrapped data key is there; the restore Job opens it.
    const wrapped = (await store.list(m.location.bucket, enc.keysPrefix, undefined, 100)).filter((k) => /^v[0-9]{1,6}\.age$/.test(k.key.slice(enc.keysPrefix.length)));
    checks.push({ check: 'wrapped data key', ok: wrapped.length > 0, detail: wrapped.length ? `for KEK ${wrapped.map((k) => k.key.slice(enc.keysPrefix.length, -4)).join(', ')}` : `none under ${enc.keysPrefix}: the dump can never be decrypted` });
  }
  let objects = 0;
  let bytes = 0;
  let after: string | undefined;
  for (;;) {
    const page = await store.list(m.location.bucket, m.documentLibrary.prefix, after, 1000);
    if (page.length === 0) break;
    objects += page.length;
    bytes += page.reduce((n, o) => n + o.size, 0);
    after = page[page.length - 1]!.key;
  }
  checks.push({ check: 'document library', ok: objects === m.documentLibrary.objectCount && bytes === m.documentLibrary.totalBytes, detail: `${objects} objects / ${bytes} bytes, manifest says ${m.documentLibrary.objectCount} / ${m.documentLibrary.totalBytes}` });
  return { ok: checks.every((c) => c.ok), checks };
}
