// Generates crds/backupschedules.yaml. Its template.spec IS the BackupRequest spec schema, copied
// from crds/backuprequests.yaml, so the two can never drift (test/crds.test.ts checks the output).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

type Json = Record<string, unknown>;

/** The schema without `default`s: a schedule leaves defaulting to each BackupRequest it creates. */
function withoutDefaults(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDefaults);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node as Json).filter(([k]) => k !== 'default').map(([k, v]) => [k, withoutDefaults(v)]));
}

/** A property of a CRD's spec schema by path (e.g. database, credentialsSecretRef), defaults removed. */
function specProperty(crd: Json, ...path: string[]): Json {
  const version = (crd.spec as { versions: Json[] }).versions[0] as Json;
  let node = ((version.schema as Json).openAPIV3Schema as { properties: Json }).properties.spec as Json;
  for (const key of path) node = (node.properties as Json)[key] as Json;
  return withoutDefaults(node) as Json;
}

export function scheduleCrd(backupRequestCrd: Json, restoreRequestCrd: Json): Json {
  const version = (backupRequestCrd.spec as { versions: Json[] }).versions[0] as Json;
  // Without defaults, an unset deletionPolicy stays unset, and the schedule can default it to Delete.
  const brSpec = withoutDefaults(((version.schema as Json).openAPIV3Schema as { properties: Json }).properties.spec) as Json;
  const brStatus = ((version.schema as Json).openAPIV3Schema as { properties: Json }).properties.status as { properties: Json };
  const cronPattern = '^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\\S+\\s+){4}\\S+)$';
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'backupschedules.backup.liferay.cloud' },
    spec: {
      group: 'backup.liferay.cloud',
      scope: 'Namespaced',
      names: {
        kind: 'BackupSchedule', listKind: 'BackupScheduleList', plural: 'backupschedules',
        singular: 'backupschedule', shortNames: ['bs'], categories: ['lc2'],
      },
      versions: [{
        name: 'v1alpha1', served: true, storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' },
          { name: 'Project', type: 'string', jsonPath: '.spec.template.spec.projectId' },
          { name: 'Environment', type: 'string', jsonPath: '.spec.template.spec.environment' },
          { name: 'Suspend', type: 'boolean', jsonPath: '.spec.suspend' },
          { name: 'Last Schedule', type: 'date', jsonPath: '.status.lastScheduleTime' },
          { name: 'Last Success', type: 'string', jsonPath: '.status.lastSuccessfulBackup' },
          { name: 'Last Drill', type: 'string', jsonPath: '.status.lastDrill.verdict', priority: 1 },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: { openAPIV3Schema: {
          type: 'object', required: ['spec'],
          properties: {
            apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' },
            spec: {
              type: 'object', required: ['schedule', 'template'],
              properties: {
                schedule: { type: 'string', minLength: 1, maxLength: 128, pattern: cronPattern,
                  description: 'Standard 5-field cron expression or a macro such as @daily.' },
                timeZone: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z][A-Za-z0-9_+/-]*$',
                  description: 'IANA time zone the schedule is evaluated in (default UTC).' },
                suspend: { type: 'boolean', default: false },
                startingDeadlineSeconds: { type: 'integer', minimum: 0, maximum: 604800 },
                concurrencyPolicy: { type: 'string', enum: ['Allow', 'Forbid', 'Replace'], default: 'Forbid' },
                backupsOnDeletion: {
                  type: 'string', enum: ['Retain', 'Delete'], default: 'Retain',
                  description: 'When this schedule goes away (deleted, renamed, pruned by Argo CD), its backups and their data stay (Retain) unless this says Delete. Only the retention policy of a live schedule deletes a scheduled backup\'s data.',
                },
                retention: {
                  type: 'object',
                  description: 'Which finished backups of this schedule to keep; the others are deleted with their data (the template deletionPolicy defaults to Delete for scheduled backups).',
                  properties: {
                    keepLast: { type: 'integer', minimum: 1, maximum: 1000 },
                    keepDaily: { type: 'integer', minimum: 0, maximum: 3650 },
                    keepWeekly: { type: 'integer', minimum: 0, maximum: 520 },
                    keepMonthly: { type: 'integer', minimum: 0, maximum: 240 },
                    maxAgeDays: { type: 'integer', minimum: 1, maximum: 3650 },
                  },
                },
                drill: {
                  type: 'object', required: ['schedule', 'database', 'documentLibrary'],
                  description: 'DR drills: at each of these times the newest verified backup of this schedule is restored into a scratch database and prefix (a RestoreRequest with drill: true), checked, timed (RTO) and removed (docs/recovery-points.md, Scheduled drills).',
                  properties: {
                    schedule: { type: 'string', minLength: 1, maxLength: 128, pattern: cronPattern, description: 'When drills run (cron or macro such as @weekly).' },
                    timeZone: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z][A-Za-z0-9_+/-]*$', description: 'IANA time zone of the drill schedule (default: spec.timeZone, else UTC).' },
                    suspend: { type: 'boolean' },
                    keep: { type: 'integer', minimum: 1, maximum: 10, description: 'Finished drill restores kept for inspection (default 3); older ones are deleted.' },
                    database: {
                      type: 'object', required: ['instanceId'],
                      description: 'The server the scratch database is created on; its name is derived from the drill (lc2_drill_<hash>).',
                      properties: {
                        instanceId: specProperty(restoreRequestCrd, 'database', 'instanceId'),
                        credentialsSecretRef: specProperty(restoreRequestCrd, 'database', 'credentialsSecretRef'),
                      },
                    },
                    documentLibrary: {
                      type: 'object', required: ['bucket', 'prefix'],
                      description: 'Where scratch document libraries go: <prefix>/<drill restore name>/ in this bucket.',
                      properties: {
                        bucket: specProperty(restoreRequestCrd, 'documentLibrary', 'destinationBucket'),
                        prefix: { ...specProperty(restoreRequestCrd, 'documentLibrary', 'destinationPrefix'), maxLength: 256 },
                      },
                    },
                  },
                },
                template: {
                  type: 'object', required: ['spec'],
                  description: 'The BackupRequest created at each scheduled time.',
                  properties: {
                    metadata: { type: 'object', properties: {
                      labels: { type: 'object', additionalProperties: { type: 'string' } },
                      annotations: { type: 'object', additionalProperties: { type: 'string' } },
                    } },
                    spec: brSpec,
                  },
                },
              },
            },
            status: {
              type: 'object',
              properties: {
                observedGeneration: { type: 'integer', format: 'int64' },
                lastScheduleTime: { type: 'string', format: 'date-time' },
                nextScheduleTime: { type: 'string', format: 'date-time' },
                lastSuccessfulBackup: { type: 'string' },
                lastSuccessfulTime: { type: 'string', format: 'date-time' },
                skippedRuns: { type: 'integer', format: 'int64', minimum: 0 },
                active: { type: 'array', items: { type: 'string' } },
                deletedByRetention: { type: 'array', items: { type: 'string' }, description: 'Backups this schedule is deleting under its retention policy.' },
                lastDrillScheduleTime: { type: 'string', format: 'date-time' },
                nextDrillTime: { type: 'string', format: 'date-time' },
                activeDrill: { type: 'string' },
                lastDrill: {
                  type: 'object', required: ['name', 'verdict'],
                  description: 'The newest finished drill restore of this schedule.',
                  properties: {
                    name: { type: 'string' },
                    backup: { type: 'string' },
                    startTime: { type: 'string', format: 'date-time' },
                    completionTime: { type: 'string', format: 'date-time' },
                    verdict: { type: 'string', enum: ['Passed', 'Failed'] },
                    rtoSeconds: { type: 'integer', format: 'int64', minimum: 0 },
                    message: { type: 'string' },
                  },
                },
                conditions: brStatus.properties.conditions,
              },
            },
          },
        } },
      }],
    },
  };
}

const here = fileURLToPath(new URL('..', import.meta.url));
export const scheduleCrdPath = `${here}crds/backupschedules.yaml`;

export function renderScheduleCrd(): string {
  const br = YAML.parse(readFileSync(`${here}crds/backuprequests.yaml`, 'utf8')) as Json;
  const rr = YAML.parse(readFileSync(`${here}crds/restorerequests.yaml`, 'utf8')) as Json;
  return '# GENERATED by scripts/gen-schedule-crd.ts from backuprequests.yaml and restorerequests.yaml - do not edit by hand.\n'
    + YAML.stringify(scheduleCrd(br, rr), { lineWidth: 0 });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(scheduleCrdPath, renderScheduleCrd());
  console.log(`wrote ${scheduleCrdPath}`);
}
