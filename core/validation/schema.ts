// Spec validation compiled FROM the CRD schemas in crds/ (one source of truth). The CRD dialect is
// turned into plain JSON Schema the way the API server treats it: x-kubernetes-* keywords dropped,
// unknown fields rejected (kubectl's strict field validation), defaults applied.
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import YAML from 'yaml';

type Schema = { [key: string]: unknown };
const crdDir = new URL('../../crds/', import.meta.url);

export const CRD_FILES = {
  BackupRequest: 'backuprequests.yaml',
  RestoreRequest: 'restorerequests.yaml',
  BackupSchedule: 'backupschedules.yaml',
  BackupTenant: 'backuptenants.yaml',
} as const;
export type Kind = keyof typeof CRD_FILES;

export function crdSchema(kind: Kind): Schema {
  const crd = YAML.parse(readFileSync(new URL(CRD_FILES[kind], crdDir), 'utf8')) as {
    spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: Schema } }> };
  };
  const version = crd.spec.versions.find((v) => v.name === 'v1alpha1');
  if (!version) throw new Error(`${CRD_FILES[kind]} has no v1alpha1 version`);
  return version.schema.openAPIV3Schema;
}

/** CRD structural schema → JSON Schema as ajv understands it. */
export function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const source = node as Schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(source)) {
    if (key.startsWith('x-kubernetes-') || key === 'nullable') continue;
    out[key] = key === 'properties'
      ? Object.fromEntries(Object.entries(value as Schema).map(([k, v]) => [k, toJsonSchema(v)]))
      : toJsonSchema(value);
  }
  const preserve = source['x-kubernetes-preserve-unknown-fields'] === true;
  if (source.properties && !preserve && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictTypes: false });
ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && Math.abs(n) <= 2 ** 31 });
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);

// Compiled once when the module loads, so the state machines that validate stay free of I/O.
const compiled = new Map<string, ValidateFunction>(
  (Object.keys(CRD_FILES) as Kind[]).flatMap((kind) => {
    const root = crdSchema(kind) as { properties: Record<string, unknown> };
    return (['spec', 'status'] as const).filter((part) => root.properties[part])
      .map((part) => [`${kind}.${part}`, ajv.compile(toJsonSchema(root.properties[part]) as Schema)] as const);
  }),
);
function validator(kind: Kind, part: 'spec' | 'status'): ValidateFunction {
  return compiled.get(`${kind}.${part}`)!;
}

// A pattern error is clearer with a hint than with the regular expression alone.
const HINTS: Array<[RegExp, string]> = [
  [/Prefix$|\.key$/, "a relative path of segments made of letters, digits, '.', '_' and '-' (no leading '/', no '.' or '..' segment, no '%')"],
  [/Bucket$|\.bucket$/, 'a bucket name: 3-63 lower-case letters, digits, dots and hyphens'],
  [/projectId$|environment$/, 'a lower-case DNS label: letters, digits and hyphens'],
  [/instanceId$/, 'an instance identifier or host[:port]'],
  [/databaseName$/, 'a database name: letters, digits, _, $ and -, not starting with a digit'],
  [/excludePatterns\.\d+$/, 'a glob made of letters, digits and _ * ? / [ ] { } . , -'],
];

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function describeError(root: string, e: ErrorObject, data: unknown): string {
  const segments = e.instancePath.split('/').filter(Boolean);
  const path = [root, ...segments].join('.');
  const value = segments.reduce<unknown>((v, s) => (v && typeof v === 'object' ? (v as Schema)[s] : undefined), data);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': return `${path}.${String(p.missingProperty)}: required field is missing`;
    case 'additionalProperties': return `${path}.${String(p.additionalProperty)}: unknown field`;
    case 'enum': return `${path}: ${show(value)} is not one of ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'pattern': {
      const hint = HINTS.find(([re]) => re.test(path))?.[1];
      return `${path}: ${show(value)} is not valid${hint ? `: must be ${hint}` : ` (must match ${String(p.pattern)})`}`;
    }
    case 'type': return `${path}: must be ${String(p.type)}, got ${show(value)}`;
    default: return `${path}: ${e.message ?? 'is invalid'}${value !== undefined && typeof value !== 'object' ? ` (got ${show(value)})` : ''}`;
  }
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: string[] };

// A sync decides several times over the same request object: validate each spec object once.
const memo = new Map<Kind, WeakMap<object, Validated<unknown>>>();

/** No CRD here nests deeper than this; anything deeper is refused before it is copied or walked. */
export const MAX_DEPTH = 32;

/** Whether `value` nests objects/arrays deeper than `max` (iterative: no recursion on crafted input). */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (!v || typeof v !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(v as object)) if (child && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

/** Validates and defaults a copy of `spec`; errors name the field and what is wrong. */
export function validateSpec<T>(kind: Kind, spec: unknown): Validated<T> {
  if (spec === undefined || spec === null) return { ok: false, errors: ['spec: required field is missing'] };
  if (nestedDeeperThan(spec, MAX_DEPTH)) return { ok: false, errors: [`spec: nested deeper than ${MAX_DEPTH} levels`] };
  let cache = memo.get(kind);
  if (!cache) { cache = new WeakMap(); memo.set(kind, cache); }
  if (typeof spec === 'object') {
    const hit = cache.get(spec);
    if (hit) return hit as Validated<T>;
  }
  const copy = structuredClone(spec);
  const fn = validator(kind, 'spec');
  const result: Validated<T> = fn(copy)
    ? { ok: true, value: copy as T }
    : { ok: false, errors: [...new Set((fn.errors ?? []).map((e) => describeError('spec', e, copy)))] };
  if (typeof spec === 'object') cache.set(spec, result);
  return result;
}

/** Used by tests and the response check: would the API server accept this status? */
export function statusErrors(kind: Kind, status: unknown): string[] {
  if (nestedDeeperThan(status, MAX_DEPTH)) return [`status: nested deeper than ${MAX_DEPTH} levels`];
  const fn = validator(kind, 'status');
  const copy = structuredClone(status);
  return fn(copy) ? [] : (fn.errors ?? []).map((e) => describeError('status', e, copy));
}
