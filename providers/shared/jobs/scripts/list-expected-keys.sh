# A cloud backup's consistency check, first half (docs/recovery-points.md): the document-library keys
# the database's rows refer to, read in one consistent transaction right BEFORE the hook starts the
# snapshot (the snapshot is the provider's, so no dump can share this read's state). A database
# without Liferay's document tables gets no list, and the backup no check.
db_client_env
started=$(now)
keys_sql=$(expected_keys_sql)
expected=""
if [ -n "$keys_sql" ]; then
  read_expected_keys
  rclone rcat "store:$LC2_EXPECTED_KEYS" <"$work/expected.zst"
else
  log "no Liferay document tables in $LC2_DB_NAME: the backup gets no consistency check"
fi
put_result "{\"version\":1,\"step\":\"$LC2_STEP\",\"status\":\"succeeded\",\"startedAt\":\"$started\",\"completedAt\":\"$(now)\",\"tool\":$(jstr "$LC2_DB_ENGINE key list")${expected:+,\"expectedKeys\":$expected}}"
