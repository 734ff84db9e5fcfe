// `rekey`: rewrap an environment's encrypted backups for a new KEK version (cli/rekey.ts).
import { readFileSync } from 'node:fs';
import { bool, outputFormat, str } from './args.ts';
import { serialize, type Ctx } from './context.ts';
import { Failed, Usage } from './errors.ts';
import { printable, table } from './format.ts';
import { identitiesIn, rekeyEnvironment } from './rekey.ts';
import { storage } from './storage.ts';

const RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;

export async function rekey(ctx: Ctx): Promise<number> {
  const format = outputFormat(ctx.values, ['json', 'yaml'] as const);
  const bucket = str(ctx.values, 'bucket');
  const project = str(ctx.values, 'project');
  const environment = str(ctx.values, 'env') ?? str(ctx.values, 'environment');
  const file = str(ctx.values, 'identity-file');
  const toVersion = str(ctx.values, 'to-version');
  const toRecipient = str(ctx.values, 'to-recipient');
  if (!bucket || !project || !environment || !file || !toVersion || !toRecipient) {
    throw new Usage('rekey needs --bucket, --project, --env, --identity-file, --to-version and --to-recipient');
  }
  if (!/^v[0-9]{1,6}$/.test(toVersion)) throw new Usage(`--to-version ${toVersion}: a KEK version is v<number>, e.g. v2`);
  if (!RECIPIENT.test(toRecipient)) throw new Usage('--to-recipient must be an age X25519 recipient (age1...)');
  if (/[/*?]|\.\./.test(project) || /[/*?]|\.\./.test(environment)) throw new Usage('--project and --env are plain names');
  let text: string;
  try { text = readFileSync(file === '-' ? 0 : file, 'utf8'); } catch (e) { throw new Usage(`cannot read ${file}: ${(e as Error).message}`); }
  const identities = identitiesIn(text);
  if (identities.length === 0) throw new Usage(`${file} holds no age identity (AGE-SECRET-KEY-1...)`);
  const rows = await rekeyEnvironment(await storage(ctx), {
    bucket, prefix: `${project}/${environment}/`, identities, toVersion, toRecipient, retire: bool(ctx.values, 'retire'),
  });
  ctx.out(format ? serialize(format, rows) : table(['BACKUP', 'RESULT', 'DETAIL', 'RETIRED'], rows.map((r) => [printable(r.backupId), r.outcome, printable(r.detail), r.retired.join(',')])));
  const unfinished = rows.filter((r) => r.outcome === 'unfinished').length;
  if (unfinished) ctx.err(`warning: ${unfinished} backup folder(s) hold wrapped keys but no manifest (running, or failed): keep the old KEK until they have finished and rekey has run again`);
  const failed = rows.filter((r) => r.outcome === 'failed').length;
  if (failed) throw new Failed(`${failed} of ${rows.length} backups could not be rewrapped: their data keys stay wrapped only for their old versions`);
  return 0;
}
