// Shell completion. `__complete WORDS… CURRENT` answers the way Cobra programs do (one candidate a
// line, then ":<directive>"), which is what kubectl expects from a kubectl_complete-lc2 executable
// (kubectl >= 1.26) and what the bash/zsh scripts below call. Names come from the API server when it
// answers quickly; any failure just completes nothing.
import { parseArgs } from 'node:util';
import { FLAGS, GROUPS, VERBS, findVerb, type FlagName } from './spec.ts';
import { words } from './args.ts';
import type { Plural } from './kube.ts';
import type { Io } from './context.ts';

const NO_FILES = 4;
const DEFAULT = 0;

const VALUES: Partial<Record<FlagName, readonly string[]>> = {
  output: ['json', 'yaml', 'wide'], provider: ['local', 'aws'], 'db-engine': ['postgresql', 'mysql'], 'db-type': ['dump', 'snapshot'],
  kind: ['BackupRequest', 'RestoreRequest'], phase: ['Pending', 'Queued', 'Succeeded', 'Failed'],
};
const NAMES: Partial<Record<FlagName, Plural>> = { 'from-backup': 'backuprequests', 'from-schedule': 'backupschedules', backup: 'backuprequests' };

async function names(plural: Plural, argv: readonly string[], env: NodeJS.ProcessEnv): Promise<string[]> {
  try {
    const { values } = parseArgs({ args: [...argv], strict: false, allowPositionals: true, options: { kubeconfig: { type: 'string' }, context: { type: 'string' }, namespace: { type: 'string', short: 'n' } } });
    const pick = (k: string) => (typeof values[k] === 'string' ? { [k]: values[k] as string } : {});
    const { connectKube } = await import('./kube.ts');
    const kube = connectKube({ ...pick('kubeconfig'), ...pick('context'), ...pick('namespace') }, env);
    const list = kube.list<{ metadata: { name: string } }>(plural, kube.namespace);
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('slow')), 3000).unref());
    return (await Promise.race([list, timeout])).map((o) => o.metadata.name);
  } catch { return []; }
}

/** Candidates for the last word of args (the one being typed), and the Cobra directive. */
export async function candidates(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ items: string[]; directive: number }> {
  const before = args.slice(0, -1);
  const current = args.at(-1) ?? '';
  const found = findVerb(words(before).map((w) => w.word));
  const prev = before.at(-1);
  const flagOf = (token: string | undefined): FlagName | undefined => {
    if (!token?.startsWith('-') || token.includes('=')) return undefined;
    const name = token.startsWith('--') ? token.slice(2) : (Object.entries(FLAGS).find(([, f]) => 'short' in f && `-${f.short}` === token)?.[0]);
    return name && name in FLAGS && FLAGS[name as FlagName].type === 'string' ? name as FlagName : undefined;
  };
  const pending = flagOf(prev);
  const done = (items: readonly string[], directive = NO_FILES) => ({ items: items.filter((i) => i.startsWith(current)), directive });
  if (pending) {
    if (pending === 'kubeconfig' || pending === 'tenant-file') return { items: [], directive: DEFAULT };
    if (VALUES[pending]) return done(VALUES[pending]);
    if (NAMES[pending]) return done(await names(NAMES[pending], before, env));
    return done([]);
  }
  if (current.startsWith('-')) {
    const flags = found ? [...found.verb.flags, 'help' as const] : ['help' as const];
    return done(flags.map((f) => `--${f}`));
  }
  if (!found) {
    const ws = words(before).map((w) => w.word);
    if (ws.length === 0) return done([...new Set(VERBS.map((v) => v.path[0]!)), 'help']);
    if (ws.length === 1 && Object.hasOwn(GROUPS, ws[0]!)) return done(VERBS.filter((v) => v.path[0] === ws[0]).map((v) => v.path[1]!));
    return done([]);
  }
  const positional = words(before).length - found.used;
  if (positional > 0) return done([]);
  if (found.verb.completes === 'shells') return done(['bash', 'zsh']);
  if (found.verb.completes) return done(await names(found.verb.completes, before, env));
  return done([]);
}

export async function complete(args: readonly string[], io: Io): Promise<void> {
  const { items, directive } = await candidates(args, io.env);
  io.out([...items, `:${directive}`].join('\n'));
}

/** The command a completion script calls: the plugin's own executable when run through kubectl. */
const commandOf = (prog: string) => (prog === 'kubectl lc2' ? 'kubectl-lc2' : prog);

export function completionScript(shell: string, prog: string): string | undefined {
  const cmd = commandOf(prog);
  const fn = `_${cmd.replace(/[^A-Za-z0-9]/g, '_')}`;
  if (shell === 'bash') {
    return `# bash completion for ${cmd} (for "kubectl lc2 <TAB>" put bin/kubectl_complete-lc2 on PATH instead)
# source <(${prog} completion bash)
${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} lines directive
  mapfile -t lines < <(${cmd} __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
  (( \${#lines[@]} )) || return 0
  directive=\${lines[-1]#:}
  unset 'lines[-1]'
  COMPREPLY=()
  local line
  for line in "\${lines[@]}"; do [[ $line == "$cur"* ]] && COMPREPLY+=("\${line%%$'\\t'*}"); done
  if (( \${#COMPREPLY[@]} == 0 )) && [[ $directive != 4 ]]; then mapfile -t COMPREPLY < <(compgen -f -- "$cur"); fi
}
complete -F ${fn} ${cmd}
`;
  }
  if (shell === 'zsh') {
    return `#compdef ${cmd}
# zsh completion for ${cmd}: source <(${prog} completion zsh)
${fn}() {
  local -a lines
  lines=("\${(@f)$(${cmd} __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  local directive=\${lines[-1]#:}
  lines=("\${(@)lines[1,-2]}")
  if (( \${#lines} )); then compadd -- "\${(@)lines%%$'\\t'*}"; elif [[ $directive != 4 ]]; then _files; fi
}
compdef ${fn} ${cmd}
`;
  }
  return undefined;
}
