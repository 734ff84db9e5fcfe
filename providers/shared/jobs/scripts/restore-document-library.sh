# Copy the backed-up document library into a NEW prefix; a non-empty target is refused unless
# LC2_APPROVE_OVERWRITE=true. Then the recovery point's check on what was restored: the keys the
# RESTORED database's rows refer to against the restored prefix (docs/recovery-points.md); orphans
# are deleted only when the RestoreRequest asked for it (LC2_CLEANUP_ORPHANS=true).
started=$(now)
# A retry of this Job finds its own first attempt's files: the marker (beside the restore's results,
# written once the target was found empty) says so; anyone else's files are still refused.
# A target that cannot be listed exits 1 (retried): never taken for an empty one.
present=$(objects_under "$LC2_DL_DEST")
if [ "$present" != 0 ] && [ -z "$(rclone lsf "store:$LC2_STARTED_MARKER" 2>/dev/null)" ]; then
  [ "${LC2_APPROVE_OVERWRITE:-false}" = true ] || refuse TargetNotEmpty "store:$LC2_DL_DEST already holds files; restore into a new prefix or set spec.approveOverwrite: true"
fi
now | rclone rcat "store:$LC2_STARTED_MARKER"
log "copying $LC2_DL_SOURCE to $LC2_DL_DEST"
rclone copy "store:$LC2_DL_SOURCE" "store:$LC2_DL_DEST" --transfers "${LC2_TRANSFERS:-32}" --checkers "${LC2_CHECKERS:-32}" --s3-no-check-bucket
consistency=""
if [ -n "${LC2_DB_ENGINE:-}" ]; then
  db_client_env
  keys_sql=$(expected_keys_sql)
  if [ -n "$keys_sql" ]; then
    case "$LC2_DB_ENGINE" in
      postgresql) psql -X -q -At -v ON_ERROR_STOP=1 -v FETCH_COUNT=10000 -d "$LC2_DB_NAME" -c "$keys_sql" ;;
      mysql) "$(mysql_bin)" "${mysql_args[@]}" -N -B --quick --database="$LC2_DB_NAME" -e "$keys_sql" ;;
    esac | split_keys
    compare_keys "$LC2_DL_DEST"
    deleted=0 skipped=false
    if [ "${LC2_CLEANUP_ORPHANS:-false}" = true ] && [ "$n_orphans" != 0 ]; then
      if [ $(( n_missing * 2 )) -gt "$n_expected" ]; then
        # Most referred-to files absent: the keys do not match this store's layout, and "orphans"
        # would be the whole library. Nothing is deleted.
        skipped=true
        log "orphan cleanup skipped: most files the database refers to are missing (another store layout?)"
      else
        # Only files this restore copied (never one that was in the target before), only plain keys:
        # no control characters (a key split at a newline could name another file), no '..' segment
        # and no leading '/' (joined to the prefix such a key could name a file outside it).
        rclone lsf -R --files-only "store:$LC2_DL_SOURCE" | zsort | zout "$work/copied.zst"
        # Before anything is deleted, the lists must add up: every file present is an orphan or
        # referred to. A list read short breaks that, and the Job fails (retried) instead.
        zcomm -12 "$work/referenced.zst" "$work/present.zst" "$work/kept.zst"
        n_kept=$(lines_of "$work/kept.zst")
        [ $(( n_orphans + n_kept )) = "$n_present" ] || { log "orphans ($n_orphans) and referred-to files ($n_kept) do not add up to the $n_present files present: nothing deleted"; exit 1; }
        zcomm -12 "$work/orphans.zst" "$work/copied.zst" "$work/candidates.zst"
        zin "$work/candidates.zst" >"$work/candidates"
        LC_ALL=C grep -Ev '[[:cntrl:]]|(^|/)\.\.(/|$)|^/' "$work/candidates" >"$work/deletable" || [ $? = 1 ]
        if [ -s "$work/deletable" ]; then
          rclone delete "store:$LC2_DL_DEST" --files-from-raw "$work/deletable" --s3-no-check-bucket
          deleted=$(wc -l <"$work/deletable")
          log "deleted $deleted orphan files"
        fi
      fi
    fi
    consistency=",\"consistency\":{$(consistency_members),\"orphansDeleted\":$deleted$([ "$skipped" = false ] || printf ',"cleanupSkipped":true')}"
  fi
fi
count=$(count_of "$LC2_DL_DEST"); bytes=$(size_of "$LC2_DL_DEST")
put_result "{\"version\":1,\"step\":\"$LC2_STEP\",\"status\":\"succeeded\",\"startedAt\":\"$started\",\"completedAt\":\"$(now)\",\"objectCount\":${count:-0},\"totalBytes\":${bytes:-0},\"tool\":$(jstr "$(rclone version | head -n1)")$consistency}"
