#!/usr/bin/env bash
# Installs what is missing and builds into $1 (default: build). Extra arguments go to meson setup.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
build=${1:-build}
shift || true
if [ -f "$build/build.ninja" ]; then
    meson setup --reconfigure "$build" "$@" >/dev/null
else
    rm -rf "$build"
    meson setup "$build" "$@" >/dev/null
fi
meson compile -C "$build"
