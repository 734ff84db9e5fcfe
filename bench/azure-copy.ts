// The Azure provider's server-side document-library copy on Azurite against a plain
// @azure/storage-blob loop (list, then Copy Blob From URL with a SAS, 32 at a time, no conditions,
// no lease, no cursor) on the same library (LC2_BENCH_AZURE_FILES originals, 6,000 by default,
// plus ~47% generated files excluded by both). azcopy is not obtainable here (no npm install, not in
// Debian). Ours runs in the real hook server (its own process, driven through a BackupRequest as
// Metacontroller would; the on-demand backup on the ARM fake; RSS sampled). Azurite is one Node
// process: wall-clock ratios largely measure Azurite, so each client's own CPU per 1,000 objects is
// printed too. Goal: objects/s ratio >= 1.0 within noise, CPU close to the loop's; hook RSS flat < 150 MB.
import { spawn } from 'node:child_process';
import { BlobSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob';
import { freePort, stopProcess, waitForHttp } from '../test/support/processes.ts';
import { startAzurite, AZURITE_ACCOUNT, AZURITE_KEY } from '../test/support/azurite.ts';
import { startArmFake } from '../test/support/armFake.ts';
import { MetacontrollerDriver } from '../test/support/driver.ts';
import { backupRequest } from '../test/support/resources.ts';
import { sampleDocumentLibrary } from '../demo/sample.ts';
import { excluder } from '../core/glob.ts';
import { excludePatterns } from '../core/exclusions.ts';
import { cpuOf, imageNodeOptions, kib, seconds } from './measure.ts';

const FILES = Number(process.env.LC2_BENCH_AZURE_FILES ?? 6_000);

export async function benchAzureCopy(): Promise<Record<string, unknown>> {
  const azurite = await startAzurite();
  const arm = await startArmFake();
  arm.addServer('rg-bench', 'bench-pg');
  arm.pollsToFinish = 0;
  try {
    const container = (c: string) => azurite.service.getContainerClient(c);
    for (const c of ['liferay-dl', 'lc2-backups']) await container(c).create();
    const library = sampleDocumentLibrary(Math.round(FILES / 1.9), (i) => 2_000 + (i % 13) * 1_500);
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < library.length; i += 64) await Promise.all(library.slice(i, i + 64).map((f) => container('liferay-dl').getBlockBlobClient(f.key).upload(f.body, f.body.length)));
    const uploadSeconds = seconds(t0);
    const originals = library.filter((f) => !f.generated);

    // The plain loop first (it also warms Azurite up), in this process: its CPU is this process's.
    const key = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);
    const skip = excluder(excludePatterns(true, []));
    const cpuBefore = process.cpuUsage();
    t0 = process.hrtime.bigint();
    const names: string[] = [];
    for await (const b of container('liferay-dl').listBlobsFlat({ prefix: 'document_library/' })) if (!skip(b.name.slice('document_library/'.length))) names.push(b.name);
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < names.length) {
        const name = names[next++]!;
        const sas = generateBlobSASQueryParameters({ containerName: 'liferay-dl', blobName: name, permissions: BlobSASPermissions.parse('r'), expiresOn: new Date(Date.now() + 3_600_000) }, key).toString();
        await container('lc2-backups').getBlobClient(`loop/${name}`).syncCopyFromURL(`${container('liferay-dl').getBlobClient(name).url}?${sas}`);
      }
    }));
    const loopSeconds = seconds(t0);
    const used = process.cpuUsage(cpuBefore);
    const loopCpu = (used.user + used.system) / 1e6;

    // Ours: the hook server, a BackupRequest synced back to back (as Metacontroller does on resyncAfterSeconds: 1),
    // with the image's V8 options (what ships) and with V8's defaults.
    const runHook = async (name: string, nodeOptions: string) => {
      const port = await freePort();
      const hook = spawn(process.execPath, ['app/main.ts'], {
        env: {
          PATH: process.env.PATH, NODE_OPTIONS: nodeOptions, PORT: String(port), LC2_LOG_LEVEL: 'error', LC2_TENANCY: 'off', LC2_ARCHIVE: 'off',
          LC2_AZURE_SUBSCRIPTION_ID: arm.subscriptionId, LC2_AZURE_RESOURCE_GROUP: 'rg-bench', LC2_AZURE_STORAGE_ACCOUNT: AZURITE_ACCOUNT,
          LC2_AZURE_BLOB_URL_TEMPLATE: azurite.template, LC2_AZURE_STORAGE_ACCOUNT_KEY: AZURITE_KEY, LC2_AZURE_ARM_ENDPOINT: arm.endpoint, LC2_CHECKPOINT_KEY: 'bench-azure-checkpoint-key',
        },
        stdio: 'ignore',
      });
      await waitForHttp(`http://127.0.0.1:${port}/healthz`);
      const rssStart = kib(hook.pid!, 'VmRSS');
      const samples: number[] = [];
      const sampler = setInterval(() => samples.push(kib(hook.pid!, 'VmRSS')), 100);
      const driver = new MetacontrollerDriver(backupRequest(name, {
        provider: 'azure', database: { engine: 'postgresql', type: 'snapshot', instanceId: 'bench-pg' },
      }), { hookUrl: () => `http://127.0.0.1:${port}`, syncPath: '/backuprequest/sync', secrets: {} });
      const phase = () => driver.phase as string | undefined;
      for (let i = 0; phase() !== 'TransferInProgress'; i += 1) { if (i > 50 || phase() === 'Failed') throw new Error(JSON.stringify(driver.status)); await driver.sync(); }
      const cpu0 = cpuOf(hook.pid!);
      const start = process.hrtime.bigint();
      while ((driver.status as { operations?: { transfer?: { state: string } } }).operations?.transfer?.state === 'Running') await driver.sync();
      const wall = seconds(start);
      const cpu = cpuOf(hook.pid!) - cpu0;
      while (phase() !== 'Succeeded' && phase() !== 'Failed') await driver.sync();
      clearInterval(sampler);
      const rssPeak = kib(hook.pid!, 'VmHWM');
      await stopProcess(hook);
      return {
        nodeOptions, seconds: +wall.toFixed(1), objectsPerSecond: +(originals.length / wall).toFixed(1), cpuSecondsPer1000Objects: +(cpu / originals.length * 1000).toFixed(3),
        copied: (driver.status as { documentLibrary?: { objectCount: number } }).documentLibrary?.objectCount, phase: driver.phase, syncs: driver.syncs,
        rss: { startMiB: +(rssStart / 1024).toFixed(1), maxSampledMiB: +(Math.max(...samples) / 1024).toFixed(1), peakMiB: +(rssPeak / 1024).toFixed(1), samples: samples.length, goal: 'flat, < 150 MiB' },
      };
    };
    const shipped = await runHook('bench-azure-image', process.env.NODE_OPTIONS ?? imageNodeOptions());
    const v8Defaults = await runHook('bench-azure-defaults', '');

    return {
      data: { objects: library.length, originals: originals.length, copiedByLoop: names.length, uploadSeconds: +uploadSeconds.toFixed(1) },
      plainStorageBlobLoop: { seconds: +loopSeconds.toFixed(1), objectsPerSecond: +(originals.length / loopSeconds).toFixed(1), cpuSecondsPer1000Objects: +(loopCpu / originals.length * 1000).toFixed(3), nodeOptions: process.env.NODE_OPTIONS ?? '' },
      oursImageV8Options: shipped,
      oursV8Defaults: v8Defaults,
      ratios: { imageVsLoop: +(loopSeconds / shipped.seconds).toFixed(2), defaultsVsLoop: +(loopSeconds / v8Defaults.seconds).toFixed(2), goal: '>= 1.0 within noise (ours also checks conditions, keeps a lease and a cursor)' },
    };
  } finally {
    await arm.close();
    await azurite.stop();
  }
}

if (process.argv[1]?.endsWith('azure-copy.ts')) console.log(JSON.stringify(await benchAzureCopy(), null, 2));
