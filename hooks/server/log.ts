// One JSON object per line on stdout. Callers pass identifiers and outcomes only: never request
// bodies, Secrets, tokens or signed URLs.
type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold: Level = (process.env.LC2_LOG_LEVEL as Level | undefined) ?? 'info';
let sink: (line: string) => void = (line) => process.stdout.write(`${line}\n`);

export function configureLog(options: { level?: Level; sink?: (line: string) => void }): void {
  if (options.level) threshold = options.level;
  if (options.sink) sink = options.sink;
}

export function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  if (order[level] < order[threshold]) return;
  sink(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
}
