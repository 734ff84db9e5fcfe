# Dump the database (pg_dump custom format / mysqldump single transaction), compress with zstd on
# all cores, encrypt when the project asks, hash with SHA-256 and stream to storage in one pass:
# nothing touches the local disk.
db_client_env
started=$(now)
mkfifo "$work/hash" "$work/chunks"
sha256sum <"$work/hash" | cut -d' ' -f1 >"$work/sha256" &
hasher=$!
# The SHA-256 of every LC2_CHUNK_BYTES of the stored bytes, in order: a restore checks each chunk
# before any of it is used, in one read (restore-database.sh). split runs one filter at a time.
split -b "$LC2_CHUNK_BYTES" -a 6 --filter='sha256sum | cut -c1-64' <"$work/chunks" >"$work/chunks.list" &
chunker=$!
case "$LC2_DB_ENGINE" in
  postgresql) tool=$(pg_dump --version) ;;
  mysql) tool=$("$(mysqldump_bin)" --version) ;;
esac
encryption=""
if [ -n "${LC2_KEK_RECIPIENT:-}" ]; then
  # Encrypted (docs/encryption.md): a data key of this backup's own, made here and held only in this
  # shell's memory; stored only wrapped for the project's KEK, and written BEFORE the artifact (an
  # artifact without its wrapped key could never be read).
  data_key=$(age-keygen 2>/dev/null)
  data_recipient=$(printf '%s\n' "$data_key" | age-keygen -y)
  # Its public half stays in this Job: whoever knew it could encrypt a forged dump for it. Only a hash is recorded.
  data_key_id=$(printf '%s' "$data_recipient" | sha256sum | cut -d' ' -f1)
  printf '%s\n' "$data_key" | age -r "$LC2_KEK_RECIPIENT" | rclone rcat "store:$LC2_WRAPPED_KEY"
  unset data_key
  encryption=",\"keyVersion\":\"$LC2_KEK_VERSION\",\"dataKeyId\":\"$data_key_id\""
  log "encrypting for KEK $LC2_KEK_VERSION; wrapped data key at $LC2_WRAPPED_KEY"
fi
# Authenticated encryption as the dump streams (age: ChaCha20-Poly1305 in 64 KiB chunks), or none.
encrypt() { if [ -n "$encryption" ]; then age -r "$data_recipient"; else cat; fi; }
# The recovery point's expected document-library keys (docs/recovery-points.md) come from the SAME
# database state as the dump: PostgreSQL exports a snapshot that pg_dump and the key query share,
# held by a session that stays open until the dump is done; MySQL (mysqldump cannot share one) reads
# them in a consistent-snapshot transaction right before the dump starts its own.
keys_sql=$(expected_keys_sql)
snapshot_args=()
expected=""
if [ -n "$keys_sql" ]; then
  if [ "$LC2_DB_ENGINE" = postgresql ]; then
    coproc SNAP { psql -X -q -At -v ON_ERROR_STOP=1 -d "$LC2_DB_NAME"; }
    printf 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\nSELECT pg_export_snapshot();\n' >&"${SNAP[1]}"
    read -r snapshot <&"${SNAP[0]}"
    snapshot_args=(--snapshot="$snapshot")
  fi
  read_expected_keys "${snapshot:-}"
fi
log "dumping $LC2_DB_ENGINE database $LC2_DB_NAME to $LC2_ARTIFACT"
# The case runs inside the pipeline (a subshell): it may only write the dump to stdout.
case "$LC2_DB_ENGINE" in
  postgresql)
    # -Z0: compression happens in zstd (multi-threaded, faster and smaller than pg_dump's zlib).
    pg_dump --format=custom --compress=0 "${snapshot_args[@]}" --dbname="$LC2_DB_NAME" ;;
  mysql)
    "$(mysqldump_bin)" "${mysql_args[@]}" --single-transaction --quick --routines --triggers --events \
      --hex-blob --no-tablespaces --default-character-set=utf8mb4 "$LC2_DB_NAME" ;;
# zstd level 1: on 2 cores and the bench's 1.6 GB Liferay-shaped database, 7.9 s against 10.8 s for
# level 3, and smaller (0.87 against 0.91 of pg_dump -Fc); docs/decisions.md.
esac | zstd -q -T0 -"${LC2_ZSTD_LEVEL:-1}" | encrypt | tee "$work/hash" "$work/chunks" \
  | rclone rcat --s3-chunk-size "${LC2_UPLOAD_CHUNK:-64M}" "store:$LC2_ARTIFACT"
wait "$hasher"
wait "$chunker"
if [ -n "${SNAP_PID:-}" ]; then printf 'COMMIT;\n' >&"${SNAP[1]}"; exec {SNAP[1]}>&-; wait "$SNAP_PID" || true; fi
sha=$(cat "$work/sha256")
size=$(size_of "$LC2_ARTIFACT")
[ -n "$size" ] || { log "artifact missing after upload"; exit 1; }
log "uploaded $size bytes sha256 $sha"
chunk_count=$(wc -l <"$work/chunks.list")
chunks_sha=$(sha256sum <"$work/chunks.list" | cut -d' ' -f1)
rclone rcat "store:$LC2_CHUNK_LIST" <"$work/chunks.list"
# The expected keys go up after the artifact: a Job whose artifact cannot be written changes nothing.
[ -z "$expected" ] || rclone rcat "store:$LC2_EXPECTED_KEYS" <"$work/expected.zst"
put_result "{\"version\":1,\"step\":\"$LC2_STEP\",\"status\":\"succeeded\",\"startedAt\":\"$started\",\"completedAt\":\"$(now)\",\"artifact\":\"$LC2_ARTIFACT_KEY\",\"sizeBytes\":$size,\"sha256\":\"$sha\",\"chunks\":{\"bytes\":$LC2_CHUNK_BYTES,\"count\":$chunk_count,\"sha256\":\"$chunks_sha\"},\"tool\":$(jstr "$tool")$encryption${expected:+,\"expectedKeys\":$expected}}"
