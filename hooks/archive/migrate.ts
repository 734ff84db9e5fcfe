// Versioned SQL migrations (migrations/NNN_name.sql), applied at start-up under a PostgreSQL
// advisory lock, so several hook replicas starting at once apply each migration exactly once.
import { readdirSync, readFileSync } from 'node:fs';
import type { Sql } from './db.ts';

const dir = new URL('./migrations/', import.meta.url);
const LOCK_ID = 7_240_001; // any constant shared by every replica

export function migrationFiles(): Array<{ version: number; name: string; sql: string }> {
  return readdirSync(dir).filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f)).sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f, sql: readFileSync(new URL(f, dir), 'utf8') }));
}

/** Applies pending migrations; returns the names applied by this call. */
export function migrate(db: Sql): Promise<string[]> {
  return db.session((sql) => migrateOn(sql));
}

async function migrateOn(sql: Pick<Sql, 'query'>): Promise<string[]> {
  const applied: string[] = [];
  await sql.query('select pg_advisory_lock($1)', [LOCK_ID]);
  try {
    await sql.query('create table if not exists schema_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())');
    const done = new Set((await sql.query<{ version: number }>('select version from schema_migrations')).map((r) => Number(r.version)));
    for (const m of migrationFiles()) {
      if (done.has(m.version)) continue;
      await sql.query('begin');
      try {
        await sql.query(m.sql);
        await sql.query('insert into schema_migrations (version, name) values ($1, $2)', [m.version, m.name]);
        await sql.query('commit');
      } catch (e) { await sql.query('rollback'); throw e; }
      applied.push(m.name);
    }
  } finally {
    await sql.query('select pg_advisory_unlock($1)', [LOCK_ID]);
  }
  return applied;
}
