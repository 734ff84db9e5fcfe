// A DR drill's pure parts (docs/recovery-points.md, "DR drills"): which specs may be drills, what
// the cleanup may touch, the measured RTO, the verdict, and the outcome of the cleanup. The machine
// (machine.ts) runs the phases; nothing here does I/O.
import { createHash } from 'node:crypto';
import type { DrillCleanupResult, DrillStatus, OperationStatus, RestoreRequestSpec, RestoreRequestStatus } from '../../core/crd.ts';
import type { DrillScope, SpecProblem } from '../../core/provider.ts';

/**
 * A scheduled drill's scratch database: `lc2_drill_` and 20 hex digits (80 bits) of its
 * namespace/name and its schedule's UID. The namespace keeps two projects sharing a database server
 * apart whatever they name things; the UID, which only the schedule's own namespace can read, keeps
 * the name unknown to other tenants, so none can create it first (with its own credentials on the
 * shared server) to block the drill. On a server held to a `databases` list a scheduled drill may
 * use exactly this name of its own (tenancy.ts).
 */
export function drillDatabaseName(namespace: string, name: string, scheduleUid: string): string {
  return `lc2_drill_${createHash('sha256').update(`${namespace}/${name}/${scheduleUid}`).digest('hex').slice(0, 20)}`;
}

/** Refusals a drill's spec gets before anything starts. */
export function drillProblems(spec: RestoreRequestSpec, canCleanUp: boolean): SpecProblem[] {
  if (!spec.drill) return [];
  return [
    ...(spec.approveOverwrite ? [{ field: 'spec.approveOverwrite', message: 'a drill never writes into something that exists: drop approveOverwrite, or make this a restore (drill: false)' }] : []),
    ...(!canCleanUp ? [{ field: 'spec.provider', message: `drills need a provider that removes its scratch targets afterwards (local, aws); ${spec.provider} does not yet` }] : []),
  ];
}

// A step refused because its target was there before: the drill created nothing there.
const TARGET_TAKEN = new Set(['TargetNotEmpty', 'TargetExists']);

/**
 * What the drill's own steps may have created, so the only things its cleanup may remove: a target
 * whose step started and did not refuse it as already taken. The cleanup Job checks the database's
 * marker besides; the prefix has none, so this is what keeps someone else's files safe.
 */
export function drillScope(status: RestoreRequestStatus): DrillScope {
  const ops = status.operations ?? {};
  // The step's own reason (the drill's may be another failure's, e.g. a changed spec); older statuses have only the drill's.
  const taken = (op: OperationStatus | undefined) => op?.state === 'Failed' && (TARGET_TAKEN.has(op.reason ?? '') || (!op.reason && TARGET_TAKEN.has(status.drill?.reason ?? '')));
  const dl = ops.documentLibrary;
  return {
    database: !!ops.database && !taken(ops.database),
    prefix: !!dl && !taken(dl),
    prefixChecked: !!dl && !taken(dl) && (dl.state === 'Succeeded' || (dl.progress as { checked?: unknown } | undefined)?.checked === true),
    databaseCreated: ops.database?.state === 'Succeeded',
  };
}

/** The RTO: from the database step's recorded start to the document-library step's recorded end, in whole seconds. */
export function drillRto(status: RestoreRequestStatus): number | undefined {
  const db = status.operations?.database;
  const dl = status.operations?.documentLibrary;
  if (db?.state !== 'Succeeded' || dl?.state !== 'Succeeded' || !db.startTime || !dl.completionTime) return undefined;
  const ms = Date.parse(dl.completionTime) - Date.parse(db.startTime);
  return Number.isFinite(ms) ? Math.max(0, Math.round(ms / 1000)) : undefined;
}

/** After both steps succeeded: Passed unless a file the restored rows refer to is missing. */
export function drillVerdict(status: RestoreRequestStatus): DrillStatus {
  const rto = drillRto(status);
  const c = status.documentLibrary?.consistency;
  const base = { ...(rto !== undefined ? { rtoSeconds: rto } : {}), cleanup: 'Pending' as const };
  if (c && c.missing > 0) {
    const sample = c.missingSample.slice(0, 5).join(', ');
    return { ...base, verdict: 'Failed', reason: 'MissingFiles', message: `${c.missing} of ${c.expected} files the restored database refers to are missing from the restored document library${sample ? ` (e.g. ${sample})` : ''}` };
  }
  const checked = c ? `all ${c.expected} referenced files present` : 'no consistency check (no Liferay document tables, or a provider without the restore-side check)';
  return { ...base, verdict: 'Passed', message: `restored in ${rto ?? '?'}s; ${checked}` };
}

/** A drill that failed at `reason`: the verdict, before the cleanup. */
export const failedDrill = (reason: string, message: string, rtoSeconds?: number): DrillStatus =>
  ({ ...(rtoSeconds !== undefined ? { rtoSeconds } : {}), verdict: 'Failed', reason, message, cleanup: 'Pending' });

/** The cleanup's outcome from its Job's result (or its failure), for status.drill. */
export function cleanupOutcome(
  result: DrillCleanupResult | { failed: string }, spec: RestoreRequestSpec, scope: DrillScope,
): { cleanup: 'Done' | 'Failed'; message: string } {
  const db = `database ${spec.database.databaseName} on ${spec.database.instanceId}`;
  const prefix = `${spec.documentLibrary.destinationBucket}/${spec.documentLibrary.destinationPrefix.replace(/\/+$/, '')}/`;
  if ('failed' in result) {
    const left = [scope.database ? `${db} (if it carries this drill's marker)` : '', scope.prefix ? prefix : ''].filter(Boolean).join(' and ');
    return { cleanup: 'Failed', message: `cleanup failed: ${result.failed}${left ? `; may be left: ${left}` : ''}` };
  }
  const parts: string[] = [];
  if (result.database === 'dropped') parts.push(`dropped ${db}`);
  if (result.database === 'absent') parts.push(`${db} was not there`);
  if (result.database === 'refused') parts.push(`refused to drop ${db}: it carries no marker of this drill, so it was not created by it; left in place`);
  if (result.database === 'skipped') parts.push(`${db} not touched (this drill did not create it)`);
  parts.push(result.prefix === 'deleted' ? `deleted ${result.objectCount} objects under ${prefix}` : `${prefix} not touched (this drill did not write it)`);
  return { cleanup: result.database === 'refused' ? 'Failed' : 'Done', message: parts.join('; ') };
}

/** The drill's terminal phase and Ready reason: Succeeded only when it passed and left nothing behind. */
export function drillEnd(drill: DrillStatus): { phase: 'Succeeded' | 'Failed'; reason: string; message: string } {
  const text = `drill ${drill.verdict === 'Passed' ? 'passed' : 'failed'}: ${drill.message ?? ''}; ${drill.cleanupMessage ?? ''}`;
  if (drill.verdict === 'Passed' && drill.cleanup === 'Done') return { phase: 'Succeeded', reason: 'DrillPassed', message: text };
  return { phase: 'Failed', reason: drill.verdict === 'Failed' ? drill.reason ?? 'DrillFailed' : 'CleanupFailed', message: text };
}
