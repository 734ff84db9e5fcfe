// The CLI's entry: argv to a verb, the verb to its handler, any failure to a message on stderr and
// an exit code (errors.ts). bin/lc2-backup.ts and bin/kubectl-lc2 only call main().
import { basename } from 'node:path';
import { parse, words } from './args.ts';
import { context, type Ctx, type Io } from './context.ts';
import { exitCodeOf, Usage, EXIT } from './errors.ts';
import { groupHelp, topHelp, verbHelp } from './help.ts';
import { printable } from './format.ts';
import { findVerb, GROUPS, type Verb } from './spec.ts';
import { backupCreate, backupDescribe, backupList } from './backupVerbs.ts';
import { restoreCreate, restoreDescribe, restoreList } from './restoreVerbs.ts';
import { status } from './statusVerb.ts';
import { history, rebuildArchive, show, storagePolicy, summary, verify } from './archiveVerbs.ts';
import { complete, completionScript } from './completion.ts';

async function completion(ctx: Ctx): Promise<number> {
  const script = completionScript(ctx.args[0] ?? '', ctx.prog);
  if (!script || ctx.args.length !== 1) throw new Usage('completion takes one shell: bash or zsh');
  ctx.out(script.trimEnd());
  return 0;
}

const HANDLERS: Record<string, (ctx: Ctx) => Promise<number>> = {
  'backup create': backupCreate, 'backup list': backupList, 'backup describe': backupDescribe,
  'restore create': restoreCreate, 'restore list': restoreList, 'restore describe': restoreDescribe,
  status, history, show, summary, verify, 'rebuild-archive': rebuildArchive, 'storage-policy': storagePolicy, completion,
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
        if (!(topic in GROUPS)) throw new Usage(`no help for "${topic}": not a command`);
        io.out(groupHelp(topic, io.prog));
        return EXIT.ok;
      }
      io.out(verbHelp(topic, io.prog));
      return EXIT.ok;
    }
    return await HANDLERS[parsed.verb.path.join(' ')]!(context(io, parsed.values, parsed.args));
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
