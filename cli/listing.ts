// What the list and describe verbs of both kinds share: the namespace or -A, the --project/--env
// filters, newest first, json/yaml/wide, and "not found" that says how to list.
import { outputFormat, str } from './args.ts';
import { scope, serialize, type Ctx } from './context.ts';
import { Failed, Usage } from './errors.ts';

const newestFirst = <T extends { metadata: { name: string; creationTimestamp?: string } }>(a: T, b: T) =>
  (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name);

type Listed = { metadata: { name: string; namespace?: string; creationTimestamp?: string }; spec?: { projectId: string; environment: string } };

/** list verbs: -n or -A, --project/--env filters, newest first; json/yaml as a List, else the table. */
export async function listVerb<T extends Listed>(ctx: Ctx, plural: 'backuprequests' | 'restorerequests', what: string, render: (items: T[], wide: boolean, withNamespace: boolean) => string): Promise<number> {
  const format = outputFormat(ctx.values, ['json', 'yaml', 'wide'] as const);
  const ns = scope(ctx);
  const project = str(ctx.values, 'project');
  const env = str(ctx.values, 'env');
  const items = (await ctx.kube().list<T>(plural, ns))
    .filter((o) => (!project || o.spec?.projectId === project) && (!env || o.spec?.environment === env)).sort(newestFirst);
  if (format === 'json' || format === 'yaml') { ctx.out(serialize(format, items, true)); return 0; }
  if (!items.length) { ctx.err(`No ${what} found${ns ? ` in ${ns} namespace` : ''}.`); return 0; }
  ctx.out(render(items, format === 'wide', ns === undefined));
  return 0;
}

export async function describeOne<T extends { metadata: { name: string } }>(ctx: Ctx, plural: 'backuprequests' | 'restorerequests', group: string, text: (o: T) => string, prepare?: (o: T) => Promise<void>): Promise<number> {
  const format = outputFormat(ctx.values, ['json', 'yaml'] as const);
  const [name, extra] = ctx.args;
  if (!name || extra) throw new Usage(`${group} describe takes exactly one NAME: list them with ${ctx.prog} ${group} list`);
  const kube = ctx.kube();
  const o = await kube.get<T>(plural, kube.namespace, name);
  if (!o) throw new Failed(`${group} ${name} not found in namespace ${kube.namespace}: list them with ${ctx.prog} ${group} list -n ${kube.namespace}`);
  if (!format) await prepare?.(o);
  ctx.out(format ? serialize(format, o) : text(o));
  return 0;
}
