// The CLI's entry: argv to a verb, the verb to its handler, any failure to a message on stderr and
// an exit code (errors.ts). bin/lc2-backup.ts and bin/kubectl-lc2 only call main().
import { basename } from 'node:path';
import { parse, words } from './args.ts';
import { context, type Ctx, type Io } from './context.ts';
import { exitCodeOf, Usage, EXIT } from './errors.ts';
import { groupHelp, topHelp, verbHelp } from './help.ts';
import { printable } from './format.ts';
import { findVerb, GROUPS, type Verb } from './spec.ts';
import { complete, completionScript } from './completion.ts';

async function completion(ctx: Ctx): Promise<number> {
  const script = completionScript(ctx.args[0] ?? '', ctx.prog);
  if (!script || ctx.args.length !== 1) throw new Usage('completion takes one shell: bash or zsh');
  ctx.out(script.trimEnd());
  return 0;
}

type Handler = (ctx: Ctx) => Promise<number>;
// Loaded when the verb runs: --help and tab completion start without the Kubernetes client, the
// archive's databases or the storage SDKs (2.3 s → see bench/cli.ts).
const backup = () => import('./backupVerbs.ts');
const restore = () => import('./restoreVerbs.ts');
const archive = () => import('./archiveVerbs.ts');
const create = () => import('./createVerbs.ts');
const HANDLERS: Record<string, () => Promise<Handler>> = {
  'backup create': async () => (await create()).backupCreate, 'backup list': async () => (await backup()).backupList,
  'backup describe': async () => (await backup()).backupDescribe, 'restore create': async () => (await create()).restoreCreate,
  'restore list': async () => (await restore()).restoreList, 'restore describe': async () => (await restore()).restoreDescribe,
  status: async () => (await import('./statusVerb.ts')).status, history: async () => (await archive()).history,
  show: async () => (await archive()).show, summary: async () => (await archive()).summary, verify: async () => (await archive()).verify,
  'rebuild-archive': async () => (await archive()).rebuildArchive, 'storage-policy': async () => (await archive()).storagePolicy,
  rekey: async () => (await import('./keyVerbs.ts')).rekey, completion: async () => completion,
};

export async function run(argv: readonly string[], io: Io): Promise<number> {
  let verb: Verb | undefined;
  try {
    if (argv[0] === '__complete') { await complete(argv.slice(1), io); return EXIT.ok; }
    verb = findVerb(words(argv).map((w) => w.word))?.verb;
    const parsed = parse(argv);
    if ('help' in parsed) {
      const topic = parsed.help;
      if (topic === undefined) { io.out(topHelp(io.prog)); return EXIT.ok; }
      if (typeof topic === 'string') {
        if (!Object.hasOwn(GROUPS, topic)) throw new Usage(`no help for "${topic}": not a command`);
        io.out(groupHelp(topic, io.prog));
        return EXIT.ok;
      }
      io.out(verbHelp(topic, io.prog));
      return EXIT.ok;
    }
    const handler = await HANDLERS[parsed.verb.path.join(' ')]!();
    const connect = parsed.verb.flags.includes('namespace') ? (await import('./kube.ts')).connectKube : undefined;
    return await handler(context(io, parsed.values, parsed.args, connect));
  } catch (e) {
    const code = exitCodeOf(e);
    io.err(`error: ${printable((e as Error).message)}`);
    if (code === EXIT.usage) io.err(`Run '${io.prog}${verb ? ` ${verb.path.join(' ')}` : ''} --help' for usage.`);
    return code;
  }
}

/** The process: real streams, clock and environment; `kubectl-lc2` calls itself "kubectl lc2". */
export function main(prog = basename(process.argv[1] ?? 'lc2-backup').startsWith('kubectl-') ? 'kubectl lc2' : 'lc2-backup'): void {
  const io: Io = {
    out: (s) => process.stdout.write(`${s}\n`), err: (s) => process.stderr.write(`${s}\n`), env: process.env,
    now: () => new Date(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)), prog, pollMs: 2000,
  };
  run(process.argv.slice(2), io).then((code) => { process.exitCode = code; }, (e: unknown) => {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    process.exitCode = EXIT.unavailable;
  });
}
