// Encryption at rest of database dumps, end to end on real parts (docs/encryption.md): the hook
// server, a driver playing Metacontroller, each Job's real command (pg_dump / mariadb-dump, zstd,
// age, rclone) against the machine's PostgreSQL and MariaDB and a moto S3 server. The project's KEK
// is an age X25519 key: its public half in the BackupTenant, its identities in the namespace's Secret.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { armor, Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { MetacontrollerDriver } from './support/driver.ts';
import { TestEnv, uniqueName } from './support/env.ts';
import { backupRequest, restoreRequest } from './support/resources.ts';
import { createSampleDatabase, dropDatabase, localMariadb, localPostgres, sampleDocumentLibrary, sql, tableFingerprint, type DbTarget } from '../demo/sample.ts';
import { API_VERSION } from '../hooks/contract/objects.ts';
import { dataKeyIdOf, rekeyEnvironment, type RekeyRow } from '../cli/rekey.ts';
import { cli } from './support/cli.ts';
import { verifyBackup } from '../hooks/archive/verify.ts';
import type { BackupRequestStatus, BackupTenant, RestoreRequestStatus } from '../core/crd.ts';
import type { Manifest } from '../hooks/backup/manifest.ts';
import type { KubeObject } from '../core/kube.ts';

const env = new TestEnv();
const files = sampleDocumentLibrary(12);
const sha256 = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');
const dbs: Array<[DbTarget, string]> = [];
interface Kek { version: string; identity: string; recipient: string }
const kek = async (version: string): Promise<Kek> => {
  const identity = await generateX25519Identity();
  return { version, identity, recipient: await identityToRecipient(identity) };
};
let v1: Kek, v2: Kek, otherProject: Kek;

const tenant = (k: Kek): BackupTenant => ({
  apiVersion: API_VERSION, kind: 'BackupTenant', metadata: { name: 'retail' },
  spec: { namespaces: ['proj-retail-prd'], encryption: { keyVersion: k.version, recipient: k.recipient } },
});
const related = (t: BackupTenant) => () => ({ [`BackupTenant.${API_VERSION}`]: { retail: t } });

/** Shannon entropy in bits per byte. */
function entropy(b: Buffer): number {
  const counts = new Array<number>(256).fill(0);
  for (const x of b) counts[x]! += 1;
  return counts.reduce((h, c) => (c ? h - (c / b.length) * Math.log2(c / b.length) : h), 0);
}

async function open(wrapped: Buffer, identity: string): Promise<string> {
  const d = new Decrypter();
  d.addIdentity(identity);
  const text = wrapped.toString('utf8');
  const sealed = text.startsWith('-----BEGIN AGE') ? armor.decode(text) : new Uint8Array(wrapped);
  return (await d.decrypt(sealed, 'text')).split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
}

const exists = (target: DbTarget, name: string): boolean => (target.engine === 'postgresql'
  ? sql(target, 'postgres', `select count(*) from pg_database where datname = '${name}'`)
  : sql(target, '', `select count(*) from information_schema.schemata where schema_name = '${name}'`)) !== '0';
const tableCount = (target: DbTarget, name: string): number => Number(target.engine === 'postgresql'
  ? sql(target, name, "select count(*) from pg_tables where schemaname = 'public'")
  : sql(target, '', `select count(*) from information_schema.tables where table_schema = '${name}'`));

before(async () => {
  [v1, v2, otherProject] = await Promise.all([kek('v1'), kek('v2'), kek('v2')]);
  await env.start();
  for (const b of ['liferay-dl', 'lc2-backups', 'restored-dl']) await env.createBucket(b);
  await env.upload('liferay-dl', files);
});
after(async () => {
  await env.stop();
  for (const [t, n] of dbs) dropDatabase(t, n);
});

for (const target of [localPostgres, localMariadb]) {
  describe(`encrypted dumps, ${target.engine}`, () => {
    const source = uniqueName('lc2_enc_src');
    dbs.push([target, source]);
    const manifests: Manifest[] = [];
    const drivers: MetacontrollerDriver[] = [];
    const backupSecrets = () => env.secrets(target); // no KEK identity: a backup Job never needs one
    const keySecret = (...keys: Kek[]) => ({ ...env.secrets(target), 'lc2-encryption': Object.fromEntries(keys.map((k) => [k.version, `# created by lc2-backup tests\n${k.identity}\n`])) });
    const backup = async (name: string, k: Kek): Promise<{ driver: MetacontrollerDriver; manifest: Manifest }> => {
      const br = backupRequest(`${name}-${target.engine}`, {
        database: { engine: target.engine, type: 'dump', instanceId: `${target.host}:${target.port}`, databaseName: source, credentialsSecretRef: { name: 'db-credentials' } },
      });
      const driver = new MetacontrollerDriver(br, { hookUrl: env.hookUrl, syncPath: '/backuprequest/sync', secrets: backupSecrets(), related: related(tenant(k)) });
      assert.equal(await driver.runToCompletion(), 'Succeeded', JSON.stringify(driver.status));
      const status = driver.status as BackupRequestStatus;
      const manifest = JSON.parse((await env.read('lc2-backups', status.manifest!.key)).toString()) as Manifest;
      manifests.push(manifest);
      drivers.push(driver);
      return { driver, manifest };
    };
    /** A restore of the manifest at `m`'s place, or (`of`) of a BackupRequest by reference. */
    const restore = async (name: string, m: Manifest, secrets: Record<string, Record<string, string>>, databaseName = uniqueName('lc2_enc_dst'), of?: MetacontrollerDriver) => {
      dbs.push([target, databaseName]);
      const driver = new MetacontrollerDriver(restoreRequest(`${name}-${target.engine}`, {
        source: of ? { backupRef: { name: of.parent.metadata.name } } : { manifest: { bucket: 'lc2-backups', key: `${m.location.prefix}manifest.json` } },
        database: { instanceId: `${target.host}:${target.port}`, databaseName, credentialsSecretRef: { name: 'db-credentials' } },
        documentLibrary: { destinationBucket: 'restored-dl', destinationPrefix: `${uniqueName(target.engine)}/document_library` },
      }), { hookUrl: env.hookUrl, syncPath: '/restorerequest/sync', secrets, related: () => ({
        ...related(tenant(v2))(), ...(of ? { [`BackupRequest.${API_VERSION}`]: { [`proj-retail-prd/${of.parent.metadata.name}`]: of.parent } } : {}),
      }) });
      const phase = await driver.runToCompletion();
      const ready = (driver.status as RestoreRequestStatus).conditions?.find((c) => c.type === 'Ready');
      return { phase, reason: ready?.reason, message: ready?.message ?? '', databaseName, driver };
    };

    it('stores the dump encrypted for KEK v1: no plaintext, high entropy, only a wrapped data key beside it', async () => {
      createSampleDatabase(target, source, 300);
      const { driver, manifest } = await backup('enc-v1', v1);
      const status = driver.status as BackupRequestStatus;
      assert.deepEqual(status.encryption, { keyVersion: 'v1', recipient: v1.recipient }, 'the settings are frozen in status');
      const enc = manifest.database.encryption!;
      assert.equal(enc.keyVersion, 'v1');
      assert.equal(enc.keysPrefix, `${manifest.location.prefix}database.key.`);
      assert.match(manifest.database.format, /\+age$/);

      const artifact = await env.read('lc2-backups', manifest.database.artifact!);
      assert.equal(sha256(artifact), manifest.database.sha256, 'the recorded SHA-256 is of the stored ciphertext');
      assert.ok(artifact.subarray(0, 22).toString() === 'age-encryption.org/v1\n', 'an age file');
      const body = artifact.subarray(artifact.indexOf('\n---') + 48);
      for (const marker of ['PGDMP', 'CREATE TABLE', 'INSERT INTO', 'DLFileEntry']) assert.equal(artifact.includes(marker), false, `no ${marker} in the artifact`);
      assert.equal(artifact.includes(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), false, 'no zstd frame in the clear');
      assert.ok(entropy(body) > 7.9, `entropy ${entropy(body).toFixed(3)} bits/byte`);

      const wrapped = await env.read('lc2-backups', `${enc.keysPrefix}v1.age`);
      assert.equal(wrapped.includes('AGE-SECRET-KEY'), false, 'the data key is stored only wrapped');
      const dataKey = await open(wrapped, v1.identity);
      assert.equal(await dataKeyIdOf(dataKey), enc.dataKeyId, 'the KEK opens the data key the dump was encrypted for');
      await assert.rejects(open(wrapped, otherProject.identity), 'another key cannot open it');

      const jobs = JSON.stringify([...driver.children.values()]);
      assert.equal(/AGE-SECRET-KEY/i.test(jobs), false, 'no secret key in any Job spec');
      assert.ok(jobs.includes(v1.recipient), 'the dump Job gets the public KEK only');
      // Neither the data key nor its public half is recorded anywhere: whoever knew the public half could forge a dump.
      const dataRecipient = await identityToRecipient(dataKey);
      const result = (await env.read('lc2-backups', `${manifest.location.prefix}results/export.json`)).toString();
      for (const [what, text] of [['status', JSON.stringify(status)], ['manifest', JSON.stringify(manifest)], ['Jobs', jobs], ['result', result]]) {
        assert.ok(!text!.includes(dataKey) && !text!.includes(dataRecipient), `nothing of the data key in the ${what}`);
      }
    });

    it('after a rotation to v2, new backups are wrapped for v2; both restore with v1 and v2 in the Secret', async () => {
      const { manifest } = await backup('enc-v2', v2);
      assert.equal(manifest.database.encryption!.keyVersion, 'v2');
      for (const m of manifests) {
        const r = await restore(`both-${m.database.encryption!.keyVersion}`, m, keySecret(v1, v2));
        assert.equal(r.phase, 'Succeeded', r.message);
        assert.deepEqual(tableFingerprint(target, r.databaseName), tableFingerprint(target, source));
      }
    });

    it('a backup whose KEK version is gone fails with KeyUnavailable before anything is written', async () => {
      const r = await restore('v1-gone', manifests[0]!, keySecret(v2));
      assert.equal(r.phase, 'Failed');
      assert.equal(r.reason, 'KeyUnavailable');
      assert.match(r.message, /data key wrapped only for KEK v1; Secret lc2-encryption holds none of them: .*rekey \(docs\/encryption.md\)$/);
      assert.equal(exists(target, r.databaseName), false, 'no database was created');
      assert.equal(r.driver.jobRuns.length, 1, 'a refusal is not retried');
    });

    it("another project's key (same version name) is refused with KeyUnwrapFailed before anything is written", async () => {
      const r = await restore('wrong-project', manifests[1]!, keySecret(otherProject));
      assert.equal(r.phase, 'Failed');
      assert.equal(r.reason, 'KeyUnwrapFailed');
      assert.equal(exists(target, r.databaseName), false);
    });

    it('rekey to v2 rewraps v1 backups (artifacts untouched); with v1 retired and deleted, all still restore', async () => {
      const artifactsBefore = await Promise.all(manifests.map(async (m) => sha256(await env.read('lc2-backups', m.database.artifact!))));
      const prefix = `retail/prd/`;
      // A wrong --to-recipient (not v3's own key): the new wrapped key cannot be proven, nothing is retired.
      const wrong = await rekeyEnvironment(env.store, { bucket: 'lc2-backups', prefix, identities: [v1.identity, v2.identity], toVersion: 'v3', toRecipient: otherProject.recipient, retire: true });
      assert.ok(wrong.filter((r) => manifests.some((m) => m.backupId === r.backupId)).every((r) => r.outcome === 'failed' && r.retired.length === 0), JSON.stringify(wrong));
      // A planted wrapped "key" that opens with v1 to garbage, sorted first: skipped, the run goes on.
      const garbage = new Encrypter();
      garbage.addRecipient(v1.recipient);
      const keys0 = manifests[0]!.database.encryption!.keysPrefix;
      await env.s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: `${keys0}v0.age`, Body: await garbage.encrypt('AGE-SECRET-KEY-1GARBAGE\n') }));
      // Through the CLI, as an operator runs it (the identity file holds the Secret's values: the old and the new version).
      const idFile = join(mkdtempSync(join(tmpdir(), 'lc2-kek-')), 'keks.txt');
      writeFileSync(idFile, `# v1\n${v1.identity}\n# v2\n${v2.identity}\n`, { mode: 0o600 });
      const cliEnv = { LC2_STORAGE_URL: env.s3server.endpoint, AWS_ACCESS_KEY_ID: env.s3server.accessKeyId, AWS_SECRET_ACCESS_KEY: env.s3server.secretAccessKey, AWS_REGION: 'us-east-1', HOME: tmpdir() };
      const bad = await cli(['rekey', '--bucket', 'lc2-backups', '--project', 'retail', '--env', 'prd', '--identity-file', idFile, '--to-version', 'two', '--to-recipient', v2.recipient], { env: cliEnv });
      assert.equal(bad.code, 2, bad.stderr);
      const run = await cli(['rekey', '--bucket', 'lc2-backups', '--project', 'retail', '--env', 'prd', '--identity-file', idFile, '--to-version', 'v2', '--to-recipient', v2.recipient, '--retire', '-o', 'json'], { env: cliEnv });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.includes('AGE-SECRET-KEY'), false, 'no key in the output');
      const rows = JSON.parse(run.stdout) as RekeyRow[];
      const mine = rows.filter((r) => manifests.some((m) => m.backupId === r.backupId));
      assert.deepEqual(mine.map((r) => [r.outcome, r.retired]), [['rewrapped', ['v0', 'v1', 'v3']], ['already', ['v3']]]);
      assert.deepEqual(await env.keys('lc2-backups', keys0), [`${keys0}v2.age`], 'every other wrapped key deleted');
      const again = await rekeyEnvironment(env.store, { bucket: 'lc2-backups', prefix, identities: [v2.identity], toVersion: 'v2', toRecipient: v2.recipient, retire: true });
      assert.ok(again.filter((r) => manifests.some((m) => m.backupId === r.backupId)).every((r) => r.outcome === 'already'), 'a second rekey changes nothing');
      const artifactsAfter = await Promise.all(manifests.map(async (m) => sha256(await env.read('lc2-backups', m.database.artifact!))));
      assert.deepEqual(artifactsAfter, artifactsBefore, 'no artifact was rewritten');
      for (const m of manifests) {
        const r = await restore(`after-rekey-${m.database.encryption!.keyVersion}`, m, keySecret(v2));
        assert.equal(r.phase, 'Succeeded', r.message);
        assert.deepEqual(tableFingerprint(target, r.databaseName), tableFingerprint(target, source));
      }
    });

    it('a one-byte change is refused: by the SHA-256 check, and by authenticated decryption when the manifest is changed too', async () => {
      const m = manifests[1]!;
      const artifact = await env.read('lc2-backups', m.database.artifact!);
      const tampered = Buffer.from(artifact);
      tampered[Math.floor(tampered.length / 2)]! ^= 0x01;
      await env.s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: m.database.artifact!, Body: tampered }));
      const verified = await verifyBackup(env.store, 'lc2-backups', `${m.location.prefix}manifest.json`);
      assert.equal(verified.checks.find((c) => c.check === 'database sha256')?.ok, false);
      assert.equal(verified.checks.find((c) => c.check === 'wrapped data key')?.detail, 'for KEK v2');
      const bySha = await restore('tampered', m, keySecret(v2));
      assert.equal(bySha.reason, 'ChecksumMismatch');
      // PostgreSQL reads once: only the chunks before the changed one ran, and rolled back. MySQL (not
      // one transaction) hashes the dump whole before anything is created.
      if (target.engine === 'postgresql') assert.equal(tableCount(target, bySha.databaseName), 0, 'rolled back');
      else assert.equal(exists(target, bySha.databaseName), false, 'nothing created');
      // A writer who can change the artifact, its chunk list and its manifest: the cipher's authentication still refuses.
      const size = m.database.chunks!.bytes;
      const list = Array.from({ length: Math.ceil(tampered.length / size) }, (_, i) => `${sha256(tampered.subarray(i * size, (i + 1) * size))}\n`).join('');
      await env.s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: `${m.database.artifact!}.chunks`, Body: list }));
      const forged = { ...m, database: { ...m.database, sha256: sha256(tampered), chunks: { bytes: size, count: list.split('\n').length - 1, sha256: sha256(Buffer.from(list)) } } };
      await env.s3.send(new PutObjectCommand({ Bucket: 'lc2-backups', Key: `${m.location.prefix}manifest.json`, Body: JSON.stringify(forged) }));
      const byAead = await restore('forged', m, keySecret(v2));
      assert.equal(byAead.phase, 'Failed');
      assert.equal(byAead.reason, 'DecryptionFailed', byAead.message);
      if (target.engine === 'postgresql') assert.equal(tableCount(target, byAead.databaseName), 0, 'PostgreSQL rolled the restore back');
      // By reference, the forged manifest is compared with what the hook recorded in the backup's status first.
      const byRef = await restore('forged-ref', m, keySecret(v2), uniqueName('lc2_enc_dst'), drivers[1]);
      assert.equal(byRef.reason, 'ManifestUntrusted', byRef.message);
      assert.equal(byRef.driver.jobRuns.length, 0, 'no Job ran');
    });

    // A composite type where the dump creates a table: pg_restore stops mid-stream, so age's output breaks too.
    if (target.engine === 'postgresql') it('a restore that fails for another reason than the cipher is retried, never reported as tampering', async () => {
      const databaseName = uniqueName('lc2_enc_conflict');
      sql(target, 'postgres', `create database ${databaseName}`);
      sql(target, databaseName, 'create type dlfileentry as (x int)');
      const r = await restore('conflict', manifests[0]!, keySecret(v2), databaseName);
      assert.equal(r.phase, 'Failed');
      assert.equal(r.reason, 'JobBackoffLimitExceeded', r.message);
      assert.equal(r.driver.jobRuns.length, 2, 'retried up to backoffLimit');
    });

    // A dropped connection halfway through the dump: age's "failed to authenticate" for the cut
    // stream, or a chunk that ends early, must not be read as a forged or undecryptable dump.
    it('a read of the dump that breaks midway is retried, never reported as tampering or a bad key', async () => {
      const m = manifests[0]!;
      const dir = mkdtempSync(join(tmpdir(), 'lc2-rclone-shim-'));
      const real = execFileSync('bash', ['-c', 'command -v rclone'], { encoding: 'utf8' }).trim();
      const cut = Math.floor(m.database.sizeBytes! / 2);
      // The first `rclone cat` of the artifact stops after half of it and fails, as a dropped connection does.
      writeFileSync(join(dir, 'rclone'), `#!/bin/bash
if [ "$1" = cat ] && [[ "\${*: -1}" == *'${m.database.artifact!}' ]] && [ ! -e '${dir}/broke' ]; then
  : >'${dir}/broke'; '${real}' "$@" | head -c ${cut}; exit 1
fi
exec '${real}' "$@"
`, { mode: 0o755 });
      const path = process.env.PATH;
      process.env.PATH = `${dir}:${path}`;
      let r: Awaited<ReturnType<typeof restore>>;
      try { r = await restore('broken-read', m, keySecret(v2)); } finally { process.env.PATH = path; }
      assert.ok(existsSync(join(dir, 'broke')), 'a read was broken');
      const db = r.driver.jobRuns.filter((run) => run.job.includes('-rdb-'));
      assert.deepEqual(db.map((run) => run.exitCode), [1, 0], db.map((run) => run.stderr).join('\n'));
      assert.doesNotMatch(db[0]!.stderr, /refused|DecryptionFailed|ChecksumMismatch/);
      assert.equal(r.phase, 'Succeeded', r.message);
      assert.deepEqual(tableFingerprint(target, r.databaseName), tableFingerprint(target, source));
    });
  });
}

describe('a backup Job whose result claims another key version', () => {
  it('is not believed: the manifest records only what the hook asked for', async () => {
    // The result object is writable by the tenant's Job: a result without the encryption fields fails the backup.
    const { observeBackupStep } = await import('../providers/local/backup.ts');
    const location = { bucket: 'lc2-backups', prefix: 'retail/prd/forged-1/' };
    const spec = backupRequest('forged').spec!;
    const result = (extra: Record<string, string>) => env.s3.send(new PutObjectCommand({
      Bucket: 'lc2-backups', Key: `${location.prefix}results/export.json`,
      Body: JSON.stringify({ version: 1, step: 'export', status: 'succeeded', startedAt: '2026-11-29T00:00:00Z', completedAt: '2026-11-29T00:00:01Z', artifact: `${location.prefix}database.pgdump.zst`, sizeBytes: 10, sha256: 'a'.repeat(64), tool: 'pg_dump', ...extra }),
    }));
    const job: KubeObject = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'forged-db' }, status: { conditions: [{ type: 'Complete', status: 'True' }] } };
    const ctx = { name: 'forged', uid: 'u', spec, location, encryption: { keyVersion: 'v1', recipient: v1.recipient } };
    const message = async (c: typeof ctx | Omit<typeof ctx, 'encryption'>) => {
      const obs = await observeBackupStep('export', c, job, env.store);
      return obs.state === 'failed' ? obs.message : obs.state;
    };
    await result({});
    assert.match(await message(ctx), /does not report encryption for KEK v1/, 'no encryption reported');
    assert.equal(await message({ name: 'forged', uid: 'u', spec, location }), 'done', 'the same result is fine for a project without encryption');
    await result({ keyVersion: 'v2', dataKeyId: 'b'.repeat(64) });
    assert.match(await message(ctx), /does not report encryption for KEK v1/, 'another version');
    assert.match(await message({ name: 'forged', uid: 'u', spec, location }), /reports an encryption that was not asked for/);
    await result({ keyVersion: 'v1', dataKeyId: 'b'.repeat(64) });
    assert.match(await message(ctx), /wrapped data key retail\/prd\/forged-1\/database\.key\.v1\.age is missing/, 'the right version, but no wrapped key');
  });
});
