# The reindex phase's HTTP call (BackupTenant spec.reindex.http), made from the restore's namespace.
# Exit codes as every LC2 Job: 0 done; 3 refused (a 4xx answer: retrying cannot help; the Job's
# podFailurePolicy fails it at once); anything else (5xx, no answer) is retried by the Job.
set -Eeuo pipefail
log() { printf '{"time":"%s","level":"info","step":"reindex","msg":"%s"}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
headers=$(mktemp)
trap 'rm -f "$headers"' EXIT
# The credential goes to curl through a file, never on its command line (visible in the process list).
[ -z "${LC2_REINDEX_AUTHORIZATION:-}" ] || printf 'Authorization: %s\n' "$LC2_REINDEX_AUTHORIZATION" >"$headers"
printf 'Content-Type: application/json\n' >>"$headers"
body=()
[ "$LC2_REINDEX_METHOD" = GET ] || body=(--data-binary "${LC2_REINDEX_BODY:-}")
log "calling $LC2_REINDEX_METHOD $LC2_REINDEX_URL"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X "$LC2_REINDEX_METHOD" -H @"$headers" "${body[@]}" \
  --max-time "${LC2_REINDEX_TIMEOUT:-300}" --proto =http,https --max-redirs 0 "$LC2_REINDEX_URL") || { log "no answer"; exit 1; }
case "$code" in
  2??) log "answered $code" ;;
  4??) log "refused: answered $code"; exit 3 ;;
  *) log "answered $code; retrying"; exit 1 ;;
esac
