#!/usr/bin/env python3
"""Compares two builds of CEKernel call by call: each build's ce_bench against its own kernel,
the two interleaved round by round (the order alternating), so that both see the same machine.
Prints each row's median over the rounds, its min..max, and after ÷ before.

  python3 tools/bench/ab_compare.py --before OLD_BUILD --after build [--rounds 30] [--samples 2000]
                                    [--load spin1|spin2|compile1|compile2|N]
  python3 tools/bench/ab_compare.py --before build --after build --after-personality ce6

--before-personality and --after-personality start that side's kernel with that personality
(default ce5): the same build under ce5 and ce6 compares the two personalities on the same calls.

--load keeps another program's work running at ordinary priority for the whole comparison (a busy
machine, issue 22): N or spinN CPU-bound loops, compileN compile loops (load.py). --wall runs
each row alone and compares the wall-clock time of the whole run (throughput: the mean, stalls
included) instead of the median latency, which a busy machine makes bimodal.

OLD_BUILD is a build directory of another checkout (for example a `git worktree` of the
commit before a change). Ordinary priority, as users run it (docs/performance.md).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from load import KINDS, Load


def start_kernel(build, base, name, personality):
    run_dir = os.path.join(base, name, "run")
    root = os.path.join(base, name, "root")
    os.makedirs(run_dir, mode=0o700)
    os.makedirs(os.path.join(root, "Windows"))
    # The `process` row's child, where CreateProcessW looks for it.
    shutil.copy2(os.path.join(build, "tools", "bench", "ce_noop"),
                 os.path.join(root, "Windows", "ce_noop.exe"))
    kernel = os.path.join(build, "kernel", "cekernel")
    env = dict(os.environ, CEK_INSTANCE=f"ab-{name}-{os.getpid()}", CEK_ROOT=root,
               CEK_RUNTIME_DIR=run_dir, CEK_KERNEL=kernel)
    subprocess.run([kernel, "--instance", env["CEK_INSTANCE"], "--root", root, "--idle-exit", "30",
                    "--personality", personality],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return env


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="build directory of the old tree")
    ap.add_argument("--after", default="build", help="build directory of the new tree")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--before-personality", default="ce5")
    ap.add_argument("--after-personality", default="ce5")
    ap.add_argument("--load", default="quiet",
                    help="other work running meanwhile: " + ", ".join(KINDS) + ", or N spinners")
    ap.add_argument("--rows", help="comma-separated ce_bench rows to run (default: all)")
    ap.add_argument("--wall", action="store_true",
                    help="compare each row's wall-clock run time (needs --rows)")
    args = ap.parse_args()
    builds = {"before": args.before, "after": args.after}
    kind = args.load
    if kind.isdigit():
        kind = f"spin{kind}" if kind != "0" else "quiet"
    load = Load(kind, args.after)
    base = tempfile.mkdtemp(prefix="cek-ab-")
    load.__enter__()
    if args.wall and not args.rows:
        ap.error("--wall needs --rows")
    extra = ["--only", args.rows] if args.rows else []
    try:
        personalities = {"before": args.before_personality, "after": args.after_personality}
        envs = {name: start_kernel(build, base, name, personalities[name])
                for name, build in builds.items()}
        runs = {name: {} for name in builds}
        for r in range(args.rounds):
            for name in (list(builds) if r % 2 == 0 else list(builds)[::-1]):
                bench = os.path.join(builds[name], "tools", "bench", "ce_bench")
                command = [bench, "--dir", "\\Temp", "--samples", str(args.samples)]
                if args.wall:
                    for row in args.rows.split(","):
                        start = time.monotonic()
                        subprocess.run(command + ["--only", row], env=envs[name],
                                       stdout=subprocess.DEVNULL, check=True)
                        runs[name].setdefault(row, []).append((time.monotonic() - start) * 1000)
                    continue
                out = subprocess.run(command + extra, env=envs[name], stdout=subprocess.PIPE,
                                     text=True, check=True)
                for line in out.stdout.splitlines():
                    f = line.split()
                    if f and f[0] == "R":
                        runs[name].setdefault(f[1], []).append(float(f[2]))
        unit = "ms" if args.wall else "µs"
        print(f"{'row':14s} {'before ' + unit + ' [min..max]':>28s} {'after ' + unit + ' [min..max]':>28s}  after÷before")
        for row, before in runs["before"].items():
            after = runs["after"].get(row)
            if not after:
                continue
            mb, ma = statistics.median(before), statistics.median(after)
            print(f"{row:14s} {mb:9.2f} [{min(before):.2f}..{max(before):.2f}]".ljust(43) +
                  f" {ma:9.2f} [{min(after):.2f}..{max(after):.2f}]".ljust(29) + f"  {ma / mb:.2f}×")
    finally:
        load.__exit__(None, None, None)
        shutil.rmtree(base, ignore_errors=True)  # the kernels exit on their own (--idle-exit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
