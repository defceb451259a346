#!/usr/bin/env bash
# The test command: set up from a fresh clone, then lint, type-check and run every test.
# Extra arguments go to pytest (e.g. scripts/test.sh -m "not integration").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
# Test modules run on two workers (whole modules stay together, so a module's federation or
# browser is started once); PYTEST_WORKERS=0 runs them in this process.
.venv/bin/pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder --durations=30 "$@"
