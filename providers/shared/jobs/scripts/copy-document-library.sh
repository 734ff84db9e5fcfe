# Copy the document library with the Liferay exclusions. Source and destination are the same rclone
# remote, so on S3 every object is a server-side copy; rclone verifies size and hash of each one.
# Flags from bench/minio-copy.ts: --s3-no-check-bucket (the bucket exists; a project key may not
# list or create buckets); no --fast-list (it holds the whole listing in memory: a library of tens of
# millions of objects would not fit the Job) and no --s3-no-head (it skips the check of each copy).
started=$(now)
printf '%s\n' "${LC2_EXCLUDES:-}" | sed '/^$/d' >"$work/excludes"
log "copying $LC2_DL_SOURCE to $LC2_DL_DEST ($(wc -l <"$work/excludes") exclude patterns)"
rclone copy "store:$LC2_DL_SOURCE" "store:$LC2_DL_DEST" --exclude-from "$work/excludes" \
  --transfers "${LC2_TRANSFERS:-32}" --checkers "${LC2_CHECKERS:-32}" --s3-no-check-bucket --stats 30s --stats-log-level NOTICE --stats-one-line
count=$(count_of "$LC2_DL_DEST"); bytes=$(size_of "$LC2_DL_DEST")
log "copied $count objects, $bytes bytes"
# The recovery point's consistency (docs/recovery-points.md): the keys the dumped rows refer to
# (listed by the dump Job from the dump's own snapshot) against what the copy holds. Missing: a row
# without its file (the point is broken). Orphans: a file without a row (harmless). Bounded samples.
consistency=""
if [ -n "${LC2_EXPECTED_KEYS:-}" ] && [ -n "$(rclone lsf "store:$LC2_EXPECTED_KEYS" 2>/dev/null)" ]; then
  rclone cat "store:$LC2_EXPECTED_KEYS" | zstd -q -d | split_keys
  compare_keys "$LC2_DL_DEST"
  consistency=",\"consistency\":{$(consistency_members)}"
fi
put_result "{\"version\":1,\"step\":\"$LC2_STEP\",\"status\":\"succeeded\",\"startedAt\":\"$started\",\"completedAt\":\"$(now)\",\"objectCount\":${count:-0},\"totalBytes\":${bytes:-0},\"tool\":$(jstr "$(rclone version | head -n1)")$consistency}"
