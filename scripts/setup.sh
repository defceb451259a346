#!/usr/bin/env bash
# Prepare a fresh clone: Debian packages (when asked), then .venv with the project.
#   scripts/setup.sh            the project and its runtime dependencies
#   scripts/setup.sh --test     also the test extras and the Debian packages the tests use
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

# Real peers the tests talk to: Orthanc (a PACS with DICOMweb), dicom3tools' dciodvfy, dcmtk;
# Chromium drives the UI's end-to-end tests (Playwright uses it; never `playwright install`);
# PostgreSQL's server runs the store's tests against the database larger sites use.
TEST_DEBIAN_PACKAGES=(orthanc orthanc-dicomweb dicom3tools dcmtk chromium postgresql docker-compose nginx libnginx-mod-stream systemd)

if ((want_test)); then
    missing=()
    for package in "${TEST_DEBIAN_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$package")
    done
    if ((${#missing[@]})); then
        if [[ "$(id -u)" != 0 ]]; then
            echo "setup: missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
            exit 1
        fi
        echo "setup: installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [[ ! -x .venv/bin/python ]]; then
    echo "setup: creating .venv with $("$PYTHON" --version)"
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
extras=""
((want_test)) && extras="[test]"
echo "setup: installing harmonia${extras} into .venv"
.venv/bin/python -m pip install -q -e ".${extras}" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import node, shared, coordinator" # fails loudly if the install did not take
