#!/usr/bin/env python3
"""What libcoredll makes every CE program load (docs/decisions/0012-shim-runtime.md).

Usage: check_shim_libs.py LIBCOREDLL

Reads the library's dynamic section (readelf -d) and fails when it needs a library outside the
allowed set: the C library, the dynamic loader and libm. Not libstdc++ or libgcc_s (linked in
and kept private), nor spdlog or fmt (the shim's logger builds them in: coredll/client/log.h).
For the ordinary build; a sanitizer build links its runtimes and the shared C++ runtime.
"""
import re
import subprocess
import sys


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = sys.argv[1]
    allowed = {"libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}
    out = subprocess.run(["readelf", "-d", path], stdout=subprocess.PIPE, text=True, check=True)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out.stdout)
    if not needed:
        print(f"check_shim_libs: {path}: no NEEDED entries found", file=sys.stderr)
        return 1
    extra = [n for n in needed if n not in allowed]
    if extra:
        print(f"check_shim_libs: {path} needs {', '.join(extra)} (allowed: "
              f"{', '.join(sorted(allowed))})", file=sys.stderr)
        return 1
    print(f"libcoredll needs: {', '.join(needed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
