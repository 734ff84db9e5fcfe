// The archive's SQL connection: PostgreSQL through `pg`, or, with no database URL configured, an
// embedded PGlite in a local data directory (single-machine setups need no server).
export interface Sql {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** Runs `fn` on one connection (session state: transactions, advisory locks). */
  session<T>(fn: (sql: Pick<Sql, 'query'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * PostgreSQL refuses NUL in text (and jsonb): one in a name, message or initiator a tenant wrote
 * would fail its row's every write, for ever. Stored as U+FFFD instead.
 */
export const noNul = (v: string) => (v.includes('\u0000') ? v.replace(/\u0000/g, '\uFFFD') : v);
const clean = (params: unknown[]) => params.map((p) => (typeof p === 'string' ? noNul(p) : p));
/** JSON for a jsonb parameter, NUL-free. */
export const jsonParam = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'string' ? noNul(x) : x));

export async function connect(url: string | undefined, dataDir = '.lc2-archive'): Promise<Sql> {
  if (url) {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 3000, statement_timeout: 5000 });
    // An idle-client error (server restart) must not crash the hook server; the next query reconnects.
    pool.on('error', () => undefined);
    return {
      query: async <R>(text: string, params: unknown[] = []) => (await pool.query(text, clean(params))).rows as R[],
      session: async (fn) => {
        const client = await pool.connect();
        try { return await fn({ query: async <R>(text: string, params: unknown[] = []) => (await client.query(text, clean(params))).rows as R[] }); } finally { client.release(); }
      },
      close: () => pool.end(),
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite(dataDir);
  const query = async <R>(text: string, params: unknown[] = []) => (params.length ? (await db.query<R>(text, clean(params))).rows : ((await db.exec(text)).at(-1)?.rows ?? []) as R[]);
  return { query, session: (fn) => fn({ query }), close: () => db.close() };
}
