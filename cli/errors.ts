// The CLI's failures and their exit codes (docs/cli.md). Every message says what to do next; none
// carries a token, password or signed URL (the API server's own Status message is all we show).

/** Exit 2: the command line is wrong (unknown verb or flag, missing or bad value). */
export class Usage extends Error {}
/** Exit 1: what was asked for is not there, was refused, or finished Failed / did not verify. */
export class Failed extends Error {}
/** Exit 3: the API server, the archive or the storage could not be reached or refused the credentials. */
export class Unavailable extends Error {}
/** Exit 4: --wait gave up before the resource finished (it keeps running). */
export class TimedOut extends Error {}

export const EXIT = { ok: 0, failed: 1, usage: 2, unavailable: 3, timedOut: 4 } as const;

export function exitCodeOf(e: unknown): number {
  if (e instanceof Usage || (e as { code?: string } | null)?.code?.startsWith('ERR_PARSE_ARGS')) return EXIT.usage;
  if (e instanceof Failed) return EXIT.failed;
  if (e instanceof TimedOut) return EXIT.timedOut;
  return EXIT.unavailable;
}
