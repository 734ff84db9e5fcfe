#!/usr/bin/env bash
# One command for the whole test suite on a fresh machine: bootstrap, then `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
npm test
