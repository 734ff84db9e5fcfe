// The versioned JSON Schemas in schemas/ (manifest, Job result), compiled once.
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);

function load(file: string): ValidateFunction {
  return ajv.compile(JSON.parse(readFileSync(new URL(`../../schemas/${file}`, import.meta.url), 'utf8')) as object);
}

const validators = { manifest: load('manifest.v1.json'), jobResult: load('job-result.v1.json') };

/** [] when valid, else one readable line per problem. */
export function schemaErrors(which: keyof typeof validators, value: unknown): string[] {
  const fn = validators[which];
  return fn(value) ? [] : (fn.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

/** The first few validation errors, and how many more there were. */
export function firstErrors(errors: readonly string[], n = 5): string {
  return errors.length > n ? `${errors.slice(0, n).join('; ')}; and ${errors.length - n} more` : errors.join('; ');
}
