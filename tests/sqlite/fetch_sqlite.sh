#!/usr/bin/env bash
# Puts SQLite's amalgamation (sqlite3.c, sqlite3.h) into OUT_DIR, taken from the npm package
# better-sqlite3, which ships it under deps/sqlite3/. The package tarball is kept in
# OUT_DIR/dist, so the registry is asked once per build directory. Nothing of SQLite is
# committed to this repository.
#
#   fetch_sqlite.sh OUT_DIR
#
# Exit status: 0 when OUT_DIR holds the sources, 77 when the registry cannot be reached (or npm
# is missing) and nothing is cached, 1 on any other failure.
set -euo pipefail

package=better-sqlite3
version=11.10.0           # ships SQLite 3.49.2
sqlite_version=3.49.2
tarball_sha256=71e2d66a44dafc35649ff82742cf4908557fc31841108d19703b74b7065c0293

if [ $# -ne 1 ]; then
    echo "usage: $0 OUT_DIR" >&2
    exit 1
fi
out=$1
dist=$out/dist
tarball=$dist/$package-$version.tgz
mkdir -p "$dist"

have_sources() {
    [ -s "$out/sqlite3.c" ] && [ -s "$out/sqlite3.h" ] &&
        grep -q "^#define SQLITE_VERSION *\"$sqlite_version\"" "$out/sqlite3.h"
}
tarball_ok() {
    [ -s "$tarball" ] && echo "$tarball_sha256  $tarball" | sha256sum --check --status
}

if have_sources; then
    exit 0
fi

if ! tarball_ok; then
    rm -f "$tarball"
    if ! command -v npm >/dev/null; then
        echo "SKIP: npm is not installed, so SQLite's amalgamation cannot be fetched" >&2
        exit 77
    fi
    log=$dist/npm-pack.log
    # npm's own retries are bounded, and so is the whole call.
    if ! timeout 300 npm pack "$package@$version" --pack-destination "$dist" \
            --fetch-retries=1 --fetch-timeout=60000 --no-audit --no-fund --loglevel=warn \
            >"$log" 2>&1; then
        if grep -Eq 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ENOTCONN|network|socket hang up' "$log" ||
           [ "$(grep -c . "$log")" -eq 0 ]; then
            echo "SKIP: the npm registry cannot be reached; $package@$version not fetched:" >&2
            grep -m 2 -E 'error code|reason:' "$log" >&2 || tail -n 3 "$log" >&2
            exit 77
        fi
        echo "npm pack $package@$version failed:" >&2
        cat "$log" >&2
        exit 1
    fi
    if ! tarball_ok; then
        echo "$tarball: not the expected $package@$version tarball (sha256 differs)" >&2
        exit 1
    fi
fi

staging=$(mktemp -d "$out/extract.XXXXXX")
trap 'rm -rf "$staging"' EXIT
tar -xmzf "$tarball" -C "$staging" package/deps/sqlite3/sqlite3.c package/deps/sqlite3/sqlite3.h
mv "$staging/package/deps/sqlite3/sqlite3.h" "$out/sqlite3.h"
mv "$staging/package/deps/sqlite3/sqlite3.c" "$out/sqlite3.c"
if ! have_sources; then
    echo "$tarball does not hold SQLite $sqlite_version's amalgamation" >&2
    exit 1
fi
