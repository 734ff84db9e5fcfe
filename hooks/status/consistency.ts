// The condition that says whether a recovery point is whole (docs/recovery-points.md): every file the
// database's rows refer to is in the document library beside it. Used by backups (the copy against
// the dumped rows) and restores (the restored prefix against the restored rows).
import type { Consistency } from '../../core/crd.ts';
import type { ConditionInput } from './conditions.ts';

/** A missing file does not fail the backup or restore (it holds what there was) but says so. */
export function consistentCondition(c: Consistency, what: 'backed up' | 'restored'): ConditionInput {
  const where = what === 'backed up' ? 'the backup' : 'the restored document library';
  const orphans = c.orphansDeleted ? `${c.orphans} files no row refers to (${c.orphansDeleted} deleted: cleanupOrphans)` : `${c.orphans} files no row refers to`;
  if (c.missing === 0) {
    return { type: 'Consistent', status: 'True', reason: what === 'backed up' ? 'AllReferencedFilesCopied' : 'AllReferencedFilesRestored',
      message: `all ${c.expected} document-library files the database refers to are in ${where} (${orphans})` };
  }
  const why = what === 'backed up' ? ' (missing at the source when it was copied)' : '';
  return { type: 'Consistent', status: 'False', reason: 'ReferencedFilesMissing',
    message: `${c.missing} of ${c.expected} document-library files the database refers to are not in ${where}${why}, e.g. ${c.missingSample.slice(0, 5).join(', ')}; ${orphans}` };
}
