// Cross-field rules the CRD states as CEL (x-kubernetes-validations), mirrored here because ajv
// cannot evaluate CEL. Keep the two in step; test/validation.test.ts checks both sides agree.
import type { BackupRequestSpec } from '../../core/crd.ts';
import { RESERVED_SEGMENTS } from '../../core/layout.ts';
import { globProblem } from '../../core/glob.ts';
import type { SpecProblem } from '../../core/provider.ts';

export function backupSpecProblems(spec: BackupRequestSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const prefix = spec.documentLibrary.destinationPrefix?.replace(/\/+$/, '');
  const own = `${spec.projectId}/${spec.environment}`;
  if (prefix !== undefined && prefix !== own && !prefix.startsWith(`${own}/`)) {
    problems.push({ field: 'spec.documentLibrary.destinationPrefix', message: `"${prefix}" is outside the environment's own path: it must be "${own}" or start with "${own}/"` });
  }
  // A backup folder is never inside another backup's reserved sub-folders (dl/, refs/, ...), and
  // paths never climb: deleting one backup can then never delete another's data.
  const segments = prefix?.split('/') ?? [];
  const bad = segments.find((seg, i) => i >= 2 && (RESERVED_SEGMENTS.includes(seg) || seg === '' || seg === '.' || seg === '..'));
  if (bad !== undefined) {
    problems.push({ field: 'spec.documentLibrary.destinationPrefix', message: `"${prefix}" has a path segment "${bad}" that is empty, relative or reserved for a backup's own files (${RESERVED_SEGMENTS.join(', ')})` });
  }
  // Not CEL: the glob parser alone knows a pattern is unusable (unclosed braces, a reversed range,
  // too many alternatives); found here, it fails the backup before any copy starts.
  (spec.documentLibrary.excludePatterns ?? []).forEach((pattern, i) => {
    const problem = globProblem(pattern);
    if (problem) problems.push({ field: `spec.documentLibrary.excludePatterns[${i}]`, message: problem });
  });
  // The CRD's CEL rule, also here: the hook and the REST API answer it without the API server.
  if (spec.database.type === 'dump' && !spec.database.engine) {
    problems.push({ field: 'spec.database.engine', message: 'required for a dump: postgresql or mysql (a snapshot knows its engine)' });
  }
  if (spec.database.databasesToIgnore?.length && spec.database.engine !== 'mysql') {
    problems.push({ field: 'spec.database.databasesToIgnore', message: 'only applies to mysql' });
  }
  return problems;
}
