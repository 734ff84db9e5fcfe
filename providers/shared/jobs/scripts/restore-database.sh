# Restore into a NEW database: unwrap an encrypted dump's data key, verify the stored bytes, refuse
# a target that already holds tables unless LC2_APPROVE_OVERWRITE=true, then restore in one pass.
# A dump with a chunk list is read once: each chunk is checked against its recorded SHA-256 before
# any of it reaches the restore, and the last one only after the whole stream's SHA-256 matched (a
# byte that fails the recorded list never runs). One without (made before chunk lists), and any
# MySQL restore (not one transaction), is hashed whole first, then read again.
db_client_env
started=$(now)
decrypt() { cat; }
if [ -n "${LC2_KEYS_DIR:-}" ]; then
  # Encrypted (docs/encryption.md): unwrap the backup's data key with a KEK version this project's
  # Secret holds (envFrom, as LC2_KEK_<version>) before anything is read or written. Only a key that
  # is gone, or opens to another data key, refuses; a listing or read that fails is retried.
  data_key=""; versions=""; tried=""
  names=$(rclone lsf --files-only --max-depth 1 --include 'database.key.v*.age' "store:$LC2_KEYS_DIR")
  for wrapped in $names; do
    version=${wrapped#database.key.}; version=${version%.age}
    [[ "$version" =~ ^v[0-9]{1,6}$ ]] || continue
    versions="$versions $version"
    kek_var="LC2_KEK_$version"
    [ -n "${!kek_var:-}" ] || continue
    rclone cat "store:$LC2_KEYS_DIR$wrapped" | head -c 4096 >"$work/wrapped"
    tried="$tried $version"
    candidate=$(age -d -i <(printf '%s\n' "${!kek_var}") "$work/wrapped" 2>/dev/null) || continue
    # The right key, not only one that opens: its public half hashes to the recorded ID.
    [ "$(printf '%s\n' "$candidate" | age-keygen -y | tr -d '\n' | sha256sum | cut -d' ' -f1)" = "$LC2_DATA_KEY_ID" ] || continue
    data_key=$candidate
    break
  done
  unset candidate
  if [ -z "$data_key" ]; then
    [ -z "$tried" ] || refuse KeyUnwrapFailed "no KEK of Secret $LC2_KEY_SECRET opens this backup's data key (tried$tried): another project's key, or a changed wrapped key"
    refuse KeyUnavailable "data key wrapped only for KEK${versions:- (none found)}; Secret $LC2_KEY_SECRET holds none of them: put that version back into it, or rekey (docs/encryption.md)"
  fi
  decrypt() { age -d -i <(printf '%s\n' "$data_key") 2>"$work/age.err"; }
  log "data key unwrapped with KEK $version"
fi
# The restore stream's exit codes (rclone, decrypt, zstd, client): a chunk that fails authentication
# while the read itself succeeded is a refusal (retrying cannot help); anything else (the client
# stopped, the read broke) an infrastructure error for the Job's retries.
restore_outcome() {
  local reader=$1 dec=$2 client=${*: -1}
  shift 2
  # A read that broke is the reader's error, retried, whatever it made the stages after it say
  # (age reports a stream cut short as a chunk that fails authentication).
  [ ! -e "$work/read.broke" ] || exit 1
  # A chunk that did not match stopped the stream. Only chunks that matched the recorded list were
  # passed on. (A database this Job created is left, as after any failed restore: another restore
  # may have begun using the name since; dropping by name could take its data.)
  if [ -s "$work/chunk.refusal" ]; then
    local left="PostgreSQL rolled back"
    # The stream can end inside the chunks already passed on (a last chunk of only zstd's checksum).
    [ "$client" != 0 ] || left="the restore had already committed what matched the list"
    refuse ChecksumMismatch "$(cat "$work/chunk.refusal"): not restoring; $left"
  fi
  # Before the reader's status: a decryption that stopped closes the pipe the reader writes to.
  if [ "$dec" != 0 ] && grep -q 'failed to decrypt and authenticate' "$work/age.err" 2>/dev/null; then
    refuse DecryptionFailed "the dump does not decrypt: a chunk failed authentication (changed after it was written); PostgreSQL rolled back, a MySQL target may hold part of it"
  fi
  [ "$reader" = 0 ] || exit 1
  for code in "$dec" "$@"; do [ "$code" = 0 ] || exit 1; done
}
# The reader's own failure (not SIGPIPE: a later stage stopped reading) is recorded for restore_outcome.
read_failed() { [ "$1" = 0 ] || [ "$1" = 141 ] || : >"$work/read.broke"; }
# The stored bytes, passed on only chunk by chunk once each matched its line of the chunk list; a
# chunk is read whole into /tmp and hashed (and fed to the whole stream's SHA-256) while the one
# before is handed on. Only bytes that match the recorded list are ever passed on. Each chunk is
# held back until the next one matched, and the last one until the stream ended after exactly the
# listed chunks and the whole stream's SHA-256 is the recorded one (the records agree): a recorded
# dump that is cut short, extended or changed stops with a chunk of it never passed on, so the
# restore does not reach the archive's end (unless that last chunk is only zstd's checksum:
# restore_outcome then says what was committed). Why it stopped is recorded for restore_outcome.
verified_chunks() {
  local i=0 want got emitter="" list whole summer f
  exec {list}<"$work/chunks.list"
  mkfifo "$work/whole"
  sha256sum <"$work/whole" | cut -d' ' -f1 >"$work/whole.sha256" & summer=$!
  exec {whole}>"$work/whole"
  # Hand chunk $1 on, after the one before it (three files: the one read, the one held, the one sent).
  release() { [ -z "$emitter" ] || wait "$emitter" || return 1; cat "$work/chunk.$(($1 % 3))" & emitter=$!; }
  stop() { echo "$1" >"$work/chunk.refusal"; return 3; }
  while :; do
    f="$work/chunk.$(((i + 1) % 3))"
    # A chunk that cannot be written here (a full /tmp) is this Job's error, retried: never a verdict on the dump.
    head -c "$LC2_CHUNK_BYTES" >"$f" || return 1
    [ -s "$f" ] || break
    i=$((i + 1))
    read -r want <&"$list" || { stop "the artifact has more than the $LC2_CHUNK_COUNT chunks its list names"; return 3; }
    got=$(sha256sum <"$f" | cut -d' ' -f1) && [ -n "$got" ] || return 1
    [ "$got" = "$want" ] || { stop "chunk $i of the artifact differs from its list (sha256 ${got:0:12}..., listed ${want:0:12}...)"; return 3; }
    cat "$f" >&"$whole" || return 1
    [ "$i" = 1 ] || release $((i - 1)) || return 1
  done
  [ "$i" = "$LC2_CHUNK_COUNT" ] || { stop "the artifact ends after $i of its $LC2_CHUNK_COUNT chunks"; return 3; }
  exec {whole}>&-
  wait "$summer" || return 1
  got=$(cat "$work/whole.sha256")
  [ "$got" = "$LC2_EXPECTED_SHA256" ] || { stop "the artifact's sha256 is ${got:0:12}..., the manifest says ${LC2_EXPECTED_SHA256:0:12}... (every chunk matched its list)"; return 3; }
  release "$i" || return 1
  wait "$emitter" || return 1
}
# The whole dump's SHA-256 before any of it is used (a second read follows for the restore).
verify_whole() {
  log "verifying sha256 of $LC2_ARTIFACT"
  actual=$(rclone cat "store:$LC2_ARTIFACT" | sha256sum | cut -d' ' -f1)
  [ "$actual" = "$LC2_EXPECTED_SHA256" ] || refuse ChecksumMismatch "artifact $LC2_ARTIFACT has sha256 ${actual:0:12}..., the manifest says ${LC2_EXPECTED_SHA256:0:12}...: not restoring a corrupt backup"
}
if [ -n "${LC2_CHUNKS_SHA256:-}" ]; then
  # The manifest's numbers reach arithmetic and loops here: plain bounded integers only.
  [[ "$LC2_CHUNK_COUNT" =~ ^[1-9][0-9]{0,8}$ && "$LC2_CHUNK_BYTES" =~ ^[1-9][0-9]{0,9}$ ]] && [ "$LC2_CHUNK_BYTES" -le 268435456 ] \
    || refuse ChecksumMismatch "the manifest's chunk list has an invalid count ($LC2_CHUNK_COUNT) or size ($LC2_CHUNK_BYTES)"
  log "reading the chunk list of $LC2_ARTIFACT"
  # At most one byte more than the list's recorded length is read: a longer list is refused, not streamed.
  if ! rclone cat --count $((LC2_CHUNK_COUNT * 65 + 1)) "store:$LC2_CHUNK_LIST" >"$work/chunks.list" 2>"$work/list.err"; then
    grep -qi 'not found' "$work/list.err" && refuse ChecksumMismatch "the chunk list $LC2_CHUNK_LIST is missing: not restoring"
    cat "$work/list.err" >&2; exit 1
  fi
  listed=$(sha256sum <"$work/chunks.list" | cut -d' ' -f1)
  [ "$listed" = "$LC2_CHUNKS_SHA256" ] || refuse ChecksumMismatch "the chunk list $LC2_CHUNK_LIST has sha256 ${listed:0:12}..., the manifest says ${LC2_CHUNKS_SHA256:0:12}...: not restoring"
  # A read that broke (not one stopped by a bad chunk: SIGPIPE) is the reader's error, retried;
  # the short stream it left is no evidence against the dump.
  read_artifact() {
    rclone cat "store:$LC2_ARTIFACT" | verified_chunks
    local st=("${PIPESTATUS[@]}")
    read_failed "${st[0]}"
    if [ -e "$work/read.broke" ]; then rm -f "$work/chunk.refusal"; return 1; fi
    return "${st[1]}"
  }
else
  verify_whole
  read_artifact() { rclone cat "store:$LC2_ARTIFACT"; local st=$?; read_failed "$st"; return "$st"; }
fi
# A MySQL restore is not one transaction: its dump is known whole (its SHA-256 first) before
# anything is created or run, then read again through the chunk check.
[ "$LC2_DB_ENGINE" != mysql ] || [ -z "${LC2_CHUNKS_SHA256:-}" ] || verify_whole
# A DR drill restores only into a database it creates, and marks it (its cleanup drops nothing
# else): one that exists is refused, unless it carries this drill's own mark (an earlier attempt of
# this Job), which is dropped and made again. CREATE DATABASE cannot share a transaction with its
# COMMENT on PostgreSQL: the database is made under the drill's staging name, marked, then renamed
# into place, so the target name never holds an unmarked database of the drill's (a crash in
# between leaves the staging name, which the next attempt or the cleanup drops). MariaDB marks it in
# the same statement.
if [ -n "${LC2_DRILL_MARKER:-}" ]; then
  mark=$(drill_mark_of)
  if [ "$mark" = "$LC2_DRILL_MARKER" ]; then log "dropping this drill's database from an earlier attempt"; drop_database
  elif [ "$mark" != absent ]; then refuse TargetExists "database $LC2_DB_NAME on $LC2_DB_HOST already exists: a drill restores only into a database it creates"; fi
  case "$LC2_DB_ENGINE" in
    postgresql)
      staging=$(drill_staging_name)
      state=$(drill_staging_state)
      [ "$state" != foreign ] || refuse TargetExists "database $staging (this drill's staging name) exists and belongs to another role: not touched"
      [ "$state" != own ] || psql -X -d postgres -q -c "drop database \"$staging\" with (force)"
      createdb "$staging"
      # No other role may connect (a session would block the rename, and FORCE cannot end another role's).
      psql -X -d postgres -q -v ON_ERROR_STOP=1 -c "comment on database \"$staging\" is '$LC2_DRILL_MARKER'" -c "revoke connect, temporary on database \"$staging\" from public"
      psql -X -d postgres -q -c "alter database \"$staging\" rename to \"$LC2_DB_NAME\"" ;;
    mysql) "$(mysql_bin)" "${mysql_args[@]}" -e "create database \`$LC2_DB_NAME\` character set utf8mb4 comment '$LC2_DRILL_MARKER'" ;;
  esac
fi
case "$LC2_DB_ENGINE" in
  postgresql)
    tool=$(pg_restore --version)
    exists=$(psql -X -d postgres -At -c "select count(*) from pg_database where datname = '$LC2_DB_NAME'")
    tables=0
    [ "$exists" = 0 ] || tables=$(psql -X -d "$LC2_DB_NAME" -At -c "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r','p','v','m','S') and n.nspname not in ('pg_catalog','information_schema') and n.nspname not like 'pg_toast%'")
    clean=()
    if [ "$tables" != 0 ]; then
      [ "${LC2_APPROVE_OVERWRITE:-false}" = true ] || refuse TargetNotEmpty "database $LC2_DB_NAME on $LC2_DB_HOST already has $tables tables; restore into a new database or set spec.approveOverwrite: true"
      clean=(--clean --if-exists)
    fi
    [ "$exists" != 0 ] || createdb "$LC2_DB_NAME"
    log "restoring into $LC2_DB_NAME"
    set +e
    read_artifact | decrypt | zstd -q -d | pg_restore --no-owner --no-acl --exit-on-error --single-transaction "${clean[@]}" --dbname="$LC2_DB_NAME"
    restore_outcome "${PIPESTATUS[@]}"
    set -e ;;
  mysql)
    tool=$("$(mysql_bin)" --version)
    tables=$("$(mysql_bin)" "${mysql_args[@]}" -N -e "select count(*) from information_schema.tables where table_schema = '$LC2_DB_NAME'")
    if [ "$tables" != 0 ]; then
      [ "${LC2_APPROVE_OVERWRITE:-false}" = true ] || refuse TargetNotEmpty "database $LC2_DB_NAME on $LC2_DB_HOST already has $tables tables; restore into a new database or set spec.approveOverwrite: true"
    fi
    "$(mysql_bin)" "${mysql_args[@]}" -e "create database if not exists \`$LC2_DB_NAME\` character set utf8mb4"
    log "restoring into $LC2_DB_NAME"
    set +e
    read_artifact | decrypt | zstd -q -d | "$(mysql_bin)" "${mysql_args[@]}" --database="$LC2_DB_NAME"
    restore_outcome "${PIPESTATUS[@]}"
    set -e ;;
esac
# Read once: the SHA-256 verified_chunks took of the whole stream (checked equal to the manifest's).
[ -z "${LC2_CHUNKS_SHA256:-}" ] || actual=$(cat "$work/whole.sha256")
put_result "{\"version\":1,\"step\":\"$LC2_STEP\",\"status\":\"succeeded\",\"startedAt\":\"$started\",\"completedAt\":\"$(now)\",\"sha256\":\"$actual\",\"tool\":$(jstr "$tool")}"
