// The archive: LC2_ARCHIVE_URL (PostgreSQL), else the PGlite directory LC2_ARCHIVE_DIR (default
// .lc2-archive), opened for one verb and closed after it.
import { connect } from '../hooks/archive/db.ts';
import { Archive } from '../hooks/archive/store.ts';
import type { Ctx } from './context.ts';

export async function withArchive<T>(ctx: Pick<Ctx, 'env'>, fn: (archive: Archive) => Promise<T>): Promise<T> {
  const sql = await connect(ctx.env.LC2_ARCHIVE_URL, ctx.env.LC2_ARCHIVE_DIR ?? '.lc2-archive');
  try { return await fn(new Archive(sql)); } finally { await sql.close(); }
}
