#!/usr/bin/env bash
# The README's first command: set up, then run the main job (no network needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
KERAS_BACKEND="${KERAS_BACKEND:-tensorflow}" .venv/bin/kerasae demo "$@"
