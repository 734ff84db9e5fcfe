// What both create verbs share: --dry-run=client prints the document for Git instead of writing
// it, else create it, say so as kubectl does, and with --wait follow it to the end.
import { bool, outputFormat, str } from './args.ts';
import { serialize, type Ctx } from './context.ts';
import { Usage } from './errors.ts';
import { parseDuration } from './format.ts';
import type { Plural } from './kube.ts';
import { follow } from './wait.ts';

interface Created { metadata: { name: string; namespace?: string }; status?: { phase?: string } }

export async function createAndFollow<T extends Created>(ctx: Ctx, plural: Plural, obj: T, describeVerb: string, summary: (o: T) => string): Promise<number> {
  const format = outputFormat(ctx.values, ['json', 'yaml'] as const);
  const dryRun = str(ctx.values, 'dry-run');
  if (dryRun !== undefined && dryRun !== 'client' && dryRun !== 'none') throw new Usage(`--dry-run=${dryRun}: only --dry-run=client is supported (print, write nothing)`);
  const timeoutText = str(ctx.values, 'timeout');
  const timeoutMs = timeoutText === undefined ? undefined : parseDuration(timeoutText);
  if (timeoutText !== undefined && timeoutMs === undefined) throw new Usage(`--timeout ${timeoutText}: use a duration like 90s, 30m or 1h30m`);
  const wait = bool(ctx.values, 'wait');
  const ref = `${plural.replace(/s$/, '')}.backup.liferay.cloud/${obj.metadata.name}`;
  if (dryRun === 'client') {
    if (wait) throw new Usage('--wait has nothing to follow with --dry-run=client');
    ctx.out(format ? serialize(format, obj) : `${ref} created (dry run): ${summary(obj)}`);
    return 0;
  }
  const namespace = obj.metadata.namespace!;
  const created = await ctx.kube().create<T>(plural, namespace, obj);
  ctx.out(format ? serialize(format, created) : `${ref} created: ${summary(created)}`);
  if (!wait) return 0;
  // Returns on Succeeded; Failed and a timeout throw (exit 1 and 4).
  await follow<T>(ctx, plural, namespace, obj.metadata.name, describeVerb, timeoutMs);
  ctx.err(`details: ${ctx.prog} ${describeVerb} ${obj.metadata.name} -n ${namespace}`);
  return 0;
}
