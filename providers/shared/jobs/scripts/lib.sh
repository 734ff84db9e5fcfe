# Shared prelude of every LC2 Job script (prepended by providers/shared/jobs/build.ts).
# Storage is the rclone remote "store:", configured only through RCLONE_CONFIG_STORE_* env vars.
# Exit codes: 0 done; 3 refused or corrupt (the Job's podFailurePolicy fails it at once, no retry);
# anything else is an infrastructure error that the Job's backoffLimit retries.
set -Eeuo pipefail
export RCLONE_CONFIG=/dev/null
# The Pod's root filesystem is read-only: caches go to the /tmp emptyDir.
export HOME="${HOME:-/tmp}" XDG_CACHE_HOME="${TMPDIR:-/tmp}/.cache"
work=$(mktemp -d)
# Background helpers (a hasher waiting on its FIFO, a snapshot session) end with the script: a step
# that exits early must not leave one blocked, holding the Pod's output open.
# Exit 3 is a refusal only when refuse() said so (also in a subshell: its mark is a file): psql (any
# SQL error, e.g. a statement timeout) and rclone (directory not found) exit 3 too, and those must be
# retried, not fail the Job at once.
trap 'st=$?; kill $(jobs -p) 2>/dev/null || true; if [ "$st" = 3 ] && [ ! -e "$work/refused" ]; then st=1; fi; rm -rf "$work"; exit "$st"' EXIT
log() { printf '{"time":"%s","level":"info","step":"%s","msg":"%s"}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${LC2_STEP:-}" "$*" >&2; }
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
# JSON string of a tool's version line (quotes and backslashes dropped: it is only informative).
jstr() { printf '"%s"' "$(printf '%s' "$1" | tr -d '"\\\r\n' | cut -c1-200)"; }
put_result() { printf '%s' "$1" | rclone rcat "store:$LC2_RESULT"; }
# Refuse or fail for a reason the user must fix: record it for the hook, then exit 3.
refuse() {
  log "refused: $2"
  put_result "{\"version\":1,\"step\":\"$LC2_STEP\",\"status\":\"failed\",\"reason\":\"$1\",\"message\":$(jstr "$2")}"
  # Marked only once the hook can read why: a refusal whose result could not be written is retried.
  : >"$work/refused"
  exit 3
}
size_of() { rclone size --json "store:$1" | sed -n 's/.*"bytes":\([0-9]*\).*/\1/p'; }
count_of() { rclone size --json "store:$1" | sed -n 's/.*"count":\([0-9]*\).*/\1/p'; }
db_client_env() {
  case "$LC2_DB_ENGINE" in
    postgresql) export PGHOST="$LC2_DB_HOST" PGPORT="$LC2_DB_PORT" PGUSER="$LC2_DB_USER" PGPASSWORD="$LC2_DB_PASSWORD" ;;
    mysql) export MYSQL_PWD="$LC2_DB_PASSWORD"
           mysql_args=(--host="$LC2_DB_HOST" --port="$LC2_DB_PORT" --user="$LC2_DB_USER" --protocol=tcp) ;;
  esac
}
mysql_bin() { command -v mariadb || command -v mysql; }
mysqldump_bin() { command -v mariadb-dump || command -v mysqldump; }
# The document-library store keys the database's rows refer to ({companyId}/{dataRepositoryId}/{name}/
# {version}[~{storeUUID}], docs/liferay-store.md), one per DLFileVersion, as SQL for this engine;
# empty when the database has no Liferay document tables. Optional columns are used when present.
# Each key is flagged: "P <key>" for the production state (ctCollectionId = 0: what a recovery point
# must hold), "A <key>" for a row of an unpublished Publication (its file is referred to all the same:
# never an orphan). A database that cannot be asked exits (the Job retries): never mistaken for one
# without the tables.
refuse_unreadable() { refuse DatabaseAccessDenied "user $LC2_DB_USER may not read DLFileEntry and DLFileVersion in database $LC2_DB_NAME: grant SELECT on them (the document-library keys the rows refer to are read from there)"; }
expected_keys_sql() {
  local n
  case "$LC2_DB_ENGINE" in
    postgresql)
      # The catalog, not information_schema (which hides what the user may not read): tables the
      # user cannot read are a refusal that says so, never "no Liferay tables" and no check.
      has() { n=$(psql -X -At -d "$LC2_DB_NAME" -c "select count(*) from pg_attribute a join pg_class c on c.oid = a.attrelid where c.relnamespace = (select oid from pg_namespace where nspname = current_schema()) and c.relname = '$1' and a.attname = '$2' and not a.attisdropped") || exit 1; [ "$n" = 1 ]; }
      has dlfileversion fileentryid && has dlfileentry folderid || return 0
      n=$(psql -X -At -d "$LC2_DB_NAME" -c "select has_table_privilege(format('%I.dlfileversion', current_schema()), 'SELECT') and has_table_privilege(format('%I.dlfileentry', current_schema()), 'SELECT')") || exit 1
      [ "$n" = t ] || refuse_unreadable
      local uuid="" flag="'P '"
      ! has dlfileversion storeuuid || uuid=" || CASE WHEN fv.storeUUID IS NULL OR btrim(fv.storeUUID) IN ('', 'null') THEN '' ELSE '~' || fv.storeUUID END"
      ! has dlfileversion ctcollectionid || flag="CASE WHEN fv.ctCollectionId = 0 AND fe.ctCollectionId = 0 THEN 'P ' ELSE 'A ' END"
      printf '%s' "SELECT $flag || fe.companyId::text || '/' || (CASE WHEN fe.folderId <> 0 THEN fe.folderId ELSE fe.groupId END)::text || '/' || fe.name || '/' || fv.version$uuid FROM DLFileVersion fv JOIN DLFileEntry fe ON fe.fileEntryId = fv.fileEntryId" ;;
    mysql)
      has() { n=$("$(mysql_bin)" "${mysql_args[@]}" -N -e "select count(*) from information_schema.columns where table_schema = '$LC2_DB_NAME' and table_name = '$1' and column_name = '$2'") || exit 1; [ "$n" = 1 ]; }
      # information_schema hides tables the user may not read: ask the tables themselves, so that
      # "may not read" is a refusal that says so and only "no such table" means no Liferay tables.
      local probe
      if ! probe=$("$(mysql_bin)" "${mysql_args[@]}" -N --database="$LC2_DB_NAME" -e "SELECT 1 FROM DLFileVersion LIMIT 0; SELECT 1 FROM DLFileEntry LIMIT 0" 2>&1); then
        case "$probe" in
          *"ERROR 1146"*) return 0 ;;
          *"ERROR 1142"*|*"ERROR 1044"*) refuse_unreadable ;;
          *) printf '%s\n' "$probe" >&2; exit 1 ;;
        esac
      fi
      has DLFileVersion fileEntryId && has DLFileEntry folderId || return 0
      local uuid="''" flag="'P '"
      ! has DLFileVersion storeUUID || uuid="CASE WHEN fv.storeUUID IS NULL OR TRIM(fv.storeUUID) IN ('', 'null') THEN '' ELSE CONCAT('~', fv.storeUUID) END"
      ! has DLFileVersion ctCollectionId || flag="CASE WHEN fv.ctCollectionId = 0 AND fe.ctCollectionId = 0 THEN 'P ' ELSE 'A ' END"
      printf '%s' "SELECT CONCAT($flag, fe.companyId, '/', CASE WHEN fe.folderId <> 0 THEN fe.folderId ELSE fe.groupId END, '/', fe.name, '/', fv.version, $uuid) FROM DLFileVersion fv JOIN DLFileEntry fe ON fe.fileEntryId = fv.fileEntryId" ;;
  esac
}
# The keys of $keys_sql (expected_keys_sql) in ONE consistent read, into $work/expected.zst; with a
# PostgreSQL snapshot ID ($1, from pg_export_snapshot) exactly that state. Sets $expected: the
# production keys ("A" lines are unpublished Publications' files: referred to, not required).
read_expected_keys() {
  case "$LC2_DB_ENGINE" in
    postgresql)
      # A lock held on the document tables (DDL) fails the read after 2 minutes (retried), never hangs the Job.
      { printf 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n'; [ -z "${1:-}" ] || printf 'SET TRANSACTION SNAPSHOT %s;\n' "'$1'"
        printf "SET LOCAL lock_timeout = '2min';\n%s;\nCOMMIT;\n" "$keys_sql"; } \
        | psql -X -q -At -v ON_ERROR_STOP=1 -v FETCH_COUNT=10000 -d "$LC2_DB_NAME" | zsort | zout "$work/expected.zst" ;;
    mysql)
      "$(mysql_bin)" "${mysql_args[@]}" -N -B --quick --database="$LC2_DB_NAME" -e "SET SESSION lock_wait_timeout = 120; START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY; $keys_sql; COMMIT;" \
        | zsort | zout "$work/expected.zst" ;;
  esac
  # Counted as the comparison (split_keys) counts them: distinct keys once the flag is gone.
  expected=$(zin "$work/expected.zst" | sed '/^A /d; s/^P //' | zsort | wc -l)
  log "$expected document-library keys referred to by the database"
}
# Key lists are kept sorted, unique and zstd-compressed (*.zst in $work): a library of tens of millions
# of files must fit the Job's 1 GiB /tmp and memory limit. sort's buffer is bounded and its temporary
# runs are compressed too (bench/consistency.ts measures the disk and time this takes).
zsort() { LC_ALL=C sort -u -S 128M -T "$work" --compress-program=zstd; }
zin() { zstd -q -d -c "$1"; }
zout() { zstd -q -f -o "$1"; }
# Count with a plain assignment (n=$(lines_of f)): a failure inside [ ] or printf arguments would not stop the Job.
lines_of() { zin "$1" | wc -l; }
# comm over two compressed sorted lists ($2, $3) into a compressed list ($4). Each side is
# decompressed into a FIFO by a process that is waited for: a list that cannot be read fails the Job
# (a process substitution's failure would not), never reads as empty, which would make every file an
# "orphan".
zcomm() {
  local a="$work/comm.a" b="$work/comm.b" pa pb
  rm -f "$a" "$b"; mkfifo "$a" "$b"
  zin "$2" >"$a" & pa=$!
  zin "$3" >"$b" & pb=$!
  LC_ALL=C comm "$1" "$a" "$b" | zout "$4"
  wait "$pa"; wait "$pb"
}
# Split a flagged key list (stdin) into expected.zst (production keys) and referenced.zst (every key a
# row refers to). A line without a flag is a production key (lists written before the flags).
split_keys() {
  zsort | zout "$work/keys.zst"
  zin "$work/keys.zst" | sed '/^A /d; s/^P //' | zsort | zout "$work/expected.zst"
  zin "$work/keys.zst" | sed 's/^[PA] //' | zsort | zout "$work/referenced.zst"
  rm -f "$work/keys.zst"
}
# A DR drill's mark on its scratch database (docs/recovery-points.md): the database's comment, which
# the drill's own restore Job set when it created it; "absent" when there is no such database.
drill_mark_of() {
  local out
  case "$LC2_DB_ENGINE" in
    postgresql) out=$(psql -X -d postgres -At -c "select 'db:' || coalesce(shobj_description(oid, 'pg_database'), '') from pg_database where datname = '$LC2_DB_NAME'") || exit 1 ;;
    mysql) out=$("$(mysql_bin)" "${mysql_args[@]}" -N -e "select concat('db:', schema_comment) from information_schema.schemata where schema_name = '$LC2_DB_NAME'") || exit 1 ;;
  esac
  if [ -z "$out" ]; then echo absent; else printf '%s\n' "${out#db:}"; fi
}
# Where a PostgreSQL drill makes its database before marking it and renaming it into place (a name
# from its UID). The UID is readable in the target's comment on a shared server, so another role may
# have made a database of that name: only one the drill's own role owns is ever dropped.
drill_staging_name() { local id=${LC2_DRILL_MARKER#lc2-drill:}; id=${id//-/}; printf 'lc2_stage_%s' "${id:0:40}" | tr 'A-Z' 'a-z'; }
# The staging database's state: absent, own (this role owns it: left by a crashed attempt) or foreign.
drill_staging_state() {
  local out
  out=$(psql -X -d postgres -At -c "select case when datdba = (select oid from pg_roles where rolname = current_user) then 'own' else 'foreign' end from pg_database where datname = '$(drill_staging_name)'") || exit 1
  printf '%s\n' "${out:-absent}"
}
drop_database() {
  case "$LC2_DB_ENGINE" in
    postgresql) psql -X -d postgres -q -c "drop database if exists \"$LC2_DB_NAME\" with (force)" ;;
    mysql) "$(mysql_bin)" "${mysql_args[@]}" -e "drop database if exists \`$LC2_DB_NAME\`" ;;
  esac
}
# How many objects are under store:$1 (0 for a directory that does not exist); a store that cannot
# be listed exits 1, so an error is never read as "empty".
objects_under() {
  local out
  if out=$(rclone size --json "store:$1" 2>"$work/size.err"); then
    printf '%s\n' "$out" | sed -n 's/.*"count":\([0-9]*\).*/\1/p'
  elif grep -q 'directory not found' "$work/size.err"; then echo 0
  else cat "$work/size.err" >&2; exit 1
  fi
}
# The recovery point's consistency (docs/recovery-points.md): expected.zst and referenced.zst
# (split_keys) against the files under store:$1. Generated files (LC2_EXCLUDES) and the portal's own
# images (company 0, repository 0: Image rows, not documents) are left out. Leaves missing.zst (a
# production row without its file: the point is broken there) and orphans.zst (a file no row of
# any Publication refers to: harmless). A listing that fails exits (pipefail): never "all missing".
# Sets n_expected, n_present, n_missing and n_orphans.
compare_keys() {
  { printf '%s\n' "${LC2_EXCLUDES:-}"; printf '/0/0/**\n'; } | sed '/^$/d' >"$work/compare-excludes"
  rclone lsf -R --files-only --exclude-from "$work/compare-excludes" "store:$1" | zsort | zout "$work/present.zst"
  zcomm -23 "$work/expected.zst" "$work/present.zst" "$work/missing.zst"
  zcomm -13 "$work/referenced.zst" "$work/present.zst" "$work/orphans.zst"
  n_expected=$(lines_of "$work/expected.zst"); n_present=$(lines_of "$work/present.zst")
  n_missing=$(lines_of "$work/missing.zst"); n_orphans=$(lines_of "$work/orphans.zst")
  log "consistency: $n_missing referred-to files missing, $n_orphans orphans"
}
# The JSON members of that comparison, with bounded samples. Keys become JSON strings: quotes,
# backslashes and control characters (but the newline between keys) dropped; a sample only.
consistency_members() {
  sample() { { zin "$1" || true; } | head -n 20 | LC_ALL=C tr -d '"\\\000-\011\013-\037' | cut -c1-512 | sed 's/.*/"&"/' | paste -sd, -; }
  printf '"expected":%s,"missing":%s,"orphans":%s,"missingSample":[%s],"orphanSample":[%s]' \
    "$n_expected" "$n_missing" "$n_orphans" "$(sample "$work/missing.zst")" "$(sample "$work/orphans.zst")"
}
