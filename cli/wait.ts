// --wait: poll the resource and print one line per phase change until it is Succeeded or Failed.
// A timeout leaves it running and says how to keep following it.
import type { Condition } from '../core/crd.ts';
import { Failed, TimedOut } from './errors.ts';
import { formatDuration, printable, secondsBetween } from './format.ts';
import type { Ctx } from './context.ts';
import type { Plural } from './kube.ts';

interface Followed {
  metadata: { name: string };
  status?: { phase?: string; queue?: { position: number; reason: string }; operations?: Record<string, { state: string }>; conditions?: Condition[] };
}

/** What to say beside a phase: why it waits, which steps run, or the outcome's message. */
export function phaseDetail(o: Followed): string {
  const s = o.status;
  if (s?.queue) return `#${s.queue.position} in the queue: ${s.queue.reason}`;
  const ready = s?.conditions?.find((c) => c.type === 'Ready');
  if (s?.phase === 'Succeeded' || s?.phase === 'Failed') return ready ? `${ready.reason}: ${ready.message}` : '';
  const running = Object.entries(s?.operations ?? {}).filter(([, op]) => op.state === 'Running').map(([step]) => step);
  return running.length ? `running ${running.join(', ')}` : '';
}

/** Follows until done; returns the final object (Succeeded) or throws Failed / TimedOut. */
export async function follow<T extends Followed>(ctx: Ctx, plural: Plural, namespace: string, name: string, describeVerb: string, timeoutMs: number | undefined): Promise<T> {
  const start = ctx.now();
  const kube = ctx.kube();
  let last = '';
  for (;;) {
    const o = await kube.get<T>(plural, namespace, name);
    if (!o) throw new Failed(`${plural}/${name} was deleted while waiting`);
    const phase = o.status?.phase ?? 'Pending';
    const detail = phaseDetail(o);
    const line = printable(`${phase}${detail ? `  ${detail}` : ''}`);
    const took = formatDuration(secondsBetween(start.toISOString(), ctx.now()) ?? 0);
    if (line !== last) { ctx.err(`[${took.padStart(6)}] ${name}  ${line}`); last = line; }
    if (phase === 'Succeeded') return o;
    if (phase === 'Failed') throw new Failed(`${name} Failed after ${took}${detail ? `: ${detail}` : ''}; see ${ctx.prog} ${describeVerb} ${name} -n ${namespace}`);
    if (timeoutMs !== undefined && ctx.now().getTime() - start.getTime() >= timeoutMs) {
      throw new TimedOut(`${name} is still ${phase} after ${took} (--timeout); it keeps running: ${ctx.prog} ${describeVerb} ${name} -n ${namespace}`);
    }
    await ctx.sleep(ctx.pollMs);
  }
}
