// A provider setting that is a whole number in a range, from the hook server's environment: a
// value out of range stops the server at start with what to set, never a silent default.
export function envInt(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer between ${min} and ${max}, got ${raw}`);
  return n;
}
