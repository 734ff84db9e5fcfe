// Exclusion globs (core/glob.ts): the semantics feature by feature and on Liferay's own keys,
// the new matcher against the former RegExp translation (kept below as the oracle) on random small
// patterns, and patterns that made that RegExp backtrack for minutes, now answered in milliseconds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { excluder, globProblem, GlobError, MAX_EXPANSION } from '../core/glob.ts';
import { LIFERAY_GENERATED_PATTERNS } from '../core/exclusions.ts';
import { backupSpecProblems } from '../hooks/backup/rules.ts';
import { validateSpec } from '../core/validation/schema.ts';
import type { BackupRequestSpec } from '../core/crd.ts';
import { backupRequest } from './support/resources.ts';

/** The implementation this file replaced, verbatim: the oracle for the property tests only. */
function oldGlobToRegExp(pattern: string): RegExp {
  const anchored = pattern.startsWith('/');
  let body = '';
  let i = anchored ? 1 : 0;
  let inBraces = false;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') { body += '.*'; i += 2; continue; }
      body += '[^/]*';
    } else if (c === '?') body += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      if (end < 0) { body += '\\['; } else { body += `[${pattern.slice(i + 1, end).replace(/\\/g, '\\\\')}]`; i = end; }
    } else if (c === '{') { body += '(?:'; inBraces = true; }
    else if (c === '}' && inBraces) { body += ')'; inBraces = false; }
    else if (c === ',' && inBraces) body += '|';
    else body += c.replace(/[.+^$()|\\]/g, '\\$&');
    i += 1;
  }
  return new RegExp(`${anchored ? '^' : '(?:^|/)'}${body}$`);
}

const matches = (pattern: string, key: string) => excluder([pattern])(key);

/** [pattern, key, excluded?, why] */
const table: Array<[string, string, boolean, string]> = [
  // `*`: any run within one segment
  ['*.tmp', 'a.tmp', true, '* matches a run'],
  ['*.tmp', '.tmp', true, '* matches nothing'],
  ['/*.tmp', 'dir/a.tmp', false, '* does not cross /'],
  ['a*c', 'ab/c', false, '* does not cross / mid-pattern'],
  ['a*c', 'abbbc', true, '* in the middle'],
  // `**`: any run across segments
  ['/a/**', 'a/b/c/d', true, '** crosses /'],
  ['/a/**', 'a/', true, '** matches nothing'],
  ['/a/**', 'a', false, 'the / before ** is still needed'],
  ['/**/x', 'a/b/x', true, '** inside a pattern'],
  ['/**/x', '/x', true, '** matches an empty first segment'],
  ['/**', 'line\nbreak', false, '** does not cross a line terminator (RegExp . did not)'],
  ['/***', 'ab', true, '*** is ** then *'],
  // `?`: one character, never /
  ['file?.txt', 'file1.txt', true, '? matches one character'],
  ['file?.txt', 'file12.txt', false, '? matches exactly one'],
  ['file?.txt', 'file/.txt', false, '? does not match /'],
  ['caf?', 'café', true, '? matches a non-ASCII character'],
  ['??', '😀', true, 'an astral character is two code units'],
  // classes
  ['[abc].log', 'b.log', true, 'class member'],
  ['[abc].log', 'd.log', false, 'not a class member'],
  ['[a-c]x', 'cx', true, 'range'],
  ['[^a]', 'b', true, 'negated class'],
  ['/x[^a]y', 'x/y', true, 'a negated class matches / (a JavaScript class)'],
  ['[]', 'a', false, 'an empty class matches nothing'],
  ['/[', '[', true, 'an unclosed [ is itself'],
  ['[a-]', '-', true, 'a trailing - is itself'],
  ['[{]x', '{x', true, 'braces inside a class are characters'],
  // braces
  ['*.{jpg,png}', 'photo.png', true, 'alternative'],
  ['*.{jpg,png}', 'photo.gif', false, 'no alternative'],
  ['/{a,}x', 'x', true, 'empty alternative'],
  ['/{a,b/c}d', 'b/cd', true, 'an alternative with a /'],
  ['/{**,?}z', 'p/q/z', true, 'an alternative with **'],
  ['/a}b,c', 'a}b,c', true, '} and , outside braces are characters'],
  ['/{[,]x,y}', ',x', true, 'a class inside braces keeps its ,'],
  // anchoring and whole-key match
  ['0/adaptive/**', 'x/0/adaptive/1', true, 'unanchored: at a segment boundary'],
  ['0/adaptive/**', 'x10/adaptive/1', false, 'unanchored: only at a segment boundary'],
  ['/0/adaptive/**', 'x/0/adaptive/1', false, 'anchored: only from the root'],
  ['/0/adaptive/**', '0/adaptive/1', true, 'anchored: from the root'],
  ['tmp', 'a/tmp', true, 'a plain name matches a last segment'],
  ['tmp', 'a/tmp/b', false, 'the whole rest of the key must match'],
  ['tmp', 'a/tmpx', false, 'no match on a prefix of a segment'],
  ['', 'a/', true, 'an empty pattern matches after a trailing /'],
  ['/', '', true, 'the anchored empty pattern matches the empty key'],
  // what a RegExp would read as syntax is a plain character
  ['a.b', 'axb', false, '. is a dot'],
  ['/a+(b)|$^c', 'a+(b)|$^c', true, 'RegExp metacharacters are characters'],
  ['/a\\b', 'a\\b', true, 'a backslash is a character'],
];

describe('glob semantics', () => {
  for (const [pattern, key, expected, why] of table) {
    it(`${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(key)}: ${why}`, () => {
      assert.equal(matches(pattern, key), expected);
    });
  }

  it('several patterns: a key is excluded when any one matches', () => {
    const ex = excluder(['*.tmp', '/cache/**']);
    assert.deepEqual(['a/b.tmp', 'cache/x/y', 'a/cache/x', 'b.txt'].map(ex), [true, true, false, false]);
    assert.equal(excluder([])('anything'), false);
  });

  it('patterns that cannot be compiled are refused when the excluder is built, with the reason', () => {
    for (const [pattern, reason] of [['{a,b', /never closed/], ['{a{b}}', /cannot be nested/], ['[z-a]', /range z-a .* out of order/]] as const) {
      assert.throws(() => excluder(['ok/**', pattern]), (e: unknown) => e instanceof GlobError && reason.test(e.message) && e.message.includes(pattern));
      assert.match(globProblem(pattern) ?? '', reason);
    }
    assert.equal(globProblem('**/*.{jpg,png}'), undefined);
  });
});

describe('the Liferay default exclusions on Liferay keys', () => {
  const ex = excluder(LIFERAY_GENERATED_PATTERNS);
  // Keys as the copy sees them: relative to sourcePrefix, which is document_library/ or the bucket root.
  const keys: Array<[string, boolean]> = [
    ['20097/20121/30001/1.0', false],
    ['document_library/20097/20121/30001/1.0', false],
    ['document_library/20097/20121/30001/1.1', false],
    ['20097/0/document_preview/20121/30002/1.0/1.png', true],
    ['document_library/20097/0/document_preview/20121/30002/1.0/1.png', true],
    ['document_library/20097/0/document_thumbnail/20121/30003/1.0.jpg', true],
    ['document_library/20097/0/adaptive/20121/30005/preview-1000x0.jpg', true],
    ['20097/0/adaptive/3c8a7b2e-0f6d-4d59-9e3a-2b6f1c0e8d41/20121/30005/1.0', true],
    ['0/adaptive/20121/1', true], // sourcePrefix document_library/20097/
    ['document_library/20097/33512/adaptive/30005/1.0', false], // a folder named adaptive in a real repository
    ['document_library/20097/10/adaptive/30005/1.0', false], // repository 10, not 0
    ['document_library/20097/0/document_previews/1', false],
    ['document_library/20097/0/adaptive', false], // the folder's name alone is not below it
    ['document_library/20097/0/30001/1.0', false],
  ];
  for (const [key, excluded] of keys) {
    it(`${key} → ${excluded ? 'excluded' : 'kept'}`, () => {
      assert.equal(ex(key), excluded);
    });
  }
});

/** Oracle and matcher agree on every key, and on whether the patterns compile at all. */
function agree(patterns: string[], keys: string[]): void {
  let oracle: RegExp[] | undefined;
  try { oracle = patterns.map(oldGlobToRegExp); } catch { oracle = undefined; }
  if (!oracle) {
    assert.throws(() => excluder(patterns), GlobError, `${JSON.stringify(patterns)}: the old RegExp did not compile`);
    return;
  }
  const ex = excluder(patterns);
  for (const key of keys) assert.equal(ex(key), oracle.some((re) => re.test(key)), `${JSON.stringify(patterns)} on ${JSON.stringify(key)}`);
}

const text = (alphabet: string[], maxLength: number) => fc.array(fc.constantFrom(...alphabet), { maxLength }).map((cs) => cs.join(''));

describe('the matcher agrees with the former RegExp translation', () => {
  it('random patterns over a, b, /, *, ? against random keys over a, b, /', () => {
    fc.assert(fc.property(text(['a', 'b', '/', '*', '?'], 8), fc.array(text(['a', 'b', '/'], 10), { maxLength: 10 }), (pattern, keys) => {
      agree([pattern], keys);
    }), { numRuns: 3000 });
  });

  it('random lists of patterns with classes, braces, RegExp metacharacters and non-ASCII', () => {
    const pieces = ['a', 'b', '/', '*', '**', '?', '[ab]', '[^a]', '[a-b]', '[', ']', '{', '}', ',', '{a,b/}', '{,*}', '^', '-', '.', '$', '(', '\\', '\n', 'é'];
    const keyChars = ['a', 'b', '/', '.', ',', '[', ']', '{', '}', '-', '\\', '\n', 'é', '\u2028'];
    // At most 5 pieces: 2^5 alternatives of ≤ 10 positions stay within MAX_EXPANSION, the one
    // place where the new matcher deliberately refuses what the old RegExp accepted.
    fc.assert(fc.property(fc.array(fc.array(fc.constantFrom(...pieces), { maxLength: 5 }).map((p) => p.join('')), { minLength: 1, maxLength: 3 }),
      fc.array(text(keyChars, 12), { maxLength: 10 }), (patterns, keys) => {
        agree(patterns, keys);
      }), { numRuns: 3000 });
  });
});

/** Runs one match, asserting its answer and that it took well under the bound. */
function fast(pattern: string, key: string, expected: boolean, boundMs = 200): void {
  const ex = excluder([pattern]);
  const t0 = performance.now();
  const got = ex(key);
  const ms = performance.now() - t0;
  assert.equal(got, expected, `${pattern} on ${key.length} characters`);
  assert.ok(ms < boundMs, `${pattern} on ${key.length} characters took ${ms.toFixed(1)} ms`);
}

describe('adversarial patterns take linear time', () => {
  const stars = '**a**a**a**a**a**a**a**ab';
  const segmentStars = '*a*a*a*a*a*a*a*a*a*b';
  for (const n of [60, 1_000, 10_000]) {
    it(`${stars} and ${segmentStars} on ${n}-character keys`, () => {
      fast(stars, 'a'.repeat(n), false);
      fast(stars, `${'a'.repeat(n - 1)}b`, true);
      fast(stars, 'a/'.repeat(n / 2), false);
      fast(segmentStars, 'a'.repeat(n), false);
      fast(segmentStars, `${'a'.repeat(n - 1)}b`, true);
      // * cannot reach back across the /: 9 a's are needed after the last one.
      fast(segmentStars, `${'a'.repeat(n - 10)}/aaaaaaaab`, false);
      fast(segmentStars, `${'a'.repeat(n - 11)}/aaaaaaaaab`, true);
    });

    it(`{a,aa}-heavy and long ? runs on ${n}-character keys`, () => {
      const braces = `${'{a,aa}'.repeat(5)}**b`; // 32 alternatives
      fast(braces, 'a'.repeat(n), false);
      fast(braces, `${'a'.repeat(n - 1)}b`, true);
      fast(`**{a,aa}**{a,aa}**{a,aa}**{a,aa}b`, 'a'.repeat(n), false);
      fast('?'.repeat(50), 'a'.repeat(n), false);
      fast('?'.repeat(50), `${'a'.repeat(n)}/${'a'.repeat(50)}`, true);
      fast(`/${'?'.repeat(50)}`, `${'a'.repeat(50)}/${'a'.repeat(n)}`, false);
      fast(`*/${'?'.repeat(50)}`, `${'a'.repeat(n)}/${'a'.repeat(50)}`, true);
    });

    it(`**a followed by 200 ? (the k-th character from the end) on ${n}-character keys`, () => {
      // Exponentially many DFA states: fine for state-set or bit-parallel simulation.
      const key = Array.from({ length: n }, (_, i) => ((i * 7919) % 3 === 0 ? 'a' : 'b')).join('');
      fast(`**a${'?'.repeat(200)}`, key, key[n - 201] === 'a');
    });
  }

  it(`a pattern whose braces would expand beyond ${MAX_EXPANSION} characters is refused at once`, () => {
    const t0 = performance.now();
    assert.throws(() => excluder(['{a,aa}'.repeat(40)]), /alternatives, written out one by one, exceed 512 characters/);
    assert.ok(performance.now() - t0 < 200);
    assert.equal(globProblem(`${'a'.repeat(200)}{b,c}`), undefined); // 2 × 202 positions: fine
    assert.match(globProblem(`${'a'.repeat(200)}{b,c,d}`) ?? '', /exceed 512/);
  });

  it('50 patterns of the longest allowed adversarial kind on a 1,024-character key (the S3 maximum)', () => {
    const patterns = Array.from({ length: 50 }, (_, i) => `**a**a**${String.fromCharCode(97 + (i % 26))}${'**a'.repeat(80)}b`.slice(0, 256));
    const ex = excluder(patterns);
    const t0 = performance.now();
    for (let i = 0; i < 10; i += 1) assert.equal(ex('a'.repeat(1024)), false);
    assert.ok((performance.now() - t0) / 10 < 50, 'well under 50 ms a key');
  });
});

describe('the hook refuses unusable or oversized exclusion patterns', () => {
  const base = backupRequest('x').spec!;
  const spec = (excludePatterns: string[]): BackupRequestSpec => ({ ...base, documentLibrary: { ...base.documentLibrary, excludePatterns } });

  it('the CRD bounds apply in the hook: at most 50 patterns of at most 256 characters', () => {
    assert.equal(validateSpec('BackupRequest', spec(Array.from({ length: 50 }, (_, i) => `x${i}/**`))).ok, true);
    const tooMany = validateSpec('BackupRequest', spec(Array.from({ length: 51 }, (_, i) => `x${i}/**`)));
    assert.ok(!tooMany.ok && tooMany.errors.some((e) => /excludePatterns: must NOT have more than 50 items/.test(e)));
    const tooLong = validateSpec('BackupRequest', spec(['a'.repeat(257)]));
    assert.ok(!tooLong.ok && tooLong.errors.some((e) => /excludePatterns\.0: must NOT have more than 256 characters/.test(e)));
  });

  it('a pattern the parser refuses is a spec problem naming its index', () => {
    const problems = backupSpecProblems(spec(['*.tmp', '{a,b', '{a,aa}'.repeat(40)]));
    assert.deepEqual(problems.map((p) => p.field), ['spec.documentLibrary.excludePatterns[1]', 'spec.documentLibrary.excludePatterns[2]']);
    assert.match(problems[0]!.message, /never closed/);
    assert.match(problems[1]!.message, /exceed 512 characters/);
    assert.deepEqual(backupSpecProblems(spec(['*.tmp', '**/cache/**'])), []);
  });
});
