#!/usr/bin/env bash
# The run command: set up from a fresh clone (with the learn extra: Flower, Opacus, CPU torch),
# then start the sandbox: a coordinator and N nodes on 127.0.0.1 walking the whole loop.
#   scripts/sandbox.sh                      3 sites, data in ./sandbox-data, stays up until Ctrl-C
#   scripts/sandbox.sh --sites 2 --exit-after --data-dir /tmp/sb
# Every argument goes to 'harmonia-coordinator sandbox' (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if ! .venv/bin/python -c "import flwr, opacus, torch" 2>/dev/null; then
    echo "setup: installing harmonia[learn] into .venv (torch from the CPU wheel index)"
    .venv/bin/python -m pip install -q --extra-index-url https://download.pytorch.org/whl/cpu \
        -e ".[learn]" 2>&1 | grep -v "^WARNING: Location" || true
    .venv/bin/python -c "import flwr, opacus, torch" # fails loudly if the install did not take
fi
args=("$@")
if [[ " ${args[*]-} " != *" --data-dir "* ]]; then
    data_dir="./sandbox-data"
    if [[ -e "$data_dir" ]] && [[ -n "$(ls -A "$data_dir")" ]]; then
        data_dir="./sandbox-data-$(date +%Y%m%d-%H%M%S)"
    fi
    args+=(--data-dir "$data_dir")
fi
exec .venv/bin/harmonia-coordinator sandbox "${args[@]}"
