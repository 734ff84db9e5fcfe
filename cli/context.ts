// What every verb gets: its flags and arguments, the output streams, the environment, the clock
// (injected, so tests print fixed ages) and lazy cluster access.
import YAML from 'yaml';
import { str, bool, type Values } from './args.ts';
import type { Kube, KubeFlags } from './kube.ts';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  now(): Date;
  sleep(ms: number): Promise<void>;
  /** How the user called us: "kubectl lc2" or "lc2-backup" (help and hints say the same). */
  prog: string;
  /** --wait polls this often. */
  pollMs: number;
}

export interface Ctx extends Io { values: Values; args: string[]; kube(): Kube }

/** connectKube, passed in by main only for the verbs that reach the cluster (it loads the Kubernetes client). */
export type Connect = (flags: KubeFlags, env: NodeJS.ProcessEnv) => Kube;

export function context(io: Io, values: Values, args: string[], connect?: Connect): Ctx {
  let kube: Kube | undefined;
  const connectOrFail: Connect = connect ?? (() => { throw new Error('this verb does not reach the cluster'); });
  return {
    ...io, values, args,
    kube: () => (kube ??= connectOrFail({
      ...(str(values, 'kubeconfig') ? { kubeconfig: str(values, 'kubeconfig')! } : {}),
      ...(str(values, 'context') ? { context: str(values, 'context')! } : {}),
      ...(str(values, 'namespace') ? { namespace: str(values, 'namespace')! } : {}),
    }, io.env)),
  };
}

/** The namespace to read, or undefined for -A (every namespace). */
export const scope = (ctx: Ctx): string | undefined => (bool(ctx.values, 'all-namespaces') ? undefined : ctx.kube().namespace);

/** json or yaml of one object, or of a kubectl-style List. */
export function serialize(format: 'json' | 'yaml', data: unknown, list = false): string {
  const doc = list ? { apiVersion: 'v1', kind: 'List', items: data } : data;
  return format === 'json' ? JSON.stringify(doc, null, 2) : YAML.stringify(doc).trimEnd();
}
