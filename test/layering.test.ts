// Imports run one way (README, "Layout"): cli → app → hooks or providers → core. Reads every .ts under core/,
// hooks/, providers/ and app/, collects each relative specifier of a static import or export … from
// (type-only included), a dynamic import() and a new URL(…, import.meta.url) read, resolves it and
// checks (importer's top folder, target's top folder) against the table below; a provider's folder
// never reaches another provider's (providers/shared/ is for all of them). No dependency: plain text.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Which top-level folders a layer may import (or read data from). Nothing else is allowed. */
const ALLOWED: Record<string, readonly string[]> = {
  core: ['core', 'crds', 'schemas'], // the shared shapes; crds/ and schemas/ are data, read only here
  hooks: ['hooks', 'core'], // machines, shells, Metacontroller wire types, express, REST API, archive
  providers: ['providers', 'core'], // adapters only, reached through the port in core/provider.ts
  app: ['app', 'hooks', 'providers', 'core'], // the composition root
  cli: ['cli', 'app', 'hooks', 'providers', 'core'], // the command line: a shell over everything, imported by bin/ only
};
const LAYERS = Object.keys(ALLOWED);

/** Folders under providers/ every provider may use; any other subfolder is one provider. */
const SHARED_PROVIDER_CODE = new Set(['shared']);

interface Edge { from: string; line: number; spec: string; to: string }

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  if (!existsSync(path.join(ROOT, dir))) return out;
  for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...tsFiles(rel));
    else if (entry.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

const PATTERNS = [
  /\bfrom\s*(['"])(\.{1,2}\/[^'"]*)\1/g, // import … from '…', import type … from '…', export … from '…'
  /^\s*import\s*(['"])(\.{1,2}\/[^'"]*)\1/gm, // import '…' (side effect only)
  /\bimport\s*\(\s*(['"`])(\.{1,2}\/[^'"`$]*)\1\s*\)/g, // import('…')
  /\bnew\s+URL\(\s*(['"`])(\.{1,2}\/[^'"`$]*)/g, // new URL('…', import.meta.url): a data read (a template's static prefix)
];

/** Every relative specifier in one file, with its line (text in a // or /* comment line is skipped). */
function edgesOf(file: string, text: string): Edge[] {
  const edges = new Map<number, Edge>();
  for (const re of PATTERNS) {
    for (const m of text.matchAll(re)) {
      const at = m.index + m[0].indexOf(m[2]!);
      const lineStart = text.lastIndexOf('\n', at) + 1;
      const before = text.slice(lineStart, at);
      if (/^\s*(\/\/|\/?\*)/.test(before) || before.includes('//')) continue;
      const spec = m[2]!;
      const to = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      edges.set(at, { from: file, line: text.slice(0, at).split('\n').length, spec, to });
    }
  }
  return [...edges.values()];
}

/** Why an edge is not allowed, or undefined when it is. */
function violation(edge: Edge): string | undefined {
  const [fromTop, fromSub] = edge.from.split('/');
  const [toTop, toSub] = edge.to.split('/');
  const allowed = ALLOWED[fromTop!] ?? [];
  if (!toTop || toTop === '..' || !allowed.includes(toTop)) return `${fromTop}/ may not import ${toTop}/ (allowed: ${allowed.map((a) => `${a}/`).join(' ')})`;
  if (fromTop === 'providers' && toTop === 'providers') {
    // A file directly in providers/ or in providers/shared/ is shared code: it reaches no provider's folder.
    const fromProvider = edge.from.split('/').length > 2 && !SHARED_PROVIDER_CODE.has(fromSub!) ? fromSub : undefined;
    const toProvider = edge.to.split('/').length > 2 && !SHARED_PROVIDER_CODE.has(toSub!) ? toSub : undefined;
    const who = fromProvider || edge.from.split('/').length > 2 ? `providers/${fromSub}/` : edge.from;
    if (toProvider && toProvider !== fromProvider) return `${who} may not import providers/${toProvider}/ (only itself, providers/shared/ and core/)`;
  }
  return undefined;
}

function allEdges(): Edge[] {
  return LAYERS.flatMap((layer) => tsFiles(layer)).flatMap((file) => edgesOf(file, readFileSync(path.join(ROOT, file), 'utf8')));
}

const show = (e: Edge, why: string) => `${e.from}:${e.line}: '${e.spec}' → ${e.to}: ${why}`;

describe('layering', () => {
  const edges = allEdges();

  it('reads the imports of every layer', () => {
    for (const layer of LAYERS) assert.ok(tsFiles(layer).length > 0, `${layer}/ has .ts files`);
    // A pattern that stopped matching would make every other check pass vacuously.
    assert.ok(edges.length > 200, `found ${edges.length} relative imports`);
    assert.ok(edges.some((e) => e.from === 'app/main.ts' && e.to.startsWith('providers/') && /import\(/.test(readFileSync(path.join(ROOT, e.from), 'utf8').split('\n')[e.line - 1]!)), 'dynamic import() is seen');
    assert.ok(edges.some((e) => e.from === 'core/validation/schema.ts' && e.to.startsWith('crds')), 'new URL(…, import.meta.url) is seen');
  });

  it('every relative import resolves to a file or folder', () => {
    const missing = edges.filter((e) => !existsSync(path.join(ROOT, e.to))).map((e) => show(e, 'no such file'));
    assert.deepEqual(missing, [], `\n${missing.join('\n')}`);
  });

  it('imports run one way: app → hooks or providers → core; a provider never reaches another', () => {
    const wrong = edges.flatMap((e) => { const why = violation(e); return why ? [show(e, why)] : []; });
    assert.deepEqual(wrong, [], `imports that run the wrong way:\n${wrong.join('\n')}`);
  });

  it('the graph of top-level folders has no loop', () => {
    const next = new Map<string, Set<string>>();
    for (const e of edges) {
      const a = e.from.split('/')[0]!;
      const b = e.to.split('/')[0]!;
      if (a !== b) next.set(a, (next.get(a) ?? new Set()).add(b));
    }
    const loops: string[] = [];
    const visit = (node: string, trail: string[]) => {
      if (trail.includes(node)) { loops.push([...trail.slice(trail.indexOf(node)), node].join(' → ')); return; }
      for (const n of next.get(node) ?? []) visit(n, [...trail, node]);
    };
    for (const layer of LAYERS) visit(layer, []);
    assert.deepEqual(loops, [], `loops between folders:\n${loops.join('\n')}`);
  });

  it('catches an import that runs the wrong way', () => {
    const wrong = (from: string, spec: string) => edgesOf(from, `import type { X } from '${spec}';\n`).map(violation);
    assert.match(wrong('providers/aws/backup.ts', '../../hooks/backup/sync.ts')[0] ?? '', /providers\/ may not import hooks\//);
    assert.match(wrong('core/crd.ts', '../hooks/contract/types.ts')[0] ?? '', /core\/ may not import hooks\//);
    assert.match(wrong('hooks/backup/rules.ts', '../../providers/shared/storage/fileStore.ts')[0] ?? '', /hooks\/ may not import providers\//);
    assert.match(wrong('hooks/server/app.ts', '../../app/registry.ts')[0] ?? '', /hooks\/ may not import app\//);
    assert.match(wrong('providers/aws/backup.ts', '../local/jobs.ts')[0] ?? '', /providers\/aws\/ may not import providers\/local\//);
    assert.match(wrong('providers/shared/storage/s3Store.ts', '../../aws/clients.ts')[0] ?? '', /providers\/shared\/ may not import providers\/aws\//);
    assert.equal(wrong('providers/aws/lease.ts', '../shared/storage/readCapped.ts')[0], undefined);
    assert.equal(wrong('app/registry.ts', '../providers/aws/backup.ts')[0], undefined);
    // Dynamic imports and multi-line type imports count too.
    assert.equal(edgesOf('hooks/x.ts', "const m = await import('../providers/aws/clients.ts');\n").map(violation).length, 1);
    assert.match(edgesOf('hooks/x.ts', "import type {\n  A,\n  B,\n} from '../providers/aws/config.ts';\n").map(violation)[0] ?? '', /hooks\/ may not import providers\//);
    assert.equal(edgesOf('hooks/x.ts', "// the old import('../providers/registry.ts')\n").length, 0);
  });
});
