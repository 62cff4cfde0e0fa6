#!/usr/bin/env bash
# Installs what is missing, builds and runs the whole test suite. Ends with "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
build=${CEK_BUILD_DIR:-build}
tools/build.sh "$build" || { echo "0 passed, 1 failed"; exit 1; }
rm -f "$build"/tests/*/*.junit.xml
meson test -C "$build" --print-errorlogs --num-processes 2 "$@"
python3 tools/count_results.py "$build"
