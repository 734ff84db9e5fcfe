# A DR drill's cleanup (docs/recovery-points.md): drop the scratch database only when it carries this
# drill's mark (never one the drill found), delete the scratch prefix only when the hook passes it
# (the drill's own document-library step started) and that step's marker proves it found the prefix
# empty. A database or store that cannot be asked exits 1 (the Job retries): never read as "absent".
started=$(now)
database=skipped
if [ -n "${LC2_DRILL_MARKER:-}" ]; then
  db_client_env
  # A staging database left by a restore attempt that crashed before renaming it: dropped only when
  # this role owns it (another role may have made one under the name; it never stops the cleanup).
  if [ "$LC2_DB_ENGINE" = postgresql ]; then
    case "$(drill_staging_state)" in
      own) psql -X -d postgres -q -c "drop database \"$(drill_staging_name)\" with (force)" ;;
      foreign) log "database $(drill_staging_name) belongs to another role: left in place" ;;
    esac
  fi
  mark=$(drill_mark_of)
  if [ "$mark" = absent ]; then database=absent
  elif [ "$mark" = "$LC2_DRILL_MARKER" ]; then
    log "dropping the drill's database $LC2_DB_NAME"
    drop_database
    [ "$(drill_mark_of)" = absent ] || { log "database $LC2_DB_NAME still there after the drop"; exit 1; }
    database=dropped
  else
    log "database $LC2_DB_NAME carries no mark of this drill: left in place"
    database=refused
  fi
fi
prefix=skipped; count=0
# Only with the copy's proof that it found the prefix empty and wrote into it (its marker): files
# that arrived before the drill's copy started are someone else's. A listing that fails exits 1.
if [ -n "${LC2_DL_DEST:-}" ] && [ -n "$(rclone lsf "store:$LC2_STARTED_MARKER")" ]; then
  count=$(objects_under "$LC2_DL_DEST")
  if [ "$count" != 0 ]; then
    log "deleting $count objects under $LC2_DL_DEST"
    rclone delete --rmdirs "store:$LC2_DL_DEST" --checkers "${LC2_CHECKERS:-32}"
    [ "$(objects_under "$LC2_DL_DEST")" = 0 ] || { log "objects left under $LC2_DL_DEST"; exit 1; }
  fi
  prefix=deleted
fi
put_result "{\"version\":1,\"step\":\"$LC2_STEP\",\"status\":\"succeeded\",\"startedAt\":\"$started\",\"completedAt\":\"$(now)\",\"objectCount\":${count:-0},\"cleanup\":{\"database\":\"$database\",\"prefix\":\"$prefix\"},\"tool\":$(jstr "$(rclone version | head -n1)")}"
