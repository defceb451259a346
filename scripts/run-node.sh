#!/usr/bin/env bash
# The run command: set up from a fresh clone, then start a node with embedded defaults.
#   DATA_DIR (default ./data/node), PORT (default 8104), DICOM_PORT (optional C-STORE SCP)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
args=(serve --data-dir "${DATA_DIR:-./data/node}" --host 127.0.0.1 --port "${PORT:-8104}")
[[ -n "${DICOM_PORT:-}" ]] && args+=(--dicom-port "$DICOM_PORT")
exec .venv/bin/harmonia-node "${args[@]}" "$@"
