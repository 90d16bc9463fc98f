#!/usr/bin/env sh
# Installs everything the test suite needs into .venv, makes the pinned Pulumi toolchain
# (scripts/pulumi_toolchain.py: a pulumi on PATH, the cached build, or a build from Go modules),
# then runs lint, type checks and every test, the end-to-end suite with the real engine included.
set -eu
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
if ! .venv/bin/python scripts/pulumi_toolchain.py >/dev/null; then
  case "${CI:-}" in
    1|true|TRUE|True|yes) echo "CI needs the Pulumi toolchain for tests/e2e (see the message above)" >&2; exit 1 ;;
    *) echo "tests/e2e will be skipped: no Pulumi toolchain (see the message above)" >&2 ;;
  esac
fi
.venv/bin/ruff check .
.venv/bin/mypy bandwidth_provider
exec .venv/bin/python -m pytest -q "$@"
