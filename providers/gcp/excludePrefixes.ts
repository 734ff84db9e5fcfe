// The Liferay exclusions (rclone globs) as Storage Transfer excludePrefixes (pure). STS filters by
// prefix only - no wildcards, ≤ 1,000 prefixes, none a prefix of another, relative to the source
// folder - so only patterns of the form `path/**` translate. An unanchored one (`0/adaptive/**`)
// matches at any depth in rclone; Liferay keeps generated files at `{companyId}/0/...`, so it is
// expanded at the source root and under each top-level (company) folder, which the caller lists.
export const MAX_EXCLUDE_PREFIXES = 1000;

const GLOB_CHARS = /[*?[\]{}\\]/;

/** Why a pattern cannot be an STS prefix, or undefined when it can. */
export function prefixPatternProblem(pattern: string): string | undefined {
  const body = pattern.replace(/^\//, '');
  if (!body.endsWith('/**') || GLOB_CHARS.test(body.slice(0, -3)) || body.length <= 3) {
    return `"${pattern}": the gcp provider excludes by prefix only (Storage Transfer has no wildcards); write it as "folder/**" or "/folder/**"`;
  }
  return undefined;
}

/**
 * Exclude prefixes for `patterns` (assumed free of prefixPatternProblem), given the top-level folders
 * under the source (e.g. "20097/"). Returns a sorted list with no prefix of another.
 */
export function excludePrefixes(patterns: readonly string[], topFolders: readonly string[]): string[] {
  const out = new Set<string>();
  for (const pattern of patterns) {
    const anchored = pattern.startsWith('/');
    const path = pattern.replace(/^\//, '').slice(0, -2); // keeps the trailing slash: "0/adaptive/"
    out.add(path);
    if (!anchored) for (const folder of topFolders) out.add(`${folder}${path}`);
  }
  const sorted = [...out].sort();
  // No prefix may be a prefix of another: the shorter one already excludes the longer one's objects.
  return sorted.filter((p, i) => !sorted.slice(0, i).some((q) => p.startsWith(q)));
}
