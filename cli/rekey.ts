// Key rotation for encrypted dumps (docs/encryption.md): rewrap each backup's data key for a new KEK
// version. Only the small `<backup>/database.key.<version>.age` objects are written; artifacts are
// never touched. With `retire`, the other versions' wrapped keys are deleted, but only once the new
// one is proven to open to the backup's own data key with the new version's identity. Idempotent:
// run it again after a failure. Everything under the prefix may have been written by the tenant, so
// every backup is checked on its own and one bad backup never stops the others.
import { createHash } from 'node:crypto';
import { armor, Decrypter, Encrypter, identityToRecipient } from 'age-encryption';
import { ObjectTooLarge, type ObjectStore } from '../core/provider.ts';
import { manifestProblem } from '../hooks/backup/manifestTrust.ts';
import { readManifest } from '../hooks/restore/sync.ts';
import { RESERVED_SEGMENTS } from '../core/layout.ts';

export interface RekeyOptions {
  bucket: string;
  /** `<projectId>/<environment>/`: one environment's backups. */
  prefix: string;
  /** age identities (AGE-SECRET-KEY-1...) of the versions in use now; with `retire`, also the new version's. */
  identities: string[];
  toVersion: string;
  toRecipient: string;
  /** Delete the wrapped keys of every other version once the new one is proven. */
  retire: boolean;
}

export type RekeyOutcome = 'rewrapped' | 'already' | 'not-encrypted' | 'unfinished' | 'failed';
export interface RekeyRow { backupId: string; outcome: RekeyOutcome; detail: string; retired: string[] }

/** A wrapped data key is a few hundred bytes; anything larger is not one. */
const MAX_WRAPPED_BYTES = 4096;
const VERSION = /^v[0-9]{1,6}$/;
const KEY_FILE = /^(.*\/)database\.key\.(v[0-9]{1,6})\.age$/;

export const dataKeyIdOf = async (identity: string): Promise<string> => createHash('sha256').update(await identityToRecipient(identity)).digest('hex');

export async function rekeyEnvironment(store: ObjectStore, o: RekeyOptions): Promise<RekeyRow[]> {
  if (!VERSION.test(o.toVersion)) throw new Error(`--to-version ${o.toVersion}: a KEK version is v<number>`);
  const { manifests, keyFolders } = await scan(store, o.bucket, o.prefix);
  const rows: RekeyRow[] = [];
  for (const key of manifests) {
    try { rows.push(await rekeyOne(store, o, key)); } catch (e) {
      rows.push({ backupId: key, outcome: 'failed', detail: `${(e as Error).name}: ${(e as Error).message}`.slice(0, 300), retired: [] });
    }
  }
  // Wrapped keys without a manifest: a backup still running (its dump may be wrapped only for an old
  // version: keep that version until it has finished and been rekeyed) or one that failed.
  const withManifest = new Set(manifests.map((k) => k.slice(0, -'manifest.json'.length)));
  for (const folder of keyFolders) {
    if (!withManifest.has(folder)) rows.push({ backupId: folder, outcome: 'unfinished', detail: 'wrapped keys but no manifest: a backup still running, or one that failed; run rekey again once it has finished', retired: [] });
  }
  return rows;
}

/** Every manifest.json and every folder holding wrapped keys under the prefix; dl/, refs/ and export/ sub-trees are skipped, not listed. */
async function scan(store: ObjectStore, bucket: string, prefix: string): Promise<{ manifests: string[]; keyFolders: Set<string> }> {
  const manifests: string[] = [];
  const keyFolders = new Set<string>();
  let after: string | undefined;
  for (;;) {
    const page = await store.list(bucket, prefix, after, 1000);
    if (page.length === 0) return { manifests, keyFolders };
    after = page[page.length - 1]!.key;
    for (const { key } of page) {
      if (key.endsWith('/manifest.json')) manifests.push(key);
      const k = KEY_FILE.exec(key);
      if (k) keyFolders.add(k[1]!);
    }
    // A key inside a reserved sub-folder: jump past that sub-folder ('0' sorts right after '/').
    const segments = after.slice(prefix.length).split('/');
    const at = segments.findIndex((s, i) => i < segments.length - 1 && RESERVED_SEGMENTS.includes(s));
    if (at >= 0) after = `${prefix}${segments.slice(0, at + 1).join('/')}0`;
  }
}

/** The versions a backup's data key is wrapped for (every page: a tenant may plant many objects there). */
async function wrappedVersions(store: ObjectStore, bucket: string, keysPrefix: string): Promise<string[]> {
  const versions: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.list(bucket, keysPrefix, after, 1000);
    if (page.length === 0) return versions;
    after = page[page.length - 1]!.key;
    for (const { key } of page) {
      const name = key.slice(keysPrefix.length);
      if (name.endsWith('.age') && VERSION.test(name.slice(0, -4))) versions.push(name.slice(0, -4));
    }
  }
}

async function rekeyOne(store: ObjectStore, o: RekeyOptions, key: string): Promise<RekeyRow> {
  const row = (backupId: string, outcome: RekeyOutcome, detail: string, retired: string[] = []): RekeyRow => ({ backupId, outcome, detail, retired });
  const read = await readManifest(store, o.bucket, key);
  if (!read.ok) return row(key, 'failed', read.message);
  const manifest = read.manifest;
  const untrusted = manifestProblem({ bucket: o.bucket, key }, manifest);
  if (untrusted) return row(key, 'failed', `not a backup's manifest: ${untrusted}`);
  const enc = manifest.database.encryption;
  if (!enc) return row(manifest.backupId, 'not-encrypted', 'its dump is not encrypted');

  const wrapped = await wrappedVersions(store, o.bucket, enc.keysPrefix);
  const target = `${enc.keysPrefix}${o.toVersion}.age`;
  let outcome: RekeyOutcome = 'already';
  let detail = `already wrapped for ${o.toVersion}`;
  if (!wrapped.includes(o.toVersion)) {
    const dataKey = await unwrap(store, o.bucket, enc.keysPrefix, wrapped.filter((v) => v !== o.toVersion), o.identities, enc.dataKeyId);
    if (!dataKey) return row(manifest.backupId, 'failed', `no given identity opens its data key (wrapped for ${wrapped.join(', ') || 'nothing'})`);
    const e = new Encrypter();
    e.addRecipient(o.toRecipient);
    const text = armor.encode(await e.encrypt(`${dataKey.identity}\n`));
    await store.put(o.bucket, target, text, 'text/plain');
    const back = await store.get(o.bucket, target, MAX_WRAPPED_BYTES);
    if (back?.toString('utf8') !== text) return row(manifest.backupId, 'failed', `${target} did not read back as written`);
    outcome = 'rewrapped';
    detail = `${dataKey.version} → ${o.toVersion}`;
  }
  if (!o.retire) return row(manifest.backupId, outcome, detail);
  // Retiring deletes the only other ways in: first prove, with the new version's own identity, that
  // its wrapped key (written now, or found there) opens to this backup's data key.
  if (!(await unwrap(store, o.bucket, enc.keysPrefix, [o.toVersion], o.identities, enc.dataKeyId))) {
    return row(manifest.backupId, 'failed', `${target} does not open to this backup's data key with the given identities (is the ${o.toVersion} identity in --identity-file, and --to-recipient its public key?): nothing retired`);
  }
  const others = wrapped.filter((v) => v !== o.toVersion);
  if (others.length) await store.deleteMany(o.bucket, others.map((v) => `${enc.keysPrefix}${v}.age`));
  return row(manifest.backupId, outcome, detail, others);
}

/** The backup's data key, from the first wrapped version one of the identities opens to the recorded key ID. */
async function unwrap(store: ObjectStore, bucket: string, keysPrefix: string, versions: string[], identities: string[], dataKeyId: string): Promise<{ version: string; identity: string } | undefined> {
  for (const version of versions) {
    let body: Buffer | null;
    try { body = await store.get(bucket, `${keysPrefix}${version}.age`, MAX_WRAPPED_BYTES); } catch (e) {
      if (e instanceof ObjectTooLarge) continue;
      throw e;
    }
    if (!body) continue;
    for (const identity of identities) {
      try {
        const d = new Decrypter();
        d.addIdentity(identity);
        const text = body.toString('utf8');
        const sealed = text.startsWith('-----BEGIN AGE ENCRYPTED FILE-----') ? armor.decode(text) : new Uint8Array(body);
        const opened = (await d.decrypt(sealed, 'text')).split('\n').map((l) => l.trim()).find((l) => l.startsWith('AGE-SECRET-KEY-1'));
        if (opened && await dataKeyIdOf(opened) === dataKeyId) return { version, identity: opened };
      } catch { /* not this identity, or not a key: try the next */ }
    }
  }
  return undefined;
}

/** The identities of an age identity file (the Secret's value): AGE-SECRET-KEY-1 lines, comments ignored. */
export const identitiesIn = (text: string): string[] => text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.startsWith('AGE-SECRET-KEY-1'));
