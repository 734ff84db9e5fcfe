# Copy the backed-up document library into a NEW prefix; a non-empty target is refused unless
# LC2_APPROVE_OVERWRITE=true. Then the recovery point's check on what was restored: the keys the
# RESTORED database's rows refer to against the restored prefix (docs/recovery-points.md); orphans
# are deleted only when the RestoreRequest asked for it (LC2_CLEANUP_ORPHANS=true).
started=$(now)
if [ -n "$(rclone lsf --files-only -R "store:$LC2_DL_DEST" 2>/dev/null | head -n1)" ]; then
  [ "${LC2_APPROVE_OVERWRITE:-false}" = true ] || refuse TargetNotEmpty "store:$LC2_DL_DEST already holds files; restore into a new prefix or set spec.approveOverwrite: true"
fi
log "copying $LC2_DL_SOURCE to $LC2_DL_DEST"
rclone copy "store:$LC2_DL_SOURCE" "store:$LC2_DL_DEST" --transfers "${LC2_TRANSFERS:-32}" --checkers "${LC2_CHECKERS:-32}" --s3-no-check-bucket
consistency=""
if [ -n "${LC2_DB_ENGINE:-}" ]; then
  db_client_env
  keys_sql=$(expected_keys_sql)
  if [ -n "$keys_sql" ]; then
    case "$LC2_DB_ENGINE" in
      postgresql) psql -X -q -At -v ON_ERROR_STOP=1 -d "$LC2_DB_NAME" -c "$keys_sql" ;;
      mysql) "$(mysql_bin)" "${mysql_args[@]}" -N -B --database="$LC2_DB_NAME" -e "$keys_sql" ;;
    esac | LC_ALL=C sort -u >"$work/expected"
    compare_keys "$LC2_DL_DEST"
    deleted=0
    if [ "${LC2_CLEANUP_ORPHANS:-false}" = true ] && [ -s "$work/orphans" ]; then
      # Only plain relative keys: a crafted key with a '..' segment, or an absolute one, could name a
      # file outside this restore's prefix once rclone joins the paths. Those stay, and are counted.
      grep -Ev '(^|/)\.\.(/|$)|^/' "$work/orphans" >"$work/deletable" || true
      if [ -s "$work/deletable" ]; then
        rclone delete "store:$LC2_DL_DEST" --files-from-raw "$work/deletable" --s3-no-check-bucket
        deleted=$(wc -l <"$work/deletable")
        log "deleted $deleted orphan files"
      fi
    fi
    consistency=",\"consistency\":{$(consistency_members),\"orphansDeleted\":$deleted}"
  fi
fi
count=$(count_of "$LC2_DL_DEST"); bytes=$(size_of "$LC2_DL_DEST")
put_result "{\"version\":1,\"step\":\"$LC2_STEP\",\"status\":\"succeeded\",\"startedAt\":\"$started\",\"completedAt\":\"$(now)\",\"objectCount\":${count:-0},\"totalBytes\":${bytes:-0},\"tool\":$(jstr "$(rclone version | head -n1)")$consistency}"
