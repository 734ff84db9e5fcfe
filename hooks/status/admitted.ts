// The spec a request was admitted with (pure). Frozen into status when the first operation starts,
// so a spec edited between the tenant check and a later step can never steer that step: every
// step is built from the frozen copy, and a live spec that differs fails the request (SpecChanged).
import { createHash } from 'node:crypto';
import type { Admitted } from '../../core/crd.ts';

/** JSON with object keys sorted: the same spec always has the same digest. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export const specDigest = (spec: unknown): string => createHash('sha256').update(canonical(spec)).digest('hex');

export function admit<Spec>(spec: Spec, generation: number | undefined): Admitted<Spec> {
  return { ...(generation !== undefined ? { generation } : {}), specSha256: specDigest(spec), spec: structuredClone(spec) };
}

/** Why the live spec no longer is the admitted one, or undefined when it still is (or nothing was admitted yet). */
export function specChange<Spec>(admitted: Admitted<Spec> | undefined, live: Spec): string | undefined {
  if (!admitted) return undefined;
  if (specDigest(live) === admitted.specSha256 && specDigest(admitted.spec) === admitted.specSha256) return undefined;
  return `the spec changed after this request was admitted${admitted.generation !== undefined ? ` at generation ${admitted.generation}` : ''}: `
    + 'a started request cannot be changed; create a new one instead';
}
