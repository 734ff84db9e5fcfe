#!/usr/bin/env bash
# One command for the main job on embedded defaults: bootstrap, then a real backup and restore of a
# sample Liferay environment through the hook server (`npm run demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --demo
npm run demo
