// From argv to a verb, its flag values and its arguments. Flags may come before or after the verb
// words (`kubectl lc2 -n ns backup list` and `kubectl lc2 backup list -n ns`), as with kubectl.
import { parseArgs } from 'node:util';
import { FLAGS, findVerb, GROUPS, type FlagName, type Verb } from './spec.ts';
import { Usage } from './errors.ts';

export type Values = Partial<Record<FlagName, string | boolean>>;
export interface Parsed { verb: Verb; values: Values; args: string[] }
/** No verb: top-level help, a group's help, or help for a verb (`help backup create`). */
export interface HelpWanted { help: Verb | string | undefined }

const takesValue = (token: string): boolean => {
  if (token.includes('=')) return false;
  const name = token.startsWith('--') ? token.slice(2) : undefined;
  const flag = name !== undefined ? FLAGS[name as FlagName] : Object.values(FLAGS).find((f) => 'short' in f && `-${f.short}` === token);
  return flag?.type === 'string';
};

/** The words of argv that are not flags or flag values, with their positions. */
export function words(argv: readonly string[]): Array<{ word: string; at: number }> {
  const out: Array<{ word: string; at: number }> = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') { argv.slice(i + 1).forEach((word, j) => out.push({ word, at: i + 1 + j })); break; }
    if (token.startsWith('-') && token !== '-') { if (takesValue(token)) i++; continue; }
    out.push({ word: token, at: i });
  }
  return out;
}

export function parse(argv: readonly string[]): Parsed | HelpWanted {
  const ws = words(argv);
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  if (ws[0]?.word === 'help') {
    const found = findVerb(ws.slice(1).map((w) => w.word));
    return { help: found?.verb ?? ws[1]?.word };
  }
  const found = findVerb(ws.map((w) => w.word));
  if (!found) {
    const first = ws[0]?.word;
    if (first === undefined || (Object.hasOwn(GROUPS, first) && ws.length === 1)) {
      if (first === undefined && argv.length && !wantsHelp) throw new Usage(`no command given (flags alone: ${argv.join(' ')})`);
      return { help: first };
    }
    if (Object.hasOwn(GROUPS, first)) throw new Usage(`unknown command "${first} ${ws[1]!.word}": see --help for the ${first} commands`);
    throw new Usage(`unknown command "${first}"`);
  }
  if (wantsHelp) return { help: found.verb };
  const skip = new Set(ws.slice(0, found.used).map((w) => w.at));
  const rest = argv.filter((_, i) => !skip.has(i));
  const options = Object.fromEntries(found.verb.flags.map((name) => {
    const f: { short?: string; type: 'string' | 'boolean' } = FLAGS[name];
    return [name, { type: f.type, ...(f.short ? { short: f.short } : {}) }];
  }));
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new Usage((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  return { verb: found.verb, values: parsed.values as Values, args: parsed.positionals };
}

export const str = (values: Values, name: FlagName): string | undefined => {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
};
export const bool = (values: Values, name: FlagName): boolean => values[name] === true;

/** The -o value among the allowed ones, else a usage error naming them. */
export function outputFormat<T extends string>(values: Values, allowed: readonly T[]): T | undefined {
  const o = str(values, 'output');
  if (o === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(o)) throw new Usage(`-o ${o} is not supported here: use ${allowed.join(', ')}`);
  return o as T;
}
