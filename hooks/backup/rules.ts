// Cross-field rules the CRD states as CEL (x-kubernetes-validations), mirrored here because ajv
// cannot evaluate CEL. Keep the two in step; test/validation.test.ts checks both sides agree.
import type { BackupRequestSpec } from '../api.ts';
import type { SpecProblem } from '../../providers/types.ts';

export function backupSpecProblems(spec: BackupRequestSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const prefix = spec.documentLibrary.destinationPrefix?.replace(/\/+$/, '');
  const own = `${spec.projectId}/${spec.environment}`;
  if (prefix !== undefined && prefix !== own && !prefix.startsWith(`${own}/`)) {
    problems.push({ field: 'spec.documentLibrary.destinationPrefix', message: `"${prefix}" is outside the environment's own path: it must be "${own}" or start with "${own}/"` });
  }
  if (spec.database.databasesToIgnore?.length && spec.database.engine !== 'mysql') {
    problems.push({ field: 'spec.database.databasesToIgnore', message: 'only applies to mysql' });
  }
  return problems;
}
