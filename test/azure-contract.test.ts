// The shared provider contract (test/support/providerContract.ts) for the Azure provider's database
// step: on-demand Flexible Server backups through the REAL @azure/arm-postgresql-flexible client
// against test/support/armFake.ts - a FAKE of ARM following the ARM async-operation docs and the
// Flexible Server REST API 2025-08-01 (no emulator exists).
import { describe, before, after } from 'node:test';
import { randomUUID } from 'node:crypto';
import { startArmFake, type ArmFake } from './support/armFake.ts';
import { providerContract, type ContractSubject } from './support/providerContract.ts';
import { armClient, flexibleServerApi, type FlexibleServerApi } from '../providers/azure/clients.ts';
import type { AzureProviderConfig } from '../providers/azure/config.ts';
import { backupRun, deleteBackup, readBackup, type BackupProgress, type BackupTarget } from '../providers/azure/flexibleServer.ts';
import { classify } from '../providers/azure/errors.ts';
import { operationId, serverResourceId } from '../providers/azure/ids.ts';

let arm: ArmFake;
let pg: FlexibleServerApi;
const signal = () => AbortSignal.timeout(5000);
const server = { resourceGroup: 'rg-contract', server: 'contract-pg' };

before(async () => {
  arm = await startArmFake();
  arm.addServer('rg-contract', 'contract-pg');
  arm.pollsToFinish = 1;
  pg = flexibleServerApi(armClient({ subscriptionId: arm.subscriptionId, armEndpoint: arm.endpoint } as AzureProviderConfig, { getToken: async () => null }), arm.endpoint);
});
after(async () => { await arm?.close(); });

function subject(): ContractSubject {
  let t: BackupTarget;
  let progress: BackupProgress = {};
  const backupKey = () => `rg-contract/contract-pg/${t.name}`;
  return {
    fresh: async () => {
      const name = operationId(randomUUID(), 's');
      t = { server, name, id: `${serverResourceId(arm.subscriptionId, server)}/backups/${name}`, project: 'retail' };
      progress = {};
    },
    startToDone: async () => {
      // Each start is a replay that lost what the one before recorded: only the name leads to the resource.
      progress = {};
      for (let i = 0; i < 10; i += 1) { const r = await backupRun(pg, t, progress, signal); progress = r.progress; if (r.done) return; }
      throw new Error('did not finish');
    },
    startOnce: async () => backupRun(pg, t, progress, signal).then(() => undefined, (e: unknown) => classify(e)),
    created: async () => arm.acceptedPaths.get(`PUT /subscriptions/${arm.subscriptionId}/resourceGroups/rg-contract/providers/Microsoft.DBforPostgreSQL/flexibleServers/contract-pg/backups/${t.name}`) ?? 0,
    plantForeign: async () => { arm.backups.set(backupKey(), { name: t.name, backupType: 'Full', completedTime: new Date().toISOString(), visible: true }); },
    throttle: (on) => { arm.faults.share = on ? 1 : 0; },
    delete: () => deleteBackup(pg, t, signal),
    verify: async () => { const r = await readBackup(pg, t, signal()); return r.ok ? { ok: true } : { ok: false, retryable: r.retryable }; },
    removeExternally: async () => { arm.backups.delete(backupKey()); },
  };
}

describe('provider contract: azure (Flexible Server on-demand backups, ARM fake)', () => {
  providerContract(subject);
});
