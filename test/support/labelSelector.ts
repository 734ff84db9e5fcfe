// A LabelSelector as the string the API server's list takes (what an informer's selector matches).
import type { LabelSelector } from '../../hooks/contract/types.ts';

export function selectorString(selector: LabelSelector | undefined): string {
  const labels = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  const expressions = (selector?.matchExpressions ?? []).map((e) => {
    switch (e.operator) {
      case 'Exists': return e.key;
      case 'DoesNotExist': return `!${e.key}`;
      case 'In': return `${e.key} in (${(e.values ?? []).join(',')})`;
      case 'NotIn': return `${e.key} notin (${(e.values ?? []).join(',')})`;
    }
  });
  return [...labels, ...expressions].join(',');
}

/** Whether an object's labels match a selector (as the API server's list would select it). */
export function matchesSelector(selector: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  if (!Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => l[k] === v)) return false;
  return (selector?.matchExpressions ?? []).every((e) => {
    switch (e.operator) {
      case 'Exists': return e.key in l;
      case 'DoesNotExist': return !(e.key in l);
      case 'In': return e.key in l && (e.values ?? []).includes(l[e.key]!);
      case 'NotIn': return !(e.key in l) || !(e.values ?? []).includes(l[e.key]!);
    }
  });
}
