// The account's manual-snapshot quota (RDS default: 100 per region), shared by every project whose
// backups run in that account: reported before a backup fails with SnapshotQuotaExceeded.
import { DescribeAccountAttributesCommand, DescribeDBSnapshotsCommand, type RDSClient } from '@aws-sdk/client-rds';

export interface Quota { used: number; max: number }

/** RDS's own figures when it answers DescribeAccountAttributes; else our count of manual snapshots against the configured quota. */
export async function manualSnapshotQuota(rds: RDSClient, fallbackMax: number, signal: () => AbortSignal): Promise<Quota> {
  try {
    const out = await rds.send(new DescribeAccountAttributesCommand({}), { abortSignal: signal() });
    const q = out.AccountQuotas?.find((a) => a.AccountQuotaName === 'ManualSnapshots');
    if (q && typeof q.Used === 'number' && typeof q.Max === 'number') return { used: q.Used, max: q.Max };
  } catch {
    // Not every RDS endpoint implements it (moto does not): count instead.
  }
  let used = 0;
  let marker: string | undefined;
  // A quota is hundreds to a few thousand: a handful of pages at most (bounded anyway).
  for (let page = 0; page < 50; page += 1) {
    const out = await rds.send(new DescribeDBSnapshotsCommand({ SnapshotType: 'manual', MaxRecords: 100, ...(marker ? { Marker: marker } : {}) }), { abortSignal: signal() });
    used += out.DBSnapshots?.length ?? 0;
    marker = out.Marker;
    if (!marker) break;
  }
  return { used, max: fallbackMax };
}
