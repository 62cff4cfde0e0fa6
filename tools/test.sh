#!/usr/bin/env bash
# Installs what is missing, builds and runs the whole test suite three times: the normal build,
# then ASan+UBSan and TSan builds of everything (kernel, shim, helpers, tests), each in its own
# build directory. Ends with one line over all runs: "N passed, M failed".
#   CEK_SANITIZERS=0      only the normal build (quick local runs; CI runs all three)
#   CEK_BUILD_DIR, CEK_ASAN_BUILD_DIR, CEK_TSAN_BUILD_DIR   build directories
# The normal build also runs the package suite (tests/package: build, install and purge the
# Debian packages, about 5 minutes); the sanitizer builds leave it out.
# Extra arguments go to every `meson test` (e.g. a test name). See docs/reliability.md.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${CEK_BUILD_DIR:-build}
asan_build=${CEK_ASAN_BUILD_DIR:-build-asan}
tsan_build=${CEK_TSAN_BUILD_DIR:-build-tsan}
suppressions=$PWD/tests/soak/tsan.supp
builds=()
timings=()

# run_suite DIR LABEL [meson setup options...]: builds DIR and runs the suite in it. Sanitizer
# options come from the environment of the call.
run_suite() {
    local dir=$1 label=$2
    shift 2
    builds+=("$dir")
    rm -f "$dir"/meson-logs/testlog.json "$dir"/tests/*/*.junit.xml
    local t0=$SECONDS
    if ! tools/build.sh "$dir" "$@"; then
        echo "$label: the build failed"
        timings+=("$label: build failed after $((SECONDS - t0)) s")
        return
    fi
    local t1=$SECONDS
    $wrapper meson test -C "$dir" --print-errorlogs --num-processes 2 "${test_args[@]}"
    timings+=("$label: build $((t1 - t0)) s, tests $((SECONDS - t1)) s")
}

test_args=("$@")
wrapper=""
# The package test (tests/package/run_package_test.sh) builds, installs and purges the Debian
# packages: once, with the normal build (as root; elsewhere it says why it skips).
CEK_PACKAGE_TEST=1 run_suite "$build" normal
test_args+=(--no-suite package)

if [ "${CEK_SANITIZERS:-1}" != 0 ]; then
    # The sanitizer builds are unity builds (meson's -Dunity=on: a few sources per compiler run),
    # about 40 % less build time; the normal build compiles each file alone, so a missing include
    # still fails there. They compile at -O1 with line tables only (-g1: stack traces keep file
    # and line): a quarter less compile time than -O2 -g, for the same findings.
    # Shorter soak and load runs: the sanitizers make every call several times slower.
    export CEK_SOAK_SECONDS=${CEK_SANITIZER_SOAK_SECONDS:-10}
    export CEK_LOAD_SECONDS=${CEK_SANITIZER_LOAD_SECONDS:-5}
    sanitizer_build="-Dunity=on -Doptimization=1 -Dc_args=-g1 -Dcpp_args=-g1"
    ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_summary=1:detect_leaks=1 \
    UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_summary=1:print_stacktrace=1 \
        run_suite "$asan_build" asan+ubsan $sanitizer_build -Db_sanitize=address,undefined -Db_lundef=false
    # TSan can fail at start ("unexpected memory mapping") when mmap randomisation uses more
    # than 28 bits (vm.mmap_rnd_bits; 32 on some newer kernels). This machine's kernel uses 28,
    # where GCC 12's TSan runs as is; with more, run the TSan suite without randomisation.
    if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -gt 28 ]; then
        wrapper="setarch $(uname -m) -R"
    fi
    # A race stops the process at once, so the test that caused it fails. die_after_fork=0: every
    # connected application has the shim's watcher thread, so a child forked by a test helper
    # comes from a multi-threaded process, and its own first call starts a thread of its own.
    TSAN_OPTIONS="halt_on_error=1:abort_on_error=1:second_deadlock_stack=1:die_after_fork=0:suppressions=$suppressions" \
        run_suite "$tsan_build" tsan $sanitizer_build -Db_sanitize=thread
fi

printf 'time: %s\n' "${timings[@]}"
python3 tools/count_results.py "${builds[@]}"
