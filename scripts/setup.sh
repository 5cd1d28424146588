#!/usr/bin/env bash
# Create .venv (once) and install kerasae with all three backends and the dev tools into it, at
# the exact versions in constraints.txt (pyproject.toml only declares ranges).
# Idempotent: a second run only checks that everything is installed at those versions.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "setup.sh needs Python 3.11+ (constraints.txt pins releases that need it); set PYTHON=" >&2
  exit 1
}
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt)
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
fi
# torch first, on its own: where a CPU build of torch 2.13.0 lies on disk (this machine and CI),
# pip takes it (2.13.0+cpu) instead of resolving torch to a multi-GB CUDA build.
"${PIP[@]}" "torch==2.13.0"
"${PIP[@]}" -e ".[dev]"
