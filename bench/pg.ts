// The machine's PostgreSQL for benchmarks: psql for bulk loads (the hook's pool has a 5 s
// statement timeout, on purpose), and a fresh migrated archive database.
import { execFileSync } from 'node:child_process';
import { connect, type Sql } from '../hooks/archive/db.ts';
import { Archive } from '../hooks/archive/store.ts';

export const psql = (db: string, sqlText: string): Buffer => execFileSync('psql', ['-X', '-q', '-h', '127.0.0.1', '-U', 'postgres', '-d', db, '-c', sqlText], { env: { ...process.env, PGOPTIONS: '-c client_min_messages=warning' } });

/** Drops and creates `db`, connects, and runs the archive's migrations. */
export async function freshArchive(db: string): Promise<{ sql: Sql; archive: Archive; drop(): void }> {
  psql('postgres', `drop database if exists ${db} with (force)`);
  psql('postgres', `create database ${db}`);
  const sql = await connect(`postgres://postgres@127.0.0.1:5432/${db}`);
  const archive = new Archive(sql);
  await archive.count(); // migrations
  return { sql, archive, drop: () => { psql('postgres', `drop database if exists ${db} with (force)`); } };
}
