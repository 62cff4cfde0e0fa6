#!/usr/bin/env python3
"""speedtest1: SQLite's own benchmark, its Windows CE build on CEKernel against its native build.

SQLite is not part of this repository: the amalgamation comes from the same place as the SQLite
acceptance test's (tests/sqlite/fetch_sqlite.sh, SQLite 3.49.2, fetched once into the build
directory), and speedtest1.c from a SQLite source tree the caller names (`test/speedtest1.c`;
any version from 3.40 on builds against this amalgamation).

Two programs from one source:
  - CE: sqlite3.c with the acceptance test's CE flags (SQLITE_OS_WINCE: CE's file locking
    through a named mutex and a shared mapping) against libcoredll, on a private kernel whose
    root lies on the same file system as the native database;
  - native: the same sqlite3.c with its unix VFS.
Both at -O2. Each round runs every mode native first, then CE (the order alternating by round);
the figure is speedtest1's TOTAL line, the ratio CE / native of the medians, and the kernel's
CPU time (utime + stime from /proc) over each CE run.

    python3 tools/bench/speedtest1.py --build build --speedtest1 PATH/test/speedtest1.c \\
        [--size 400] [--rounds 3] [--modes rollback,memdb] [--db-dir '\\My Documents'] [--detail]
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
# The acceptance test's CE build (tests/sqlite/run_sqlite_test.sh), at -O2 like the native one.
CE_FLAGS = ["-fshort-wchar", "-DSQLITE_OS_WIN=1", "-DSQLITE_OS_WINCE=1", "-DSQLITE_OS_UNIX=0",
            "-D_WIN32_WCE=0x500", "-DSQLITE_THREADSAFE=1", "-DSQLITE_MAX_MMAP_SIZE=0"]
NATIVE_FLAGS = ["-DSQLITE_THREADSAFE=1"]
MODES = {"rollback": [], "memdb": ["--memdb"]}
TOTAL = re.compile(r"^\s*TOTAL\.*\s+([0-9.]+)s")
TEST = re.compile(r"^\s*(\d+) - (.*?)\.*\s+([0-9.]+)s$")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"speedtest1: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return p.stdout


def build_programs(args, work):
    amalgamation = os.path.join(os.path.abspath(args.build), "tools", "bench", "sqlite")
    rc = subprocess.run(["bash", os.path.join(SOURCE, "tests", "sqlite", "fetch_sqlite.sh"),
                         amalgamation]).returncode
    if rc != 0:
        sys.exit("speedtest1: could not fetch the SQLite amalgamation (fetch_sqlite.sh: "
                 f"exit {rc})")
    # As a user builds CE code against the build tree: pkg-config's uninstalled coredll.
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(os.path.abspath(args.build),
                                                        "meson-uninstalled"))
    coredll = run(["pkg-config", "--cflags", "--libs", "coredll"], env=env).split()
    libdir = os.path.join(os.path.abspath(args.build), "coredll")
    common = ["-O2", "-I", amalgamation, args.speedtest1, os.path.join(amalgamation, "sqlite3.c")]
    exes = {"native": os.path.join(work, "speedtest1-native"),
            "ce": os.path.join(work, "speedtest1-ce")}
    log("speedtest1: compiling the native build")
    run([args.cc] + NATIVE_FLAGS + common + ["-lm", "-lpthread", "-o", exes["native"]])
    log("speedtest1: compiling the CE build")
    run([args.cc] + CE_FLAGS + common + coredll + [f"-Wl,-rpath,{libdir}", "-o", exes["ce"]])
    return exes


class Kernel:
    """A private kernel on `root`, started in the background; its CPU time from /proc."""

    def __init__(self, build, base, extra_args=()):
        self.exe = os.path.join(os.path.abspath(build), "kernel", "cekernel")
        self.instance = f"speedtest1-{os.getpid()}"
        self.root = os.path.join(base, "root")
        self.run_dir = os.path.join(base, "run")
        os.mkdir(self.run_dir, 0o700)
        self.env = dict(os.environ, CEK_INSTANCE=self.instance, CEK_ROOT=self.root,
                        CEK_RUNTIME_DIR=self.run_dir, CEK_KERNEL=self.exe, CEK_AUTOSTART="0")
        # Without --foreground the kernel returns once it serves; cedump tells its pid.
        run([self.exe, "--instance", self.instance, "--root", self.root, "--idle-exit", "3600"] +
            list(extra_args), env=self.env)
        cedump = os.path.join(os.path.abspath(build), "tools", "cedump", "cedump")
        doc = json.loads(run([cedump, "--instance", self.instance, "--json", "processes"],
                             env=self.env))
        self.pid = doc.get("kernel", doc)["pid"]

    def cpu_seconds(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self):
        os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.path.exists(f"/proc/{self.pid}"):
            time.sleep(0.05)


def speedtest(exe, size, mode, db, env):
    out = run([exe, "--size", str(size)] + MODES[mode] + [db], env=env)
    tests, total = {}, None
    for line in out.splitlines():
        if m := TEST.match(line):
            tests[int(m.group(1))] = (m.group(2), float(m.group(3)))
        elif m := TOTAL.match(line):
            total = float(m.group(1))
    if total is None:
        sys.exit(f"speedtest1: no TOTAL line from {exe}:\n{out[-2000:]}")
    return total, tests


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--speedtest1", required=True, help="speedtest1.c of a SQLite source tree")
    ap.add_argument("--size", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--modes", default="rollback,memdb")
    ap.add_argument("--db-dir", default="\\My Documents",
                    help="CE directory of the CE build's database")
    ap.add_argument("--tmp", default=None, help="where the roots go (one file system for both)")
    ap.add_argument("--cc", default="cc")
    ap.add_argument("--detail", action="store_true", help="per test, the largest differences")
    ap.add_argument("--kernel-arg", action="append", default=[],
                    help="an option for the kernel, e.g. --kernel-arg=--spin-us=10 (repeatable)")
    args = ap.parse_args()
    modes = args.modes.split(",")
    for m in modes:
        if m not in MODES:
            sys.exit(f"speedtest1: unknown mode {m} (known: {', '.join(MODES)})")

    base = tempfile.mkdtemp(prefix="speedtest1-", dir=args.tmp)
    kernel = None
    try:
        exes = build_programs(args, base)
        kernel = Kernel(args.build, base, args.kernel_arg)
        native_dir = os.path.join(base, "native")
        os.mkdir(native_dir)
        ce_db = args.db_dir.rstrip("\\") + "\\speedtest1.db"
        results = {m: {"native": [], "ce": [], "cpu": [], "tests": {"native": [], "ce": []}}
                   for m in modes}
        for r in range(args.rounds):
            for m in modes:
                order = ["native", "ce"] if r % 2 == 0 else ["ce", "native"]
                for side in order:
                    if side == "native":
                        db = os.path.join(native_dir, "speedtest1.db")
                        for suffix in ("", "-journal"):
                            if os.path.exists(db + suffix):
                                os.unlink(db + suffix)
                        total, tests = speedtest(exes["native"], args.size, m, db, None)
                    else:
                        before = kernel.cpu_seconds()
                        total, tests = speedtest(exes["ce"], args.size, m, ce_db, kernel.env)
                        results[m]["cpu"].append(kernel.cpu_seconds() - before)
                    results[m][side].append(total)
                    results[m]["tests"][side].append(tests)
                    log(f"round {r + 1} {m:8} {side:6} {total:7.3f} s")
        print(f"speedtest1 --size {args.size}, {args.rounds} rounds, medians "
              f"(CE database in {args.db_dir}):\n")
        print("| mode | native s [runs] | CE s [runs] | CE ÷ native | kernel CPU per CE run s |")
        print("|---|---:|---:|---:|---:|")
        for m in modes:
            n, c = results[m]["native"], results[m]["ce"]
            fmt = lambda xs: f"{statistics.median(xs):.2f} [{', '.join(f'{x:.2f}' for x in xs)}]"
            print(f"| {m} | {fmt(n)} | {fmt(c)} | "
                  f"{statistics.median(c) / statistics.median(n):.2f}× | "
                  f"{statistics.median(results[m]['cpu']):.2f} |")
        if args.detail:
            for m in modes:
                print(f"\n{m}: tests with the largest CE − native difference (medians, s)\n")
                rows = []
                for num, (name, _) in results[m]["tests"]["native"][0].items():
                    if any(num not in t for side in ("native", "ce")
                           for t in results[m]["tests"][side]):
                        continue  # a test one build did not report
                    nat = statistics.median(t[num][1] for t in results[m]["tests"]["native"])
                    ce = statistics.median(t[num][1] for t in results[m]["tests"]["ce"])
                    rows.append((ce - nat, num, name, nat, ce))
                for diff, num, name, nat, ce in sorted(rows, reverse=True)[:10]:
                    print(f"  {num:4} {name[:52]:52} {nat:7.3f} {ce:7.3f} {diff:+7.3f}")
    finally:
        if kernel is not None:
            kernel.close()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
