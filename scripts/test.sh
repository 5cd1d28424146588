#!/usr/bin/env bash
# The README's second command: set up, lint, type-check kerasae/ (mypy, configured in
# pyproject.toml), then the whole test suite on each backend in turn.
# Extra arguments go to pytest (e.g. -x, -k vae).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
.venv/bin/ruff check kerasae tests scripts benchmarks || exit 1
.venv/bin/mypy || exit 1
status=0
for backend in tensorflow jax torch; do
  echo "=== KERAS_BACKEND=$backend ==="
  KERAS_BACKEND=$backend .venv/bin/python -m pytest -q -p no:cacheprovider "$@" tests || status=1
done
exit $status
