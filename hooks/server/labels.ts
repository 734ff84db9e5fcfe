// Metric label values are bounded: a crafted spec or history row never creates a new time series.
const PROVIDERS = new Set(['local', 'aws', 'gcp', 'azure']);
export const providerLabel = (p: unknown): string => (typeof p === 'string' && PROVIDERS.has(p) ? p : 'other');
export const reasonLabel = (r: unknown): string => (typeof r === 'string' && /^[A-Za-z]{1,48}$/.test(r) ? r : 'Other');
