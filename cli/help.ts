// --help text, generated from the verb table (spec.ts) so it never drifts from what is parsed.
import { FLAGS, GROUPS, VERBS, type Verb } from './spec.ts';

const fill = (text: string, prog: string) => text.replaceAll('{prog}', prog);

function flagLines(verb: Verb): string[] {
  const names = [...verb.flags, 'help' as const];
  const heads = names.map((name) => {
    const f: { short?: string; type: string; value?: string } = FLAGS[name];
    return `${f.short ? `-${f.short}, ` : '    '}--${name}${f.type === 'string' ? `${name === 'dry-run' ? '=' : ' '}${f.value}` : ''}`;
  });
  const width = Math.max(...heads.map((h) => h.length)) + 3;
  return names.map((name, i) => `  ${heads[i]!.padEnd(width)}${FLAGS[name].help}`);
}

export function verbHelp(verb: Verb, prog: string): string {
  const aliases = (verb.aliases ?? []).map((a) => a.join(' '));
  return [
    `${verb.summary}.`, '',
    'Usage:', `  ${prog} ${verb.path.join(' ')}${verb.args ? ` ${verb.args}` : ''} [flags]`,
    ...(aliases.length ? ['', `Aliases: ${aliases.join(', ')}`] : []),
    '', 'Examples:', ...verb.examples.map((e) => `  ${fill(e, prog)}`),
    '', 'Flags:', ...flagLines(verb), '',
  ].join('\n');
}

function verbList(verbs: readonly Verb[]): string[] {
  const names = verbs.map((v) => v.path.join(' ') + (v.args ? ` ${v.args}` : ''));
  const width = Math.max(...names.map((n) => n.length)) + 3;
  return verbs.map((v, i) => `  ${names[i]!.padEnd(width)}${v.summary}`);
}

export function groupHelp(group: string, prog: string): string {
  return [`${GROUPS[group]}.`, '', 'Commands:', ...verbList(VERBS.filter((v) => v.path[0] === group)), '',
    `Run '${prog} ${group} <command> --help' for a command's flags.`, ''].join('\n');
}

export function topHelp(prog: string): string {
  return [
    'Backups and restores of Liferay DXP environments (BackupRequest, RestoreRequest, BackupSchedule).', '',
    'Usage:', `  ${prog} <command> [flags]`, '',
    'Commands:', ...verbList(VERBS), '',
    'Cluster access as kubectl: --kubeconfig, --context, -n/--namespace (default: the context\'s).',
    'Exit codes: 0 done, 1 not found / refused / Failed / not verified, 2 usage, 3 cluster, archive or',
    'storage unavailable, 4 --wait timed out.', '',
    `Run '${prog} <command> --help' for a command's flags and examples.`, '',
  ].join('\n');
}
