// What the demo prints at the end: the `kubectl get br,rr` table, the history rows the REST API
// serves, and a timeline of each resource's phases (one bar, each phase as long as it lasted).

/** Columns padded like kubectl's printer. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('   ').trimEnd()).join('\n');
}

export interface PhaseMark { phase: string; at: number }

/** `name |==Pending==|====TransferInProgress====|=Succeeded` scaled to `width` characters, plus the total time. */
export function timeline(name: string, marks: readonly PhaseMark[], width = 60): string {
  if (marks.length < 2) return `${name}  ${marks[0]?.phase ?? ''}`;
  const start = marks[0]!.at;
  const total = Math.max(1, marks.at(-1)!.at - start);
  let bar = '';
  for (let i = 0; i < marks.length - 1; i += 1) {
    const cells = Math.max(1, Math.round(((marks[i + 1]!.at - marks[i]!.at) / total) * width));
    bar += `|${marks[i]!.phase.slice(0, cells - 1).padEnd(cells - 1, '=')}`;
  }
  return `${name}  ${bar}|${marks.at(-1)!.phase}  (${((marks.at(-1)!.at - start) / 1000).toFixed(1)} s)`;
}
