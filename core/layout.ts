// Where a backup's files live (DESIGN.md §4): {destinationBucket}/{destinationPrefix}/{backupId}/
// with the database artifact, dl/, results/ and manifest.json. Pure.
import type { BackupRequestSpec, Engine, ObjectLocation } from './crd.ts';

/** A readable, unique ID: the resource name plus a UID fragment (a re-created name never collides). */
export function backupIdOf(name: string, uid: string): string {
  return `${name.slice(0, 200)}-${uid.replace(/-/g, '').slice(0, 8)}`;
}

export function backupLocation(spec: BackupRequestSpec, backupId: string): ObjectLocation {
  const root = (spec.documentLibrary.destinationPrefix ?? `${spec.projectId}/${spec.environment}`).replace(/\/+$/, '');
  return { bucket: spec.documentLibrary.destinationBucket, prefix: `${root}/${backupId}/` };
}

export const artifactKey = (loc: ObjectLocation, engine: Engine): string =>
  `${loc.prefix}database.${engine === 'postgresql' ? 'pgdump' : 'sql'}.zst`;
/** The SHA-256 of every fixed-size chunk of a dump's stored bytes, one hex line each (checked chunk by chunk on restore). */
export const chunkListKey = (artifact: string): string => `${artifact}.chunks`;
export const documentLibraryPrefix = (loc: ObjectLocation): string => `${loc.prefix}dl/`;
/** Incremental backups: pages of relative keys held by the base backup instead of this one. */
export const refsPrefix = (loc: ObjectLocation): string => `${loc.prefix}refs/`;
export const resultKey = (loc: ObjectLocation, step: string): string => `${loc.prefix}results/${step}.json`;
export const manifestKey = (loc: ObjectLocation): string => `${loc.prefix}manifest.json`;
/** The document-library keys the dumped rows refer to, sorted, zstd (written by the dump Job, read by the copy Job). */
export const expectedKeysKey = (loc: ObjectLocation): string => `${loc.prefix}results/expected-keys.zst`;
/**
 * An encrypted dump's data key, wrapped once per KEK version: `<keysPrefix><version>.age`, files of
 * the backup's folder itself (a sub-folder would be a new reserved path segment: existing layouts
 * with such a segment would break).
 */
export const keysPrefix = (loc: ObjectLocation): string => `${loc.prefix}database.key.`;
export const DEFAULT_KEY_SECRET = 'lc2-encryption';

/** Names a backup writes directly in its folder; a path segment of these names is never part of a destination prefix. */
export const RESERVED_SEGMENTS: readonly string[] = ['dl', 'refs', 'results', 'restores', 'export'];

/** Whether `key` is one of this backup's own objects: a file of its folder, or under one of its reserved sub-folders (a folder nested inside it is not its own). */
export function isOwnEntry(loc: ObjectLocation, key: string): boolean {
  if (!key.startsWith(loc.prefix)) return false;
  const rest = key.slice(loc.prefix.length);
  const slash = rest.indexOf('/');
  return slash < 0 || RESERVED_SEGMENTS.includes(rest.slice(0, slash));
}

/** Deletion stays inside one backup's own folder: refuse anything that is not `.../{backupId}/`. */
export function isOwnBackupFolder(loc: ObjectLocation | undefined, backupId: string | undefined): boolean {
  return !!loc && !!backupId && loc.prefix.endsWith(`/${backupId}/`) && !loc.prefix.split('/').includes('..');
}
