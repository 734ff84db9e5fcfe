# A cloud backup's consistency check, second half (docs/recovery-points.md): the keys listed before
# the snapshot against the document library the provider copied server-side (LC2_DL_DEST). No list:
# the database had no Liferay document tables. A list that cannot be looked for fails the Job (set -e
# on the assignment), never reads as "no list".
started=$(now)
listed=$(rclone lsf "store:$LC2_EXPECTED_KEYS")
consistency=""
if [ -n "$listed" ]; then
  rclone cat "store:$LC2_EXPECTED_KEYS" | zstd -q -d | split_keys
  compare_keys "$LC2_DL_DEST"
  consistency=",\"consistency\":{$(consistency_members)}"
fi
put_result "{\"version\":1,\"step\":\"$LC2_STEP\",\"status\":\"succeeded\",\"startedAt\":\"$started\",\"completedAt\":\"$(now)\",\"tool\":$(jstr "$(rclone version | head -n1)")$consistency}"
