// Rebuilding the history from the manifests in a bucket: the archive is a read model and can be
// lost. Idempotent (upserts by the UID each manifest records); reports what it found, skipped and
// could not parse.
import { ObjectTooLarge, type ObjectStore } from '../../core/provider.ts';
import { schemaErrors } from '../../core/validation/jsonSchemas.ts';
import { MAX_MANIFEST_BYTES, type Manifest } from '../backup/manifest.ts';
import { manifestRecord } from './records.ts';
import { manifestProblem } from '../backup/manifestTrust.ts';
import type { Archive } from './store.ts';

export interface RebuildReport { found: number; archived: number; skipped: number; unparseable: Array<{ key: string; problem: string }> }

export async function rebuildFromManifests(store: ObjectStore, bucket: string, prefix: string, archive: Archive): Promise<RebuildReport> {
  const report: RebuildReport = { found: 0, archived: 0, skipped: 0, unparseable: [] };
  let after: string | undefined;
  for (;;) {
    const page = await store.list(bucket, prefix, after, 1000);
    if (page.length === 0) return report;
    after = page[page.length - 1]!.key;
    for (const { key } of page) {
      if (!key.endsWith('/manifest.json')) { report.skipped += 1; continue; }
      report.found += 1;
      let body: Buffer | null;
      try { body = await store.get(bucket, key, MAX_MANIFEST_BYTES); } catch (e) {
        if (e instanceof ObjectTooLarge) { report.unparseable.push({ key, problem: 'larger than a manifest can be' }); continue; }
        throw e;
      }
      let manifest: unknown;
      try { manifest = JSON.parse(body?.toString('utf8') ?? ''); } catch { report.unparseable.push({ key, problem: 'not JSON' }); continue; }
      const errors = schemaErrors('manifest', manifest);
      if (errors.length > 0) { report.unparseable.push({ key, problem: `not a valid manifest: ${errors.slice(0, 3).join('; ')}` }); continue; }
      // A manifest-shaped object planted where no backup's manifest can be (e.g. inside a backup's
      // copied document library) never becomes a history row.
      const untrusted = manifestProblem({ bucket, key }, manifest as Manifest);
      if (untrusted) { report.unparseable.push({ key, problem: `not a backup's manifest: ${untrusted}` }); continue; }
      await archive.upsert(manifestRecord(manifest as Manifest, bucket, key));
      report.archived += 1;
    }
  }
}
