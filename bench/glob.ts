// Exclusion-glob matching (core/glob.ts): keys/s for the Liferay default exclusions over
// 100,000 realistic document-library keys (LC2_BENCH_GLOB_KEYS), beside the RegExps the former
// implementation built for them (safe here: fixed patterns, not tenant input); and the time of
// the adversarial pattern that made that implementation backtrack for minutes.
import { excluder, type Excluder } from '../core/glob.ts';
import { LIFERAY_GENERATED_PATTERNS } from '../core/exclusions.ts';

const KEYS = Number(process.env.LC2_BENCH_GLOB_KEYS ?? 100_000);
const ADVERSARIAL = '**a**a**a**a**a**a**a**ab';

/** Keys as the AWS copy sees them (relative to document_library/): originals plus generated files, like demo/sample.ts. */
function liferayKeys(n: number): string[] {
  const keys: string[] = [];
  for (let i = 1; keys.length < n; i += 1) {
    const name = 30000 + i;
    keys.push(`20097/20121/${name}/1.0`);
    if (i % 2 === 0) keys.push(`20097/0/document_preview/20121/${name}/1.0/1.png`);
    if (i % 3 === 0) keys.push(`20097/0/document_thumbnail/20121/${name}/1.0.jpg`);
    if (i % 5 === 0) keys.push(`20097/0/adaptive/20121/${name}/preview-1000x0.jpg`);
  }
  return keys.slice(0, n);
}

/** Best of three passes over the keys: keys per second and how many matched. */
function rate(match: Excluder, keys: readonly string[]): { keysPerSecond: number; excluded: number } {
  let best = Infinity;
  let excluded = 0;
  for (let pass = 0; pass < 3; pass += 1) {
    excluded = 0;
    const t0 = performance.now();
    for (const key of keys) if (match(key)) excluded += 1;
    best = Math.min(best, performance.now() - t0);
  }
  return { keysPerSecond: Math.round(keys.length / (best / 1000)), excluded };
}

function millis(match: Excluder, key: string): number {
  const t0 = performance.now();
  match(key);
  return Number((performance.now() - t0).toFixed(3));
}

export function benchGlob(): Record<string, unknown> {
  const keys = liferayKeys(KEYS);
  const defaults = excluder(LIFERAY_GENERATED_PATTERNS);
  const oldRegExps = LIFERAY_GENERATED_PATTERNS.map((p) => new RegExp(`(?:^|/)${p.replace(/\*\*$/, '.*')}$`));
  const adversarial = excluder([ADVERSARIAL]);
  // 50 patterns of 256 characters (the CRD's limits), all live at once, on the longest S3 key.
  const worst = excluder(Array.from({ length: 50 }, () => `${'**a'.repeat(85)}b`));
  return {
    keys: keys.length,
    liferayDefaults: rate(defaults, keys),
    liferayDefaultsOldRegExp: rate((k) => oldRegExps.some((re) => re.test(k)), keys),
    adversarialMs: { pattern: ADVERSARIAL, key60: millis(adversarial, 'a'.repeat(60)), key1024: millis(adversarial, 'a'.repeat(1024)), key10000: millis(adversarial, 'a'.repeat(10_000)) },
    fiftyLongestPatternsOn1024CharKeyMs: millis(worst, 'a'.repeat(1024)),
  };
}
