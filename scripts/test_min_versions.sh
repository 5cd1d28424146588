#!/usr/bin/env bash
# The minimum-versions job (run by .ci/run after the main suite): installs kerasae with the LOWEST
# versions pyproject.toml allows (scripts/lower_bounds.py: the runtime dependencies, tensorflow-cpu,
# pytest, hypothesis) into .venv-min and runs a fast TensorFlow subset of the tests, so the ranges
# stay true. .venv-min is kept and reused while the lower bounds are unchanged. Measured: 125 s of
# downloads and install when it is new, then 2-6 minutes of tests on 2 CPU cores.
# Not covered: the tests that load a preset on a second backend (jax and torch are not installed
# here) and the extras (README, "Install", says which were tried by hand at their lower bounds).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV=.venv-min
start=$SECONDS
wanted="$("$PYTHON" scripts/lower_bounds.py)"
if [ ! -f "$VENV/lower-bounds.txt" ] || [ "$(cat "$VENV/lower-bounds.txt")" != "$wanted" ]; then
  echo "=== minimum versions: installing into $VENV ==="
  if [ -e "$VENV" ] && [ ! -f "$VENV/pyvenv.cfg" ]; then
    echo "$VENV exists and is not a virtual environment; move it away" >&2
    exit 1
  fi
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  printf '%s\n' "$wanted" > "$VENV/constraints.txt"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$VENV/constraints.txt" -e ".[tensorflow-cpu]" pytest hypothesis
  # Written last: a half-finished install is redone on the next run.
  mv "$VENV/constraints.txt" "$VENV/lower-bounds.txt"
fi
echo "=== minimum versions ($(( SECONDS - start )) s to set up): $(grep -v '^#' "$VENV/lower-bounds.txt" | tr '\n' ' ')==="
KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=3 "$VENV/bin/python" -m pytest -q -p no:cacheprovider \
  tests/test_deterministic.py tests/test_vae.py tests/test_serialization.py tests/test_hub.py \
  tests/test_apps_pictures.py \
  -k "not another_backend and not other_backends and not hf_handle"
echo "=== minimum versions job: $(( SECONDS - start )) s ==="
