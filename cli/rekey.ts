// Key rotation for encrypted dumps (docs/encryption.md): rewrap each backup's data key for a new KEK
// version. Only the small `keys/<version>.age` objects are written; artifacts are never touched. With
// `retire`, the other versions' wrapped keys are deleted once the new one is in place, so the old KEK
// can be destroyed. Idempotent: a backup already wrapped for the new version is only checked.
import { armor, Decrypter, Encrypter, identityToRecipient } from 'age-encryption';
import { ObjectTooLarge, type ObjectStore } from '../core/provider.ts';
import { schemaErrors } from '../core/validation/jsonSchemas.ts';
import { MAX_MANIFEST_BYTES, type Manifest } from '../hooks/backup/manifest.ts';
import { manifestProblem } from '../hooks/backup/manifestTrust.ts';
import { RESERVED_SEGMENTS } from '../core/layout.ts';

export interface RekeyOptions {
  bucket: string;
  /** `<projectId>/<environment>/`: one environment's backups. */
  prefix: string;
  /** age identities (AGE-SECRET-KEY-1...) of the versions the data keys are wrapped for now. */
  identities: string[];
  toVersion: string;
  toRecipient: string;
  /** Delete the wrapped keys of every other version once the new one is written. */
  retire: boolean;
}

export type RekeyOutcome = 'rewrapped' | 'already' | 'not-encrypted' | 'failed';
export interface RekeyRow { backupId: string; outcome: RekeyOutcome; detail: string; retired: string[] }

/** A wrapped data key is a few hundred bytes; anything larger is not one. */
const MAX_WRAPPED_BYTES = 4096;
const VERSION = /^v[0-9]{1,6}$/;

export async function rekeyEnvironment(store: ObjectStore, o: RekeyOptions): Promise<RekeyRow[]> {
  if (!VERSION.test(o.toVersion)) throw new Error(`--to-version ${o.toVersion}: a KEK version is v<number>`);
  const rows: RekeyRow[] = [];
  for await (const key of manifestKeys(store, o.bucket, o.prefix)) rows.push(await rekeyOne(store, o, key));
  return rows;
}

/** Every manifest.json under the prefix; backups' dl/, refs/ and export/ sub-trees are skipped, not listed. */
async function* manifestKeys(store: ObjectStore, bucket: string, prefix: string): AsyncGenerator<string> {
  let after: string | undefined;
  for (;;) {
    const page = await store.list(bucket, prefix, after, 1000);
    if (page.length === 0) return;
    after = page[page.length - 1]!.key;
    for (const { key } of page) if (key.endsWith('/manifest.json')) yield key;
    // A key inside a reserved sub-folder: jump past that sub-folder ('0' sorts right after '/').
    const segments = after.slice(prefix.length).split('/');
    const at = segments.findIndex((s, i) => i < segments.length - 1 && RESERVED_SEGMENTS.includes(s) && s !== 'keys');
    if (at >= 0) after = `${prefix}${segments.slice(0, at + 1).join('/')}0`;
  }
}

async function rekeyOne(store: ObjectStore, o: RekeyOptions, key: string): Promise<RekeyRow> {
  const row = (backupId: string, outcome: RekeyOutcome, detail: string, retired: string[] = []): RekeyRow => ({ backupId, outcome, detail, retired });
  let manifest: Manifest;
  try {
    const body = await store.get(o.bucket, key, MAX_MANIFEST_BYTES);
    manifest = JSON.parse(body?.toString('utf8') ?? '') as Manifest;
  } catch (e) {
    return row(key, 'failed', e instanceof ObjectTooLarge ? 'larger than a manifest can be' : 'not JSON');
  }
  if (schemaErrors('manifest', manifest).length > 0) return row(key, 'failed', 'not a valid manifest');
  const untrusted = manifestProblem({ bucket: o.bucket, key }, manifest);
  if (untrusted) return row(key, 'failed', `not a backup's manifest: ${untrusted}`);
  const enc = manifest.database.encryption;
  if (!enc) return row(manifest.backupId, 'not-encrypted', 'its dump is not encrypted');

  const wrapped = (await store.list(o.bucket, enc.keysPrefix, undefined, 100))
    .map((k) => k.key.slice(enc.keysPrefix.length)).filter((n) => n.endsWith('.age') && VERSION.test(n.slice(0, -4))).map((n) => n.slice(0, -4));
  const target = `${enc.keysPrefix}${o.toVersion}.age`;
  let outcome: RekeyOutcome = 'already';
  let detail = `already wrapped for ${o.toVersion}`;
  if (!wrapped.includes(o.toVersion)) {
    const dataKey = await unwrapAny(store, o.bucket, enc.keysPrefix, wrapped, o.identities);
    if (!dataKey) return row(manifest.backupId, 'failed', `no given identity opens its data key (wrapped for ${wrapped.join(', ') || 'nothing'})`);
    // The unwrapped key must be the one the dump was encrypted with, not a swapped-in one.
    if (await identityToRecipient(dataKey.identity) !== enc.dataKeyRecipient) return row(manifest.backupId, 'failed', `the data key wrapped for ${dataKey.version} is not the one its dump was encrypted with`);
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
  const others = wrapped.filter((v) => v !== o.toVersion);
  if (others.length) await store.deleteMany(o.bucket, others.map((v) => `${enc.keysPrefix}${v}.age`));
  return row(manifest.backupId, outcome, detail, others);
}

async function unwrapAny(store: ObjectStore, bucket: string, keysPrefix: string, versions: string[], identities: string[]): Promise<{ version: string; identity: string } | undefined> {
  for (const version of versions) {
    let body: Buffer | null;
    try { body = await store.get(bucket, `${keysPrefix}${version}.age`, MAX_WRAPPED_BYTES); } catch { continue; }
    if (!body) continue;
    for (const identity of identities) {
      try {
        const d = new Decrypter();
        d.addIdentity(identity);
        const text = body.toString('utf8');
        const sealed = text.startsWith('-----BEGIN AGE ENCRYPTED FILE-----') ? armor.decode(text) : new Uint8Array(body);
        const opened = (await d.decrypt(sealed, 'text')).split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'));
        if (opened) return { version, identity: opened.trim() };
      } catch { /* not this identity: try the next */ }
    }
  }
  return undefined;
}

/** The identities of an age identity file (the Secret's value): AGE-SECRET-KEY-1 lines, comments ignored. */
export const identitiesIn = (text: string): string[] => text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.startsWith('AGE-SECRET-KEY-1'));
