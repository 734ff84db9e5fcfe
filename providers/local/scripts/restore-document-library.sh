# Copy the backed-up document library into a NEW prefix; a non-empty target is refused unless
# LC2_APPROVE_OVERWRITE=true.
started=$(now)
if [ -n "$(rclone lsf --files-only -R "store:$LC2_DL_DEST" 2>/dev/null | head -n1)" ]; then
  [ "${LC2_APPROVE_OVERWRITE:-false}" = true ] || refuse TargetNotEmpty "store:$LC2_DL_DEST already holds files; restore into a new prefix or set spec.approveOverwrite: true"
fi
log "copying $LC2_DL_SOURCE to $LC2_DL_DEST"
rclone copy "store:$LC2_DL_SOURCE" "store:$LC2_DL_DEST" --transfers "${LC2_TRANSFERS:-32}" --checkers "${LC2_CHECKERS:-32}" --s3-no-check-bucket
count=$(count_of "$LC2_DL_DEST"); bytes=$(size_of "$LC2_DL_DEST")
put_result "{\"version\":1,\"step\":\"$LC2_STEP\",\"status\":\"succeeded\",\"startedAt\":\"$started\",\"completedAt\":\"$(now)\",\"objectCount\":${count:-0},\"totalBytes\":${bytes:-0},\"tool\":$(jstr "$(rclone version | head -n1)")}"
