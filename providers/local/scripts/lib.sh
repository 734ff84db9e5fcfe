# Shared prelude of every LC2 Job script (prepended by providers/local/jobs.ts).
# Storage is the rclone remote "store:", configured only through RCLONE_CONFIG_STORE_* env vars.
# Exit codes: 0 done; 3 refused or corrupt (the Job's podFailurePolicy fails it at once, no retry);
# anything else is an infrastructure error that the Job's backoffLimit retries.
set -Eeuo pipefail
export RCLONE_CONFIG=/dev/null
# The Pod's root filesystem is read-only: caches go to the /tmp emptyDir.
export HOME="${HOME:-/tmp}" XDG_CACHE_HOME="${TMPDIR:-/tmp}/.cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log() { printf '{"time":"%s","level":"info","step":"%s","msg":"%s"}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${LC2_STEP:-}" "$*" >&2; }
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
# JSON string of a tool's version line (quotes and backslashes dropped: it is only informative).
jstr() { printf '"%s"' "$(printf '%s' "$1" | tr -d '"\\\r\n' | cut -c1-200)"; }
put_result() { printf '%s' "$1" | rclone rcat "store:$LC2_RESULT"; }
# Refuse or fail for a reason the user must fix: record it for the hook, then exit 3.
refuse() {
  log "refused: $2"
  put_result "{\"version\":1,\"step\":\"$LC2_STEP\",\"status\":\"failed\",\"reason\":\"$1\",\"message\":$(jstr "$2")}"
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
