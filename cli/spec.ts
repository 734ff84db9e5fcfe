// Every verb of the CLI and its flags, in one table: the parser, --help and shell completion all
// read it, so a flag cannot be accepted without being documented (docs/cli.md lists the same).

export interface Flag { short?: string; type: 'string' | 'boolean'; value?: string; help: string }

export const FLAGS = {
  kubeconfig: { type: 'string', value: 'PATH', help: 'kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)' },
  context: { type: 'string', value: 'NAME', help: 'kubeconfig context to use (default: its current-context)' },
  namespace: { short: 'n', type: 'string', value: 'NS', help: "namespace (default: the context's namespace)" },
  'all-namespaces': { short: 'A', type: 'boolean', help: 'every namespace you may list' },
  output: { short: 'o', type: 'string', value: 'FORMAT', help: 'json or yaml; lists and status also wide (default: a table)' },
  help: { short: 'h', type: 'boolean', help: 'this help' },
  project: { type: 'string', value: 'P', help: 'project id (spec.projectId)' },
  env: { type: 'string', value: 'E', help: 'environment (spec.environment), e.g. prd' },
  environment: { type: 'string', value: 'E', help: 'same as --env' },
  phase: { type: 'string', value: 'PHASE', help: 'only this phase (e.g. Failed)' },
  kind: { type: 'string', value: 'KIND', help: 'only BackupRequest or RestoreRequest' },
  limit: { type: 'string', value: 'N', help: 'at most N rows, 1..500 (default 50)' },
  provider: { type: 'string', value: 'NAME', help: 'local or aws (default local)' },
  'db-engine': { type: 'string', value: 'ENGINE', help: 'postgresql or mysql' },
  'db-type': { type: 'string', value: 'TYPE', help: 'dump or snapshot (default dump)' },
  'db-instance': { type: 'string', value: 'ID', help: 'database host[:port] (local) or instance id (cloud)' },
  'db-name': { type: 'string', value: 'NAME', help: 'database to dump (local provider)' },
  'db-secret': { type: 'string', value: 'SECRET', help: 'Secret with the database username and password' },
  'dl-bucket': { type: 'string', value: 'BUCKET', help: 'document-library bucket' },
  'dl-prefix': { type: 'string', value: 'PREFIX', help: 'document-library prefix in that bucket' },
  'backup-bucket': { type: 'string', value: 'BUCKET', help: 'bucket the backup is written to' },
  'retention-days': { type: 'string', value: 'N', help: 'keep the backup N days' },
  incremental: { type: 'boolean', help: 'cloud providers: reference objects unchanged since the last full backup' },
  'from-schedule': { type: 'string', value: 'SCHEDULE', help: "a BackupSchedule whose template is the backup's spec" },
  'from-backup': { type: 'string', value: 'BACKUP', help: 'the BackupRequest to restore' },
  latest: { type: 'boolean', help: 'restore the newest Succeeded backup of --project and --env' },
  database: { type: 'string', value: 'NAME', help: 'the NEW database to restore into (default <db>_restored_<time>)' },
  prefix: { type: 'string', value: 'PREFIX', help: 'key prefix' },
  'approve-overwrite': { type: 'boolean', help: 'allow restoring into a document-library prefix that holds objects' },
  'dry-run': { type: 'string', value: 'client', help: 'print the resource (with -o yaml) instead of creating it, to commit it to Git' },
  wait: { type: 'boolean', help: 'follow the phases until Succeeded or Failed, one line per change' },
  timeout: { type: 'string', value: 'DURATION', help: 'with --wait: give up after this long, e.g. 30m (default: never)' },
  details: { type: 'boolean', help: 'also print the spec as admitted (backups: and the manifest, from LC2_STORAGE_URL)' },
  bucket: { type: 'string', value: 'BUCKET', help: 'backup bucket' },
  manifest: { type: 'string', value: 'KEY', help: 'object key of a manifest.json' },
  backup: { type: 'string', value: 'BACKUP', help: 'the BackupRequest whose manifest to check (instead of --manifest)' },
  'tenant-file': { type: 'string', value: 'FILE', help: 'BackupTenant YAML/JSON file, - for stdin' },
  'identity-file': { type: 'string', value: 'FILE', help: 'age identities of the KEK versions in use now (the Secret\'s values; with --retire also the new one), - for stdin' },
  'to-version': { type: 'string', value: 'VERSION', help: 'the new KEK version, e.g. v2' },
  'to-recipient': { type: 'string', value: 'RECIPIENT', help: 'its age recipient (public key, age1...)' },
  retire: { type: 'boolean', help: 'delete the other versions\' wrapped keys once the new one is proven to open (needs its identity)' },
} as const satisfies Record<string, Flag>;

export type FlagName = keyof typeof FLAGS;

export interface Verb {
  /** Words that name the verb, e.g. ['backup', 'create']. */
  path: readonly string[];
  aliases?: ReadonlyArray<readonly string[]>;
  args: string;
  summary: string;
  flags: readonly FlagName[];
  examples: readonly string[];
  /** What completes the positional argument (names read from the API server). */
  completes?: 'backuprequests' | 'restorerequests' | 'shells';
}

const KUBE: readonly FlagName[] = ['kubeconfig', 'context', 'namespace'];
const CREATE: readonly FlagName[] = ['dry-run', 'wait', 'timeout', 'output'];

export const VERBS: readonly Verb[] = [
  {
    path: ['backup', 'create'], args: '[NAME]', summary: 'Create a BackupRequest from flags or from a schedule\'s template (the resource Git would hold)',
    flags: [...KUBE, 'from-schedule', 'project', 'env', 'provider', 'db-engine', 'db-type', 'db-instance', 'db-name', 'db-secret', 'dl-bucket', 'dl-prefix', 'backup-bucket', 'retention-days', 'incremental', ...CREATE],
    examples: [
      '# A backup now, with the spec of the nightly schedule; follow it',
      '{prog} backup create --from-schedule nightly -n proj-retail-prd --wait',
      '# Print the resource instead, to commit it',
      '{prog} backup create retail-prd-manual --from-schedule nightly -n proj-retail-prd --dry-run=client -o yaml',
    ],
  },
  {
    path: ['backup', 'list'], aliases: [['backup', 'get'], ['backups']], args: '', summary: 'List BackupRequests: phase, size, duration, age',
    flags: [...KUBE, 'all-namespaces', 'project', 'env', 'output'],
    examples: ['{prog} backup list -n proj-retail-prd', '{prog} backup list -A --project retail -o wide'],
  },
  {
    path: ['backup', 'describe'], args: 'NAME', summary: 'One backup: phases with times, operations, sizes, counts, conditions, manifest',
    flags: [...KUBE, 'details', 'output'], completes: 'backuprequests',
    examples: ['{prog} backup describe retail-prd-20261123 -n proj-retail-prd --details'],
  },
  {
    path: ['restore', 'create'], args: '[NAME]', summary: 'Create a RestoreRequest into a NEW database and document-library prefix',
    flags: [...KUBE, 'from-backup', 'latest', 'project', 'env', 'database', 'db-instance', 'db-secret', 'dl-bucket', 'dl-prefix', 'approve-overwrite', ...CREATE],
    examples: [
      '# The newest verified backup of retail/prd, into a new database; follow it',
      '{prog} restore create --latest --project retail --env prd -n proj-retail-prd --database lportal_restored --wait',
      '{prog} restore create --from-backup retail-prd-20261123 -n proj-retail-prd --dry-run=client -o yaml',
    ],
  },
  {
    path: ['restore', 'list'], aliases: [['restore', 'get'], ['restores']], args: '', summary: 'List RestoreRequests',
    flags: [...KUBE, 'all-namespaces', 'project', 'env', 'output'], examples: ['{prog} restore list -n proj-retail-prd'],
  },
  {
    path: ['restore', 'describe'], args: 'NAME', summary: 'One restore: source, targets, phases with times, operations, conditions',
    flags: [...KUBE, 'details', 'output'], completes: 'restorerequests',
    examples: ['{prog} restore describe retail-prd-restore-20261123 -n proj-retail-prd'],
  },
  {
    path: ['status'], args: '', summary: 'Per environment: last verified backup and its age (RPO), running, queued, next scheduled, last drill',
    flags: [...KUBE, 'all-namespaces', 'project', 'env', 'output'],
    examples: ['{prog} status -A', '{prog} status -n proj-retail-prd -o yaml'],
  },
  {
    path: ['history'], args: '', summary: 'Backups and restores from the archive (LC2_ARCHIVE_URL or LC2_ARCHIVE_DIR), newest first',
    flags: ['project', 'env', 'environment', 'phase', 'kind', 'limit', 'output'],
    examples: ['{prog} history --project retail --env prd --phase Failed'],
  },
  { path: ['show'], args: 'UID', summary: 'One archive record by UID', flags: ['output'], examples: ['{prog} show 3f6c…'] },
  {
    path: ['summary'], args: '', summary: 'Per project and environment from the archive: counts, success rate, last success, size',
    flags: ['project', 'env', 'environment', 'output'], examples: ['{prog} summary --project retail'],
  },
  {
    path: ['verify'], args: '', summary: "Check a backup's artifacts against its manifest (LC2_STORAGE_URL)",
    flags: [...KUBE, 'backup', 'bucket', 'manifest', 'output'],
    examples: ['{prog} verify --backup retail-prd-20261123 -n proj-retail-prd', '{prog} verify --bucket lc2-backups --manifest retail/prd/<backupId>/manifest.json'],
  },
  {
    path: ['rebuild-archive'], args: '', summary: 'Rebuild the archive from the manifests in a bucket',
    flags: ['bucket', 'prefix', 'output'], examples: ['{prog} rebuild-archive --bucket lc2-backups --prefix retail/'],
  },
  {
    path: ['storage-policy'], args: '', summary: "The S3 policy of a project's storage key, from its BackupTenant (JSON)",
    flags: ['tenant-file', 'project'], examples: ['kubectl get backuptenants -o yaml | {prog} storage-policy --tenant-file - --project retail'],
  },
  {
    path: ['rekey'], args: '', summary: "Rewrap an environment's encrypted backups for a new KEK version (LC2_STORAGE_URL)",
    flags: ['bucket', 'project', 'env', 'environment', 'identity-file', 'to-version', 'to-recipient', 'retire', 'output'],
    examples: ['{prog} rekey --bucket lc2-backups --project retail --env prd --identity-file v1.key --to-version v2 --to-recipient age1... --retire'],
  },
  {
    path: ['completion'], args: 'bash|zsh', summary: 'Print a shell completion script', flags: [], completes: 'shells',
    examples: ['source <({prog} completion bash)', '# kubectl lc2 <TAB> uses bin/kubectl_complete-lc2 on PATH instead'],
  },
];

/** Every word that may stand for a verb, with the verb it names. */
export function verbNames(): Array<{ words: readonly string[]; verb: Verb }> {
  return VERBS.flatMap((verb) => [verb.path, ...(verb.aliases ?? [])].map((words) => ({ words, verb })));
}

/** The verb named by the leading words, longest match first. */
export function findVerb(words: readonly string[]): { verb: Verb; used: number } | undefined {
  const names = verbNames().sort((a, b) => b.words.length - a.words.length);
  const hit = names.find((n) => n.words.every((w, i) => words[i] === w));
  return hit ? { verb: hit.verb, used: hit.words.length } : undefined;
}

export const GROUPS: Record<string, string> = {
  backup: 'Create, list and describe BackupRequests',
  restore: 'Create, list and describe RestoreRequests',
};
