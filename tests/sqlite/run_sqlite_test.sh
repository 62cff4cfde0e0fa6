#!/usr/bin/env bash
# Meson's entry for the SQLite acceptance test: fetches SQLite's amalgamation (cached in the
# build directory), builds its Windows CE configuration against coredll's <windows.h> without
# touching SQLite's source, links tests/sqlite/sqlite_worker.c with it, then runs the Catch2
# test program with CEK_SQLITE_WORKER naming the worker.
#
#   run_sqlite_test.sh TEST_PROGRAM [ARGS...]
#
# Environment (set by tests/sqlite/meson.build): CEK_SQLITE_WORK (a build-tree directory),
# CEK_SQLITE_CC (the C compiler command), CEK_SQLITE_SRC (this directory), CEK_COREDLL_INCLUDE,
# CEK_COREDLL_LIBDIR, CEK_SQLITE_SANITIZE (-fsanitize=... in a sanitizer build). Exits 77
# (Meson's "skipped") only when the registry cannot be reached.
set -euo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 TEST_PROGRAM [ARGS...]" >&2
    exit 1
fi
work=$CEK_SQLITE_WORK
src=$CEK_SQLITE_SRC
read -r -a cc <<<"$CEK_SQLITE_CC"
mkdir -p "$work"

status=0
bash "$src/fetch_sqlite.sh" "$work/amalgamation" || status=$?
if [ "$status" -eq 77 ]; then
    echo "SKIP: the SQLite acceptance test needs SQLite's amalgamation from the npm registry"
    exit 77
elif [ "$status" -ne 0 ]; then
    exit "$status"
fi

# SQLite's Windows CE configuration. SQLite's os_win.c compiles WAL for CE too (its #error fires
# only with SQLITE_OS_WINNT=0), but WAL maps its shared-memory file through a CreateFileW handle,
# which CE 5's CreateFileMapping refuses; the acceptance build leaves WAL out, as a CE 5
# application must, and a second build with WAL shows that refusal and, under ce6, WAL working
# (docs/sqlite.md). Memory-
# mapped I/O stays off in both. __cdecl is a keyword of every CE compiler (MSVC's own,
# predefined by CE's GCC ports) that SQLite uses before <windows.h>; on x86-64 there is one
# calling convention, so it is empty.
common_flags=(
    -O1 -fshort-wchar -D__cdecl=
    -DSQLITE_OS_WIN=1 -DSQLITE_OS_WINCE=1 -DSQLITE_OS_UNIX=0 -D_WIN32_WCE=0x500
    -DSQLITE_THREADSAFE=1 -DSQLITE_MAX_MMAP_SIZE=0
    -I"$CEK_COREDLL_INCLUDE"
)
read -r -a sanitize <<<"${CEK_SQLITE_SANITIZE:-}"

# build_worker NAME [EXTRA_SQLITE_FLAGS...]: $work/NAME.o from sqlite3.c (rebuilt when the flags,
# the compiler or <windows.h> change), then $work/NAME linked from sqlite_worker.c, it and
# libcoredll.
build_worker() {
    local name=$1
    shift
    local flags=("${common_flags[@]}" "$@")
    local object=$work/$name.o
    local stamp
    stamp="${cc[*]} ${flags[*]} $(sha256sum "$CEK_COREDLL_INCLUDE/windows.h" | cut -c1-64)"
    if [ ! -s "$object" ] || [ "$(cat "$object.stamp" 2>/dev/null)" != "$stamp" ] ||
       [ "$work/amalgamation/sqlite3.c" -nt "$object" ]; then
        echo "compiling SQLite's Windows CE build: ${cc[*]} ${flags[*]} -c sqlite3.c"
        rm -f "$object" "$object.stamp"
        if ! "${cc[@]}" "${flags[@]}" -c "$work/amalgamation/sqlite3.c" -o "$object.tmp" \
                2>"$work/$name.log"; then
            echo "SQLite's Windows CE build does not compile against coredll's <windows.h>:"
            grep -E 'error|undefined' "$work/$name.log" | head -n 40
            exit 1
        fi
        mv "$object.tmp" "$object"
        echo "$stamp" >"$object.stamp"
    fi
    # In a sanitizer build libcoredll needs the sanitizer's runtime, which must come first: the
    # worker is built with it (SQLite itself is not instrumented).
    local worker=$work/$name
    if ! "${cc[@]}" -O1 -g -std=c11 -Wall -Wextra -fshort-wchar "${sanitize[@]}" \
            -I"$CEK_COREDLL_INCLUDE" -I"$work/amalgamation" "$src/sqlite_worker.c" "$object" \
            -o "$worker.tmp" -L"$CEK_COREDLL_LIBDIR" -Wl,-rpath,"$CEK_COREDLL_LIBDIR" -lcoredll \
            2>"$work/${name}_worker.log"; then
        echo "sqlite_worker does not build (against SQLite's CE build and libcoredll):"
        head -n 60 "$work/${name}_worker.log"
        exit 1
    fi
    mv "$worker.tmp" "$worker"
}

build_worker sqlite_worker -DSQLITE_OMIT_WAL=1
build_worker sqlite_worker_wal
worker=$work/sqlite_worker
export CEK_SQLITE_WAL_WORKER=$work/sqlite_worker_wal
export CEK_SQLITE_WORKER=$worker
exec "$@"
