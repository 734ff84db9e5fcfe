# Restore into a NEW database: unwrap an encrypted dump's data key, verify the artifact's SHA-256 (a full
# streaming read of the stored bytes; decryption then authenticates every chunk), refuse a
# target that already holds tables unless LC2_APPROVE_OVERWRITE=true, then restore in one pass.
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
  local reader=$1 dec=$2
  shift 2
  [ "$reader" = 0 ] || exit 1
  if [ "$dec" != 0 ] && grep -q 'failed to decrypt and authenticate' "$work/age.err" 2>/dev/null; then
    refuse DecryptionFailed "the dump does not decrypt: a chunk failed authentication (changed after it was written); PostgreSQL rolled back, a MySQL target may hold part of it"
  fi
  for code in "$dec" "$@"; do [ "$code" = 0 ] || exit 1; done
}
log "verifying sha256 of $LC2_ARTIFACT"
actual=$(rclone cat "store:$LC2_ARTIFACT" | sha256sum | cut -d' ' -f1)
[ "$actual" = "$LC2_EXPECTED_SHA256" ] || refuse ChecksumMismatch "artifact $LC2_ARTIFACT has sha256 $actual, the manifest says $LC2_EXPECTED_SHA256: not restoring a corrupt backup"
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
    rclone cat "store:$LC2_ARTIFACT" | decrypt | zstd -q -d | pg_restore --no-owner --no-acl --exit-on-error --single-transaction "${clean[@]}" --dbname="$LC2_DB_NAME"
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
    rclone cat "store:$LC2_ARTIFACT" | decrypt | zstd -q -d | "$(mysql_bin)" "${mysql_args[@]}" --database="$LC2_DB_NAME"
    restore_outcome "${PIPESTATUS[@]}"
    set -e ;;
esac
put_result "{\"version\":1,\"step\":\"$LC2_STEP\",\"status\":\"succeeded\",\"startedAt\":\"$started\",\"completedAt\":\"$(now)\",\"sha256\":\"$actual\",\"tool\":$(jstr "$tool")}"
