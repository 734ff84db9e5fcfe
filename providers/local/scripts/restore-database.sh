# Restore into a NEW database: verify the artifact's SHA-256 first (a full streaming read), refuse a
# target that already holds tables unless LC2_APPROVE_OVERWRITE=true, then restore in one pass.
db_client_env
started=$(now)
log "verifying sha256 of $LC2_ARTIFACT"
actual=$(rclone cat "store:$LC2_ARTIFACT" | sha256sum | cut -d' ' -f1)
[ "$actual" = "$LC2_EXPECTED_SHA256" ] || refuse ChecksumMismatch "artifact $LC2_ARTIFACT has sha256 $actual, the manifest says $LC2_EXPECTED_SHA256: not restoring a corrupt backup"
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
    rclone cat "store:$LC2_ARTIFACT" | zstd -q -d | pg_restore --no-owner --no-acl --exit-on-error --single-transaction "${clean[@]}" --dbname="$LC2_DB_NAME" ;;
  mysql)
    tool=$("$(mysql_bin)" --version)
    tables=$("$(mysql_bin)" "${mysql_args[@]}" -N -e "select count(*) from information_schema.tables where table_schema = '$LC2_DB_NAME'")
    if [ "$tables" != 0 ]; then
      [ "${LC2_APPROVE_OVERWRITE:-false}" = true ] || refuse TargetNotEmpty "database $LC2_DB_NAME on $LC2_DB_HOST already has $tables tables; restore into a new database or set spec.approveOverwrite: true"
    fi
    "$(mysql_bin)" "${mysql_args[@]}" -e "create database if not exists \`$LC2_DB_NAME\` character set utf8mb4"
    log "restoring into $LC2_DB_NAME"
    rclone cat "store:$LC2_ARTIFACT" | zstd -q -d | "$(mysql_bin)" "${mysql_args[@]}" --database="$LC2_DB_NAME" ;;
esac
put_result "{\"version\":1,\"step\":\"$LC2_STEP\",\"status\":\"succeeded\",\"startedAt\":\"$started\",\"completedAt\":\"$(now)\",\"sha256\":\"$actual\",\"tool\":$(jstr "$tool")}"
