// A sample Liferay environment: a database shaped like Liferay's DLFileEntry/DLFileVersion tables
// and a document_library/ tree with originals plus generated previews, thumbnails and adaptive-
// media renditions (which a backup must skip). Used by the demo, the tests and the benchmarks.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Engine } from '../core/crd.ts';

export const COMPANY_ID = 20097;
export const GROUP_ID = 20121;

export interface DbTarget { engine: Engine; host: string; port: number; user: string; password: string }

export const localPostgres: DbTarget = { engine: 'postgresql', host: '127.0.0.1', port: 5432, user: 'postgres', password: '' };
export const localMariadb: DbTarget = { engine: 'mysql', host: '127.0.0.1', port: 3306, user: 'root', password: '' };

/** Runs SQL with the engine's own CLI; returns trimmed stdout. */
export function sql(target: DbTarget, database: string, statement: string): string {
  if (target.engine === 'postgresql') {
    return execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-h', target.host, '-p', String(target.port), '-U', target.user, '-d', database, '-c', statement],
      { env: { ...process.env, PGPASSWORD: target.password, PGOPTIONS: '-c client_min_messages=warning' }, encoding: 'utf8', maxBuffer: 1 << 26 }).trim();
  }
  return execFileSync('mysql', ['-N', '-B', '--protocol=tcp', '-h', target.host, '-P', String(target.port), '-u', target.user, ...(database ? ['-D', database] : []), '-e', statement],
    { env: { ...process.env, MYSQL_PWD: target.password }, encoding: 'utf8', maxBuffer: 1 << 26 }).trim();
}

export function dropDatabase(target: DbTarget, name: string): void {
  if (target.engine === 'postgresql') sql(target, 'postgres', `drop database if exists "${name}" with (force)`);
  else sql(target, '', `drop database if exists \`${name}\``);
}

/** Creates `name` with DLFileEntry/DLFileVersion rows for `files` documents (server-side generated). */
export function createSampleDatabase(target: DbTarget, name: string, files: number, payloadBytes = 64, payload: 'repetitive' | 'varied' = 'repetitive'): void {
  dropDatabase(target, name);
  // 'varied' descriptions are hex digests (about 2:1 compressible, like real text), 'repetitive' ones compress to nothing.
  const blocks = Math.ceil(payloadBytes / 32);
  const pgDescription = payload === 'varied'
    ? Array.from({ length: blocks }, (_, k) => `md5((i * ${blocks} + ${k})::text)`).join(' || ')
    : `repeat(md5(i::text), ${blocks})`;
  if (target.engine === 'postgresql') {
    sql(target, 'postgres', `create database "${name}"`);
    sql(target, name, `
      create table DLFileEntry (fileEntryId bigint primary key, groupId bigint not null, companyId bigint not null,
        repositoryId bigint not null, folderId bigint not null, name varchar(255) not null, fileName varchar(255) not null,
        title varchar(255) not null, mimeType varchar(75) not null, size_ bigint not null, version varchar(75) not null,
        description text);
      create table DLFileVersion (fileVersionId bigint primary key, fileEntryId bigint not null references DLFileEntry,
        version varchar(75) not null, size_ bigint not null, checksum varchar(75), changeLog text);
      create index ix_dlfileversion_entry on DLFileVersion (fileEntryId);
      insert into DLFileEntry select i, ${GROUP_ID}, ${COMPANY_ID}, ${GROUP_ID}, 0, (30000 + i)::text, 'document-' || i || '.pdf',
        'Document ' || i, 'application/pdf', 1000 + i, '1.0', ${pgDescription}
        from generate_series(1, ${files}) i;
      insert into DLFileVersion select i, i, '1.0', 1000 + i, md5(i::text), 'initial upload' from generate_series(1, ${files}) i;`);
    return;
  }
  sql(target, '', `create database \`${name}\` character set utf8mb4`);
  sql(target, name, `
    create table DLFileEntry (fileEntryId bigint primary key, groupId bigint not null, companyId bigint not null,
      repositoryId bigint not null, folderId bigint not null, name varchar(255) not null, fileName varchar(255) not null,
      title varchar(255) not null, mimeType varchar(75) not null, size_ bigint not null, version varchar(75) not null,
      description longtext) engine=InnoDB;
    create table DLFileVersion (fileVersionId bigint primary key, fileEntryId bigint not null, version varchar(75) not null,
      size_ bigint not null, checksum varchar(75), changeLog longtext, key ix_entry (fileEntryId),
      constraint fk_entry foreign key (fileEntryId) references DLFileEntry (fileEntryId)) engine=InnoDB;
    set session max_recursive_iterations = 100000000;
    insert into DLFileEntry with recursive s(i) as (select 1 union all select i + 1 from s where i < ${files})
      select i, ${GROUP_ID}, ${COMPANY_ID}, ${GROUP_ID}, 0, cast(30000 + i as char), concat('document-', i, '.pdf'),
      concat('Document ', i), 'application/pdf', 1000 + i, '1.0', repeat(md5(i), ${Math.ceil(payloadBytes / 32)}) from s;
    insert into DLFileVersion select fileEntryId, fileEntryId, '1.0', size_, md5(fileEntryId), 'initial upload' from DLFileEntry;`);
}

/** Row counts and a content checksum per table: equal before and after a restore, or the restore lost data. */
export function tableFingerprint(target: DbTarget, database: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const table of ['DLFileEntry', 'DLFileVersion']) {
    const q = target.engine === 'postgresql'
      ? `select count(*) || ':' || coalesce(md5(string_agg(t::text, '|' order by 1)), '') from ${table} t`
      : `set session group_concat_max_len = 1073741824; select concat(count(*), ':', coalesce(md5(group_concat(concat_ws(',', ${table === 'DLFileEntry'
        ? 'fileEntryId, groupId, companyId, repositoryId, folderId, name, fileName, title, mimeType, size_, version, description'
        : 'fileVersionId, fileEntryId, version, size_, checksum, changeLog'}) order by 1 separator '|')), '')) from ${table}`;
    out[table] = sql(target, database, q);
  }
  return out;
}

export interface SampleFile { key: string; body: Buffer; generated: boolean }

function bytes(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let offset = 0; offset < size; offset += block.length) {
    block.copy(out, offset);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

/** document_library/{companyId}/{repositoryId}/{name}/{version} originals, plus generated files in repository 0. */
export function sampleDocumentLibrary(files: number, sizeOf: (i: number) => number = (i) => 200 + (i % 7) * 1000): SampleFile[] {
  const out: SampleFile[] = [];
  const root = `document_library/${COMPANY_ID}`;
  for (let i = 1; i <= files; i += 1) {
    const name = 30000 + i;
    out.push({ key: `${root}/${GROUP_ID}/${name}/1.0`, body: bytes(`original-${i}`, sizeOf(i)), generated: false });
    if (i % 2 === 0) out.push({ key: `${root}/0/document_preview/${GROUP_ID}/${name}/1.0/1.png`, body: bytes(`preview-${i}`, 300), generated: true });
    if (i % 3 === 0) out.push({ key: `${root}/0/document_thumbnail/${GROUP_ID}/${name}/1.0.jpg`, body: bytes(`thumb-${i}`, 100), generated: true });
    if (i % 5 === 0) out.push({ key: `${root}/0/adaptive/${GROUP_ID}/${name}/preview-1000x0.jpg`, body: bytes(`am-${i}`, 150), generated: true });
  }
  return out;
}
