#!/usr/bin/env bash
# Everything a fresh Debian machine needs before the demo or the tests: command-line tools from
# Debian, PostgreSQL and MariaDB running on loopback, Prometheus for the monitoring tests, S3 servers (moto if installed; MinIO and mc
# built once from the Go module proxy into .cache/bin), and the npm packages (which bring Node 22).
# Idempotent: on a prepared machine it only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pair in rclone:rclone zstd:zstd age:age lua5.1:lua5.1 etcd:etcd-server psql:postgresql-client mariadb:mariadb-client pg_dump:postgresql-client; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need_apt+=("${pair#*:}")
done
[ -d /usr/lib/postgresql ] && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql)
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need_apt+=(mariadb-server)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "bootstrap: installing ${need_apt[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# PostgreSQL on 127.0.0.1:5432 with trust for loopback (tests and demo connect as postgres, no password).
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  version=$(ls /etc/postgresql | sort -n | tail -n1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  grep -q '^host all all 127.0.0.1/32 trust' "$hba" || sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
# MariaDB on 127.0.0.1:3306, root without password over TCP.
if ! mariadb --protocol=tcp -h 127.0.0.1 -u root -e 'select 1' >/dev/null 2>&1; then
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql --bind-address=127.0.0.1
  for _ in $(seq 1 30); do mariadb -u root -e 'select 1' >/dev/null 2>&1 && break; sleep 1; done
  mariadb -u root -e "create user if not exists 'root'@'127.0.0.1' identified by ''; grant all on *.* to 'root'@'127.0.0.1' with grant option" || true
fi

# `--demo`: the main job needs none of the servers below (it uses a directory as its object
# store): skip the Go builds, which take most of a cold start.
if [ "${1:-}" = "--demo" ]; then
  [ -d node_modules/node ] && [ package-lock.json -ot node_modules/.package-lock.json ] || npm ci --no-audit --no-fund
  exit 0
fi

# Prometheus and promtool for the monitoring tests (test/alert-rules.test.ts, test/prometheus-e2e.test.ts
# start their own Prometheus on a free port): the package's own service is not needed.
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  echo "bootstrap: installing prometheus from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  systemctl disable --now prometheus >/dev/null 2>&1 || true
fi

# S3 servers for the tests: moto when present (it also emulates RDS for the AWS provider), else
# MinIO; and MinIO with its client mc always, for test/security (moto does not enforce IAM policies).
# Both built once from the Go module proxy into .cache/bin (cold: about 4 minutes; pinned, as neither
# has semver tags there). Only the binaries are used: none of their (AGPL) code is part of this repo.
minio_version=v0.0.0-20260212201848-7aac2a2c5b7c
mc_version=v0.0.0-20250313080218-cf909e1063a9
if [ ! -x .cache/bin/minio ] || [ ! -x .cache/bin/mc ] || [ "$(cat .cache/bin/.minio-versions 2>/dev/null)" != "$minio_version $mc_version" ]; then
  echo "bootstrap: building MinIO and mc from the Go module proxy (cold: about 4 minutes; cached in .cache/bin)"
  started=$(date +%s)
  GOBIN="$PWD/.cache/bin" go install "github.com/minio/minio@$minio_version"
  GOBIN="$PWD/.cache/bin" go install "github.com/minio/mc@$mc_version"
  echo "$minio_version $mc_version" >.cache/bin/.minio-versions
  echo "bootstrap: MinIO and mc built in $(( $(date +%s) - started ))s"
fi

# fake-gcs-server for the GCP provider's tests (GCS through @google-cloud/storage), built once from
# the Go module proxy into .cache/bin (cold: about 2 minutes). Cloud SQL Admin and Storage Transfer
# have no emulator: the tests use in-repo fakes (test/support/fakeCloudSql.ts, fakeStorageTransfer.ts).
fake_gcs_version=v1.55.1
if [ ! -x .cache/bin/fake-gcs-server ] || [ "$(cat .cache/bin/.fake-gcs-server-version 2>/dev/null)" != "$fake_gcs_version" ]; then
  echo "bootstrap: building fake-gcs-server from the Go module proxy (cold: about 2 minutes; cached in .cache/bin)"
  started=$(date +%s)
  GOBIN="$PWD/.cache/bin" go install "github.com/fsouza/fake-gcs-server@$fake_gcs_version"
  echo "$fake_gcs_version" >.cache/bin/.fake-gcs-server-version
  echo "bootstrap: fake-gcs-server built in $(( $(date +%s) - started ))s"
fi

# A real kube-apiserver for the Kubernetes tests, built once from the Go module proxy (test/apiserver).
if [ ! -x .cache/bin/kube-apiserver ] || [ test/apiserver/go.mod -nt .cache/bin/kube-apiserver ]; then
  echo "bootstrap: building kube-apiserver from the Go module proxy (cold: several minutes; cached in .cache/bin)"
  started=$(date +%s)
  (cd test/apiserver && go build -o ../../.cache/bin/kube-apiserver .)
  echo "bootstrap: kube-apiserver built in $(( $(date +%s) - started ))s"
fi

[ -d node_modules/node ] && [ package-lock.json -ot node_modules/.package-lock.json ] || npm ci --no-audit --no-fund
