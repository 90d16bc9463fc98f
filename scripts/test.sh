#!/usr/bin/env sh
# Installs everything the test suite needs into .venv, then runs lint, type checks and every test.
set -eu
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
.venv/bin/ruff check .
.venv/bin/mypy bandwidth_provider
exec .venv/bin/python -m pytest -q "$@"
