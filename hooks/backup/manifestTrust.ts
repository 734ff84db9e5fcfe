// When a manifest.json may be believed (pure). Anyone who can write into a backup bucket can plant a
// manifest-shaped object - a backup copies its document library verbatim under `<folder>/dl/` - so
// a manifest is used (by a restore, or to rebuild the history) only when its place and its content
// agree: it sits exactly at `<location.prefix>manifest.json` of a backup folder
// `<projectId>/<environment>/.../<backupId>/` in the bucket it names, that folder is not inside
// another backup's reserved sub-folders, and every object or prefix it names lies in that folder
// (an incremental base: in a backup folder of the same project and environment).
import type { Manifest } from './manifest.ts';
import { RESERVED_SEGMENTS } from '../../core/layout.ts';

export interface ManifestPlace { bucket: string; key: string }

/** backupIdOf() makes a resource name (a DNS subdomain) plus a UID fragment: nothing else is a backup ID. */
const BACKUP_ID = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const cleanSegments = (path: string) => path.split('/').every((s) => s !== '' && s !== '.' && s !== '..');

/** A backup folder of this project/environment: `<project>/<environment>/[<segment>/...]<backupId>/`. */
function folderProblem(prefix: string, m: Pick<Manifest, 'projectId' | 'environment'>, backupId: string, what: string): string | undefined {
  if (!prefix.endsWith('/') || !cleanSegments(prefix.slice(0, -1))) return `${what} "${prefix}" is not a clean folder path`;
  const segments = prefix.slice(0, -1).split('/');
  if (segments[0] !== m.projectId || segments[1] !== m.environment || segments.length < 3) return `${what} is not under ${m.projectId}/${m.environment}/`;
  const reserved = segments.slice(2).find((s) => RESERVED_SEGMENTS.includes(s));
  if (reserved) return `${what} lies inside another backup's ${reserved}/ folder`;
  if (segments[segments.length - 1] !== backupId) return `${what} does not end in the backup's own folder ${backupId}/`;
  if (!BACKUP_ID.test(backupId)) return `${what}: "${backupId}" is not a backup ID`;
  return undefined;
}

/** Why this manifest cannot be believed at this place, or undefined when it can. */
export function manifestProblem(at: ManifestPlace, m: Manifest): string | undefined {
  const folder = m.location.prefix;
  if (m.location.bucket !== at.bucket) return 'it names another bucket than the one it is in';
  if (at.key !== `${folder}manifest.json`) return 'it is not at the manifest.json of the folder it names';
  const own = folderProblem(folder, m, m.backupId, 'its folder');
  if (own) return own;
  const inFolder = (key: string) => key.startsWith(folder) && cleanSegments(key.slice(folder.length));
  const db = m.database;
  if (db.artifact !== undefined && !(inFolder(db.artifact) && !db.artifact.slice(folder.length).includes('/'))) return 'its database artifact is not a file of its folder';
  if (db.export && !inFolder(db.export.prefix.replace(/\/+$/, '') || '/')) return 'its database export is not in its folder';
  if (db.encryption && db.encryption.keysPrefix !== `${folder}database.key.`) return 'its wrapped data keys are not its folder\'s database.key.<version>.age';
  const dl = m.documentLibrary;
  if (dl.prefix !== `${folder}dl/`) return 'its document-library copy is not its folder\'s dl/';
  if (dl.base) {
    if (dl.base.refsPrefix !== `${folder}refs/`) return 'its references are not its folder\'s refs/';
    if (!dl.base.prefix.endsWith('/dl/')) return 'its base is not a backup\'s dl/ folder';
    const baseProblem = folderProblem(dl.base.prefix.slice(0, -'dl/'.length), m, dl.base.backupId, 'its base');
    if (baseProblem) return baseProblem;
  }
  return undefined;
}
