-- A recovery point's consistency (docs/recovery-points.md): of the document-library files the
-- dumped rows refer to, how many the copy lacks, and how many copied files no row refers to. Null
-- when the backup had no check (a cloud provider, a database without Liferay's document tables).
alter table backup_history add column if not exists dl_missing bigint;
alter table backup_history add column if not exists dl_orphans bigint;
