// rclone-style filter globs, so providers that copy object by object (S3, Azure) apply the same
// exclusion list as the rclone Jobs: `*` within a segment, `**` across segments, `?`, `[...]`,
// `{a,b}`; a pattern without a leading `/` matches at any segment boundary, one with it only from
// the root; a pattern must match the whole rest of the key (so one ending in `/**` excludes a tree).
//
// Tenants write these patterns, so they never become a backtracking RegExp: `**a**a**a…b` took
// 44 s on a 60-character key (more on longer ones), blocking the event loop for every tenant. Each
// pattern is instead parsed once, its braces multiplied out (bounded by MAX_EXPANSION), and all
// patterns are laid out as one bit-parallel automaton (the extended Shift-And of Navarro and
// Raffinot, "Flexible Pattern Matching in Strings"): one bit per pattern position, a key is read
// once, each character costs a few word operations per 32 positions. Time O(positions / 32 × key
// length), whatever the pattern.
//
// The semantics are exactly those of the former RegExp translation (test/glob.test.ts keeps it as
// the oracle), quirks included: matching is by UTF-16 code unit; `**` does not cross a line
// terminator (like JavaScript's and rclone's `.`); a class is a JavaScript class (`[^a]` also
// matches `/`, `[z-a]` is an error); braces do not nest.

/** A pattern that cannot be used; the message names it and says why (it ends up in a condition). */
export class GlobError extends Error {
  override readonly name = 'GlobError';
}

/**
 * The most positions one pattern may expand to: the sum, over the alternatives its braces multiply
 * out to, of their lengths plus one. Twice the CRD's maxLength (256): `*.{jpg,jpeg,png,gif}` lists
 * fit easily, `{a,b}{a,b}…` cannot grow exponentially, and 50 patterns stay within 25,600 bits
 * (a few milliseconds for the longest S3 key).
 */
export const MAX_EXPANSION = 512;

/** What one position consumes. Classes are [lo, hi] code-unit ranges. */
type CharTest =
  | { kind: 'literal'; code: number }
  | { kind: 'notSlash' }
  | { kind: 'notLineEnd' }
  | { kind: 'class'; negated: boolean; ranges: readonly number[] };

/** One position: a single character, or (`*`, `**`) any number of them. */
interface Plain { repeat: boolean; test: CharTest }
type Token = Plain | { alternatives: Plain[][] };

const SLASH = 0x2f;
const ASCII = 128;
const NOT_SLASH: CharTest = { kind: 'notSlash' };
const NOT_LINE_END: CharTest = { kind: 'notLineEnd' };

/** What a JavaScript `.` does not match, and so what the old `**` (`.*`) never crossed. */
const isLineEnd = (c: number) => c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;

// ---- parsing ----

/** `[...]` content as a JavaScript (non-unicode) class: a leading `^` negates, `a-z` is a range. */
function parseClass(body: string, pattern: string): CharTest {
  const negated = body.startsWith('^');
  const ranges: number[] = [];
  let i = negated ? 1 : 0;
  while (i < body.length) {
    const lo = body.charCodeAt(i);
    // `-` between two characters makes a range; first or last it stands for itself.
    if (body[i + 1] === '-' && i + 2 < body.length) {
      const hi = body.charCodeAt(i + 2);
      if (hi < lo) throw new GlobError(`"${pattern}": the range ${body.slice(i, i + 3)} in [${body}] is out of order`);
      ranges.push(lo, hi);
      i += 3;
    } else {
      ranges.push(lo, lo);
      i += 1;
    }
  }
  return { kind: 'class', negated, ranges };
}

/** The pattern from `start` (after an anchoring `/`) as tokens; `{a,b}` becomes one group. */
function tokenize(pattern: string, start: number): Token[] {
  const top: Token[] = [];
  let group: Plain[][] | undefined;
  const push = (t: Plain) => { (group ? group[group.length - 1]! : top).push(t); };
  for (let i = start; i < pattern.length; i += 1) {
    const c = pattern[i]!;
    const classEnd = c === '[' ? pattern.indexOf(']', i) : -1;
    if (c === '*') {
      const double = pattern[i + 1] === '*';
      push({ repeat: true, test: double ? NOT_LINE_END : NOT_SLASH });
      if (double) i += 1;
    } else if (c === '?') push({ repeat: false, test: NOT_SLASH });
    else if (classEnd > 0) {
      push({ repeat: false, test: parseClass(pattern.slice(i + 1, classEnd), pattern) });
      i = classEnd;
    } else if (c === '{') {
      if (group) throw new GlobError(`"${pattern}": braces cannot be nested`);
      group = [[]];
    } else if (c === '}' && group) {
      top.push({ alternatives: group });
      group = undefined;
    } else if (c === ',' && group) group.push([]);
    else push({ repeat: false, test: { kind: 'literal', code: pattern.charCodeAt(i) } });
  }
  if (group) throw new GlobError(`"${pattern}": a "{" is never closed by "}"`);
  return top;
}

/**
 * Braces multiplied out into plain alternatives. The size (positions + one start each) is
 * checked before each multiplication, so an explosive pattern fails fast instead of allocating.
 */
function expand(tokens: readonly Token[], pattern: string): Plain[][] {
  let alternatives: Plain[][] = [[]];
  let size = 1;
  const tooBig = () => new GlobError(`"${pattern}": its {…} alternatives, written out one by one, exceed ${MAX_EXPANSION} characters`);
  for (const t of tokens) {
    if ('test' in t) {
      size += alternatives.length;
      if (size > MAX_EXPANSION) throw tooBig();
      for (const a of alternatives) a.push(t);
      continue;
    }
    const added = t.alternatives.reduce((n, alt) => n + alt.length, 0);
    size = size * t.alternatives.length + alternatives.length * added;
    if (size > MAX_EXPANSION) throw tooBig();
    alternatives = alternatives.flatMap((a) => t.alternatives.map((alt) => [...a, ...alt]));
  }
  return alternatives;
}

interface Alternative { anchored: boolean; positions: Plain[] }

/** Throws GlobError if `pattern` cannot be used. */
function parse(pattern: string): Alternative[] {
  const anchored = pattern.startsWith('/');
  return expand(tokenize(pattern, anchored ? 1 : 0), pattern).map((positions) => ({ anchored, positions }));
}

// ---- the automaton ----

/**
 * Every alternative of every pattern side by side: a start bit, then one bit per position. A set
 * bit means "the alternative matches up to here, ending at the character just read".
 */
interface Program {
  words: number;
  /** For each ASCII code unit (row c at c × words), the positions that accept it. */
  rows: Int32Array;
  /** For code units ≥ 128, built per character from these (see highRow). */
  notSlash: Int32Array;
  notLineEnd: Int32Array;
  highLiterals: Map<number, number[]>;
  highClasses: Array<{ bit: number; test: CharTest }>;
  scratch: Int32Array;
  repeat: Int32Array;
  /** Runs of `*`/`**` may match nothing: `optional` marks them, `before` the bit preceding each run, `runEnd` its last bit. */
  optional: Int32Array;
  before: Int32Array;
  runEnd: Int32Array;
  /** before | optional: only a set bit in there can make closeRuns add anything. */
  runArea: Int32Array;
  /** rootStarts with their runs closed: the state before the first character. */
  initial: Int32Array;
  accept: Int32Array;
  rootStarts: Int32Array;
  boundaryStarts: Int32Array;
  anyBoundary: boolean;
}

const setBit = (a: Int32Array, bit: number, offset = 0) => { a[offset + (bit >>> 5)] = a[offset + (bit >>> 5)]! | (1 << (bit & 31)); };
const hasAny = (a: Int32Array) => a.some((w) => w !== 0);

function accepts(t: CharTest, c: number): boolean {
  switch (t.kind) {
    case 'literal': return c === t.code;
    case 'notSlash': return c !== SLASH;
    case 'notLineEnd': return !isLineEnd(c);
    case 'class': {
      let inside = false;
      for (let i = 0; i < t.ranges.length && !inside; i += 2) inside = c >= t.ranges[i]! && c <= t.ranges[i + 1]!;
      return inside !== t.negated;
    }
  }
}

function emptyProgram(bits: number): Program {
  const words = Math.max(1, Math.ceil(bits / 32));
  const mask = () => new Int32Array(words);
  return {
    words, rows: new Int32Array(ASCII * words), notSlash: mask(), notLineEnd: mask(), highLiterals: new Map(), highClasses: [],
    scratch: mask(), repeat: mask(), optional: mask(), before: mask(), runEnd: mask(), runArea: mask(), initial: mask(), accept: mask(), rootStarts: mask(), boundaryStarts: mask(), anyBoundary: false,
  };
}

/** Records which characters position `bit` accepts. */
function placeTest(p: Program, bit: number, t: CharTest): void {
  if (t.kind === 'notSlash') setBit(p.notSlash, bit);
  else if (t.kind === 'notLineEnd') setBit(p.notLineEnd, bit);
  else if (t.kind === 'literal' && t.code >= ASCII) p.highLiterals.set(t.code, [...(p.highLiterals.get(t.code) ?? []), bit]);
  else if (t.kind === 'literal') setBit(p.rows, bit, t.code * p.words);
  else {
    for (let c = 0; c < ASCII; c += 1) if (accepts(t, c)) setBit(p.rows, bit, c * p.words);
    // Only these are tested per non-ASCII character; the CRD's character set allows none.
    if (t.kind === 'class' && (t.negated || t.ranges.some((hi, i) => i % 2 === 1 && hi >= ASCII))) p.highClasses.push({ bit, test: t });
  }
}

/** Lays out one alternative from `bit`; returns the next free bit. */
function placeAlternative(p: Program, alt: Alternative, bit: number): number {
  const start = bit;
  setBit(p.rootStarts, start);
  if (!alt.anchored) { setBit(p.boundaryStarts, start); p.anyBoundary = true; }
  let inRun = false;
  for (const pos of alt.positions) {
    bit += 1;
    placeTest(p, bit, pos.test);
    if (pos.repeat) {
      setBit(p.repeat, bit);
      setBit(p.optional, bit);
      if (!inRun) setBit(p.before, bit - 1);
    } else if (inRun) setBit(p.runEnd, bit - 1);
    inRun = pos.repeat;
  }
  if (inRun) setBit(p.runEnd, bit);
  setBit(p.accept, bit); // the last position, or the start itself for an empty pattern
  return bit + 1;
}

function compile(patterns: readonly string[]): Program {
  const alternatives = patterns.flatMap(parse);
  const p = emptyProgram(alternatives.reduce((n, a) => n + 1 + a.positions.length, 0));
  alternatives.reduce((bit, alt) => placeAlternative(p, alt, bit), 0);
  // Wildcards accept (almost) every ASCII character: fold them into the rows once.
  for (let c = 0; c < ASCII; c += 1) {
    for (let w = 0; w < p.words; w += 1) {
      const i = c * p.words + w;
      p.rows[i] = p.rows[i]! | (c === SLASH ? 0 : p.notSlash[w]!) | (isLineEnd(c) ? 0 : p.notLineEnd[w]!);
    }
  }
  for (let w = 0; w < p.words; w += 1) p.runArea[w] = p.before[w]! | p.optional[w]!;
  p.initial.set(p.rootStarts);
  closeRuns(p, p.initial);
  return p;
}

// ---- matching ----

/** The positions accepting a code unit ≥ 128 (never `/`), in p.scratch. */
function highRow(p: Program, c: number): Int32Array {
  const row = p.scratch;
  const lineEnd = isLineEnd(c);
  for (let w = 0; w < p.words; w += 1) row[w] = p.notSlash[w]! | (lineEnd ? 0 : p.notLineEnd[w]!);
  for (const bit of p.highLiterals.get(c) ?? []) setBit(row, bit);
  for (const { bit, test } of p.highClasses) if (accepts(test, c)) setBit(row, bit);
  return row;
}

/**
 * Lets every run of optional positions match nothing: within a run, every bit above the lowest set
 * one (counting the bit before the run) is set. Subtracting `before` borrows up to that lowest bit;
 * `runEnd` stops the borrow at the run's end.
 */
function closeRuns(p: Program, d: Int32Array): void {
  const { words, runEnd, before, optional } = p;
  let borrow = 0;
  for (let w = 0; w < words; w += 1) {
    const withEnds = (d[w]! | runEnd[w]!) >>> 0;
    const diff = withEnds - (before[w]! >>> 0) - borrow;
    borrow = diff < 0 ? 1 : 0;
    d[w] = d[w]! | (optional[w]! & ~(diff ^ withEnds));
  }
}

/** Reads one character: each set bit moves to the next position (or stays, on a repeat) if it accepts c. */
function advance(p: Program, d: Int32Array, row: Int32Array, offset: number, slash: boolean): boolean {
  const { words, repeat, boundaryStarts, runArea } = p;
  let carry = 0;
  let any = 0;
  let inRuns = 0;
  for (let w = 0; w < words; w += 1) {
    const x = d[w]!;
    const n = (((x << 1) | carry | (x & repeat[w]!)) & row[offset + w]!) | (slash ? boundaryStarts[w]! : 0);
    carry = x >>> 31;
    d[w] = n;
    any |= n;
    inRuns |= n & runArea[w]!;
  }
  if (inRuns !== 0) closeRuns(p, d);
  return any !== 0;
}

/** Whether some alternative matches all of `key`, from the root or from just after a `/`. */
function matches(p: Program, d: Int32Array, key: string): boolean {
  d.set(p.initial);
  let live = true;
  for (let i = 0; i < key.length; i += 1) {
    if (!live) {
      // Nothing in progress: only the next `/` can start a match again.
      i = p.anyBoundary ? key.indexOf('/', i) : -1;
      if (i < 0) return false;
    }
    const c = key.charCodeAt(i);
    live = c < ASCII ? advance(p, d, p.rows, c * p.words, c === SLASH) : advance(p, d, highRow(p, c), 0, false);
  }
  return live && intersects(d, p.accept);
}

function intersects(a: Int32Array, b: Int32Array): boolean {
  for (let w = 0; w < a.length; w += 1) if ((a[w]! & b[w]!) !== 0) return true;
  return false;
}

/** A predicate over one key: does any of the patterns match it? */
export type Excluder = (relativeKey: string) => boolean;

/** Compiles the patterns once; throws GlobError naming a pattern that cannot be used. */
export function excluder(patterns: readonly string[]): Excluder {
  const program = compile(patterns);
  if (!hasAny(program.rootStarts)) return () => false;
  const state = new Int32Array(program.words);
  return (key) => matches(program, state, key);
}

/** Why `pattern` cannot be used as an exclusion (unclosed or nested braces, a reversed range, too many alternatives), or undefined. */
export function globProblem(pattern: string): string | undefined {
  try {
    parse(pattern);
    return undefined;
  } catch (e) {
    if (e instanceof GlobError) return e.message;
    throw e;
  }
}
