# Copy the document library with the Liferay exclusions. Source and destination are the same rclone
# remote, so on S3 every object is a server-side copy; rclone verifies size and hash of each one.
started=$(now)
printf '%s\n' "${LC2_EXCLUDES:-}" | sed '/^$/d' >"$work/excludes"
log "copying $LC2_DL_SOURCE to $LC2_DL_DEST ($(wc -l <"$work/excludes") exclude patterns)"
rclone copy "store:$LC2_DL_SOURCE" "store:$LC2_DL_DEST" --exclude-from "$work/excludes" \
  --transfers "${LC2_TRANSFERS:-32}" --checkers "${LC2_CHECKERS:-32}" --stats 30s --stats-log-level NOTICE --stats-one-line
count=$(count_of "$LC2_DL_DEST"); bytes=$(size_of "$LC2_DL_DEST")
log "copied $count objects, $bytes bytes"
put_result "{\"version\":1,\"step\":\"$LC2_STEP\",\"status\":\"succeeded\",\"startedAt\":\"$started\",\"completedAt\":\"$(now)\",\"objectCount\":${count:-0},\"totalBytes\":${bytes:-0},\"tool\":$(jstr "$(rclone version | head -n1)")}"
