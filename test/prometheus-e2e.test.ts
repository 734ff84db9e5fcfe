// End to end with a real Prometheus (Debian's prometheus package): it scrapes two real hook
// replicas every second and evaluates kustomize/monitoring/rules.yaml while a real local backup
// runs (pg_dump, zstd, rclone on the machine's PostgreSQL), another waits in the queue, and a
// forced failure (a database that does not exist) makes LC2BackupFailed fire, asked through
// Prometheus' API. Then every query of the Grafana dashboard runs against that Prometheus and
// must parse and return series for the scraped hook.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startReplicas, roundRobinDriver, postgresDump, type Replicas } from './support/replicas.ts';
import { startPrometheus, type Prometheus } from './support/prometheus.ts';
import { TEST_POLICY } from './support/inProcessHook.ts';
import { uniqueName } from './support/env.ts';
import { backupRequest } from './support/resources.ts';
import { createSampleDatabase, dropDatabase, localPostgres, sampleDocumentLibrary } from '../demo/sample.ts';
import { API_VERSION } from '../hooks/contract/objects.ts';
import { INTERVAL_ANNOTATION } from '../hooks/schedule/machine.ts';

const rulesFile = new URL('../kustomize/monitoring/rules.yaml', import.meta.url).pathname;
const dashboard = JSON.parse(readFileSync(new URL('../kustomize/monitoring/dashboard.json', import.meta.url), 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
const source = uniqueName('lc2_prom');
let replicas: Replicas;
let prometheus: Prometheus;
let started = 0;

before(async () => {
  started = Math.floor(Date.now() / 1000) - 1;
  replicas = await startReplicas({ count: 2, policy: { ...TEST_POLICY, maxConcurrentPerProject: 1 } });
  replicas.upload('liferay-dl', sampleDocumentLibrary(30));
  createSampleDatabase(localPostgres, source, 50);
  prometheus = await startPrometheus(replicas.urls.map((u) => new URL(u).host), [rulesFile]);
});
after(async () => {
  await prometheus?.stop();
  await replicas?.close();
  dropDatabase(localPostgres, source);
});

/** Until the instant query returns at least one series, or `count` of them. */
const seen = (expr: string, count = 1) => prometheus.until(expr, async () => {
  const r = await prometheus.query(expr);
  return r.length >= count ? r : undefined;
});

describe('a real Prometheus scraping the hook during real backups', () => {
  it('scrapes both replicas and loads every alert rule', async () => {
    await seen('up{job="lc2-backup-hooks"} == 1', 2);
    const rules = await prometheus.until('the rules evaluated', async () => {
      const r = await prometheus.rules();
      return r.length > 0 && r.every((x) => x.health === 'ok') ? r : undefined;
    });
    // Every alert the rules file defines is loaded and healthy (counted from the file, so a new alert needs no edit here).
    const defined = (readFileSync(rulesFile, 'utf8').match(/^\s*- alert: /gm) ?? []).length;
    assert.ok(defined >= 8, `the rules file defines ${defined} alerts`);
    assert.equal(rules.length, defined);
  });

  it('shows the backup in flight and the queue, then the good backup; the forced failure fires LC2BackupFailed', async () => {
    const good = backupRequest('good', { database: postgresDump(source) });
    // As a schedule's child: the interval annotation counts only on a BackupRequest a BackupSchedule controls.
    good.metadata.annotations = { [INTERVAL_ANNOTATION]: String(24 * 3600) };
    good.metadata.ownerReferences = [{ apiVersion: API_VERSION, kind: 'BackupSchedule', name: 'daily', uid: 's-daily', controller: true }];
    const goodDriver = roundRobinDriver(replicas, good);
    for (let i = 0; i < 3; i += 1) await goodDriver.sync();
    await seen(`lc2_backups_in_flight{project="retail",environment="prd",phase="${goodDriver.phase}"} == 1`, 2);

    const waiting = roundRobinDriver(replicas, backupRequest('waiting', { database: postgresDump(source) }),
      () => ({ [`BackupRequest.${API_VERSION}`]: { [`proj-retail-prd/${good.metadata.name}`]: goodDriver.parent } }));
    for (let i = 0; i < 3; i += 1) await waiting.sync();
    assert.equal(waiting.phase, 'Queued');
    await seen('lc2_backup_queue_length{project="retail"} == 1');
    waiting.parent.metadata.deletionTimestamp = new Date().toISOString();
    await waiting.sync(true);

    assert.equal(await goodDriver.runToCompletion({ syncsPerStep: 3 }), 'Succeeded');
    await goodDriver.sync();
    await seen('lc2_backup_last_success_timestamp_seconds{project="retail",environment="prd"}', 2);

    const bad = roundRobinDriver(replicas, backupRequest('bad', { environment: 'uat', database: postgresDump(uniqueName('lc2_missing')) }));
    assert.equal(await bad.runToCompletion({ syncsPerStep: 3 }), 'Failed');
    await bad.sync();
    const firing = await prometheus.until('LC2BackupFailed firing for retail/uat', async () => {
      const alerts = await prometheus.alerts();
      return alerts.find((a) => a.labels.alertname === 'LC2BackupFailed' && a.state === 'firing' && a.labels.environment === 'uat');
    });
    assert.equal(firing.labels.project, 'retail');
    assert.equal(firing.labels.severity, 'warning');
    assert.match(firing.annotations.runbook_url ?? '', /docs\/runbooks\/LC2BackupFailed\.md$/);
    const alerts = await prometheus.alerts();
    assert.deepEqual(alerts.filter((a) => a.labels.environment === 'prd').map((a) => a.labels.alertname), [], 'prd succeeded within its schedule: nothing fires for it');
    assert.equal(alerts.filter((a) => a.labels.alertname === 'LC2BackupFailed').length, 1, 'one alert, not one per replica');
  });

  it('every query of the Grafana dashboard parses and returns series for the scraped hook', async () => {
    const vars = (expr: string) => expr.replaceAll('$project', 'retail').replaceAll('$environment', 'prd|uat');
    const targets = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: vars(t.expr) })));
    assert.ok(targets.length >= 13);
    for (const t of targets) {
      const series = await prometheus.queryRange(t.expr, started);
      assert.ok(series.length > 0, `"${t.panel}": ${t.expr} returned no series`);
    }
  });
});
