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
