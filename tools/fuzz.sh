#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang, AddressSanitizer and UBSan, and runs one.
#
#   bash tools/fuzz.sh <dispatch|sequence|path|reg> [seconds | -runs=N] [more libFuzzer flags...]
#
# Default: 60 seconds. New inputs go to $build/corpus/<target> (the seeds in
# tests/fuzz/corpus/<target> are read, never written); crashes to $build/artifacts/<target>/;
# with -jobs=N, each job's log to $build/logs/<target>/.
# Build directory: $CEK_FUZZ_BUILD_DIR, default build-fuzz. CI does not run this: the normal GCC
# test suite replays the seed corpus instead (tests/fuzz/meson.build).
set -euo pipefail
self=$(realpath "$0")
cd "$(dirname "$self")/.."

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$self"; exit 2; }
(($# >= 1)) || usage
target=$1
shift
case $target in dispatch | sequence | path | reg) ;; *) usage ;; esac
limit=(-max_total_time=60)
if [[ ${1:-} =~ ^[0-9]+$ ]]; then
    limit=(-max_total_time="$1")
    shift
elif [[ ${1:-} == -runs=* ]]; then
    limit=("$1")
    shift
fi

# clang 14 and its runtimes (libFuzzer, sanitizers) from Debian 12, plus the project's packages.
tools/install-deps.sh
missing=()
for p in clang-14 libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
    echo "installing: ${missing[*]}"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build=$(realpath -m "${CEK_FUZZ_BUILD_DIR:-build-fuzz}")
flags="-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
flags+=" -fsanitize-coverage-allowlist=$PWD/tests/fuzz/coverage.allow"
if [ ! -f "$build/build.ninja" ]; then
    rm -rf "$build"
    CC=clang-14 CXX=clang++-14 meson setup "$build" \
        -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dbuildtype=debugoptimized -Dc_args="$flags" -Dcpp_args="$flags" >/dev/null
elif [ "$(cat "$build/.fuzz-flags" 2>/dev/null)" != "$flags" ]; then
    meson configure "$build" -Dc_args="$flags" -Dcpp_args="$flags" >/dev/null
fi
echo "$flags" >"$build/.fuzz-flags"
meson compile -C "$build" "fuzz_$target" >/dev/null

work="$build/corpus/$target"
artifacts="$build/artifacts/$target/"
logs="$build/logs/$target"
mkdir -p "$work" "$artifacts" "$logs"
# No allocation stacks while fuzzing (about a fifth more inputs per second); replay a crash
# without malloc_context_size=0 to see where its memory came from. A 4 MB quarantine instead of
# 256 MB keeps freed memory poisoned through the next 4 MB of frees, so a use after free within
# a call or a few calls later is still caught, and reused memory stays in cache: the sequence
# target's longest inputs took about a sixth less CPU time.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:malloc_context_size=0:quarantine_size_mb=4}
export TMPDIR=${TMPDIR:-/dev/shm}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
seeds=$PWD/tests/fuzz/corpus/$target
cd "$logs"  # libFuzzer writes the logs of -jobs=N into the current directory
exec nice -n 10 "$build/tests/fuzz/fuzz_$target" "${limit[@]}" -artifact_prefix="$artifacts" \
    -print_final_stats=1 "$@" "$work" "$seeds"
