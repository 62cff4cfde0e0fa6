#!/usr/bin/env python3
"""CEKernel's benchmark suite: runs ce_bench (one C source, Win32 names only) built three ways,
interleaved in one run, and prints a side-by-side table; optionally writes an SVG chart and the
table as Markdown (docs/performance.md).

  CEKernel  ce_bench built against libcoredll, with a private kernel
  Wine      ce_bench.exe built with mingw-w64, run under Wine (when both are installed)
  floor     ce_bench_floor: the same source on floor/windows.h, each call in-process in POSIX

Each round runs every build once (the order rotates per round); a build's figure for a call is
the median of its run medians, and the spread is the min..max of those run medians. Ratios are
taken within this one run, so they survive a busy machine better than absolute times.

The `process` row starts ce_noop (ce_noop.c, exits 0): the CE build, linked with libcoredll, from
the kernel's object store (\\Windows\\ce_noop.exe, copied there at set-up); for the floor the
build without libcoredll, from a root of its own ($CEK_ROOT/Windows/ce_noop.exe); for Wine the
mingw-w64 build beside ce_bench.exe.

Beyond the per-call rows: throughput with 1, 2, 4 and 8 client processes; latency with 60,000
live handles (10,000 of them mappings) against the empty kernel; kernel memory per handle; the
kernel's CPU time while idle; process start to the first completed call with auto-start.

Everything runs at ordinary priority, as users run it. --fifo adds a labelled column: the same
CEKernel build with its own kernel at SCHED_FIFO 1. --load runs the per-call rows once per load
(load.py: quiet, spinN, compileN), one table each, the builds interleaved within each.

  python3 tools/bench/cek_bench.py --build build-bench [--wine] [--install-wine] [--rounds 7]
      [--samples 5000] [--svg docs/perf-chart.svg] [--markdown out.md] [--only ID,ID...]
      [--fifo] [--load quiet,spin1,spin2,compile2]
  python3 tools/bench/cek_bench.py --build build --smoke      # the CI smoke run (no Wine)
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from load import KINDS, Load

HERE = os.path.dirname(os.path.abspath(__file__))

# id -> (label, class). Classes carry the targets.
ROWS = [
    ("map_create", "CreateFileMappingW new named 64 KiB + CloseHandle", "object"),
    ("map_open", "CreateFileMappingW existing name + CloseHandle", "object"),
    ("file_open", "CreateFileW existing + CloseHandle", "object"),
    ("open_read4k", "same + the handle's first ReadFile 4 KiB", "info"),
    ("file_mapping", "CreateFileForMappingW + CreateFileMappingW + CloseHandle", "object"),
    ("view_ram", "MapViewOfFile+UnmapViewOfFile 64 KiB, RAM", "object"),
    ("view_ram_kept", "same, another view of the mapping kept", "info"),
    ("view_file", "MapViewOfFile+UnmapViewOfFile 64 KiB, 64 KiB file", "object"),
    ("view_file_big", "same, 64 KiB of a 64 MiB file", "info"),
    ("file_size", "GetFileSize", "handle"),
    ("seek", "SetFilePointer", "handle"),
    ("read4k", "SetFilePointer + ReadFile 4 KiB", "handle"),
    ("write4k", "SetFilePointer + WriteFile 4 KiB", "handle"),
    ("read1m", "ReadFile 1 MiB (page cache)", "bulk"),
    ("touch64m", "first touch of a 64 MiB file view, writing each page", "bulk"),
    ("read64m", "first touch of a 64 MiB file view, reading each page", "bulk"),
    ("flush", "FlushViewOfFile 64 KiB, one dirty page", "info"),
    ("critsec", "EnterCriticalSection + LeaveCriticalSection, uncontended", "info"),
    ("mutex", "WaitForSingleObject + ReleaseMutex, named mutex, uncontended", "info"),
    ("attr_missing", "GetFileAttributesW of a missing file", "info"),
    ("thread", "CreateThread + WaitForSingleObject + CloseHandle (floor: pthread_create + join)",
     "object"),
    ("wait_exited", "WaitForSingleObject on a thread that has exited", "object"),
    ("process", "CreateProcessW + WaitForSingleObject + GetExitCodeProcess + CloseHandle ×2 "
     "(floor: posix_spawn + waitpid)", "process"),
]
LABEL = {r[0]: r[1] for r in ROWS}
CLASS = {r[0]: r[2] for r in ROWS}
VARIANTS = ["cek", "cekfifo", "wine", "floor"]
NAMES = {"cek": "CEKernel", "cekfifo": "CEKernel FIFO", "wine": "Wine", "floor": "floor"}
COLOURS = {"cek": "#2b6cb0", "cekfifo": "#90cdf4", "wine": "#c05621", "floor": "#718096"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Suite:
    def __init__(self, args):
        self.args = args
        build = os.path.abspath(args.build)
        self.kernel_exe = os.path.join(build, "kernel", "cekernel")
        self.cedump_exe = os.path.join(build, "tools", "cedump", "cedump")
        self.bench = {"cek": os.path.join(build, "tools", "bench", "ce_bench"),
                      "floor": os.path.join(build, "tools", "bench", "ce_bench_floor")}
        # The `process` row's child: a CE program, and the same source without libcoredll.
        noop = {"cek": os.path.join(build, "tools", "bench", "ce_noop"),
                "floor": os.path.join(build, "tools", "bench", "ce_noop_host")}
        for exe in [self.kernel_exe, self.cedump_exe] + list(self.bench.values()) + \
                list(noop.values()):
            if not os.access(exe, os.X_OK):
                sys.exit(f"cek_bench: {exe} is missing: build it first")
        if args.fifo and subprocess.run(["chrt", "-f", "1", "true"]).returncode != 0:
            sys.exit("cek_bench: --fifo needs the right to use SCHED_FIFO (root or rtprio)")
        self.build = build
        self.base = tempfile.mkdtemp(prefix="cekbench-", dir=args.tmp)
        self.instance = f"bench-{os.getpid()}"
        self.run_dir = os.path.join(self.base, "run")
        os.mkdir(self.run_dir, 0o700)
        self.root = os.path.join(self.base, "root")
        os.mkdir(self.root)
        self.floor_root = os.path.join(self.base, "floor-root")
        # --fifo: a second kernel, instance and root, for the labelled SCHED_FIFO column.
        self.fifo_instance = self.instance + "-fifo"
        self.fifo_root = os.path.join(self.base, "fifo-root")
        roots = [("cek", self.root), ("floor", self.floor_root)]
        if args.fifo:
            roots.append(("cek", self.fifo_root))
            self.bench["cekfifo"] = self.bench["cek"]
        for v, root in roots:
            os.makedirs(os.path.join(root, "Windows"))
            shutil.copy2(noop[v], os.path.join(root, "Windows", "ce_noop.exe"))
        self.dirs = {"cek": "\\Temp", "cekfifo": "\\Temp",
                     "floor": os.path.join(self.base, "floor")}
        os.mkdir(self.dirs["floor"])
        self.kernels = []  # pids of kernels this run started
        self.tables = {}  # load -> the per-call rows measured under it
        self.wineserver = None
        self.kernel_pid = None
        if args.wine:
            self.setup_wine(build)

    # ---- environments ----
    def cek_env(self, instance=None, root=None):
        env = dict(os.environ)
        env.update({"CEK_INSTANCE": instance or self.instance, "CEK_ROOT": root or self.root,
                    "CEK_RUNTIME_DIR": self.run_dir, "CEK_KERNEL": self.kernel_exe})
        return env

    def setup_wine(self, build):
        wine = shutil.which("wine64") or ("/usr/lib/wine/wine64"
                                          if os.access("/usr/lib/wine/wine64", os.X_OK) else None)
        cc = shutil.which("x86_64-w64-mingw32-gcc")
        if self.args.install_wine and (wine is None or cc is None):
            log("installing mingw-w64 and Wine from Debian")
            sudo = [] if os.geteuid() == 0 else ["sudo"]
            subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                            "gcc-mingw-w64-x86-64", "wine64", "wine"], check=True,
                           stdout=subprocess.DEVNULL,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
            wine = shutil.which("wine64") or "/usr/lib/wine/wine64"
            cc = shutil.which("x86_64-w64-mingw32-gcc")
        if wine is None or cc is None:
            log("cek_bench: no Wine or no mingw-w64 (use --install-wine): Wine columns skipped")
            return
        exe = os.path.join(build, "tools", "bench", "ce_bench.exe")
        subprocess.run([cc, "-O2", "-o", exe, os.path.join(HERE, "ce_bench.c")], check=True)
        # The `process` row's child, found beside ce_bench.exe.
        subprocess.run([cc, "-O2", "-o", os.path.join(build, "tools", "bench", "ce_noop.exe"),
                        os.path.join(HERE, "ce_noop.c")], check=True)
        prefix = os.path.join(build, "tools", "bench", "wineprefix")
        self.wine_env = dict(os.environ, WINEPREFIX=prefix, WINEDEBUG="-all",
                             WINEDLLOVERRIDES="mscoree,mshtml=")
        wine_dir = os.path.join(self.base, "wine")
        os.mkdir(wine_dir)
        self.dirs["wine"] = "Z:" + wine_dir.replace("/", "\\")
        self.bench["wine"] = exe
        self.wine = wine
        server = os.path.join(os.path.dirname(os.path.realpath(wine)), "wineserver")
        if not os.access(server, os.X_OK):
            server = shutil.which("wineserver") or "wineserver"
        self.wineserver_exe = server
        # A persistent server, as a Wine user's session has; the first run creates the prefix.
        self.wineserver = subprocess.Popen([server, "-f", "-p"], env=self.wine_env)
        log("warming Wine up (creates the prefix on first use)")
        self.run_bench("wine", ["--first-call"])

    def command(self, variant, extra):
        if variant == "wine":
            return [self.wine, self.bench["wine"]] + extra
        fifo = ["chrt", "-f", "1"] if variant == "cekfifo" else []
        return fifo + [self.bench[variant]] + extra

    def env(self, variant):
        if variant == "wine":
            return self.wine_env
        if variant == "cekfifo":
            return self.cek_env(self.fifo_instance, self.fifo_root)
        # The floor looks the `process` row's child up under $CEK_ROOT, in a root of its own.
        return self.cek_env(root=self.floor_root if variant == "floor" else None)

    def run_bench(self, variant, extra):
        # Output goes to files, not pipes: Wine's service processes inherit the descriptors and
        # outlive the program, so reading a pipe to its end would wait for them.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            p = subprocess.run(self.command(variant, extra), env=self.env(variant), stdout=out,
                               stderr=err, stdin=subprocess.DEVNULL, timeout=900)
            out.seek(0)
            err.seek(0)
            if p.returncode != 0:
                raise RuntimeError(f"{NAMES[variant]} ce_bench {' '.join(extra)} failed "
                                   f"({p.returncode}): {err.read().strip()}")
            return out.read().splitlines()

    def start_kernel(self):
        subprocess.run([self.kernel_exe, "--instance", self.instance, "--root", self.root,
                        "--idle-exit", "3600"],
                       env=self.cek_env(), check=True, stdout=subprocess.DEVNULL)
        self.kernel_pid = self.snapshot()["pid"]
        self.kernels.append(self.kernel_pid)
        if self.args.fifo:
            subprocess.run(["chrt", "-f", "1", self.kernel_exe, "--instance", self.fifo_instance,
                            "--root", self.fifo_root, "--idle-exit", "3600"],
                           env=self.cek_env(self.fifo_instance, self.fifo_root), check=True,
                           stdout=subprocess.DEVNULL)
            self.kernels.append(self.snapshot(self.fifo_instance, self.fifo_root)["pid"])

    def snapshot(self, instance=None, root=None):
        """The kernel's header from cedump --json (kernel pid, memory)."""
        p = subprocess.run([self.cedump_exe, "--instance", instance or self.instance, "--json",
                            "processes"], env=self.cek_env(instance, root),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True)
        doc = json.loads(p.stdout)
        return doc.get("kernel", doc)

    def variants(self):
        return [v for v in VARIANTS if v in self.bench]

    # ---- the per-call rows ----
    def latency(self, load):
        """The per-call rows, every build interleaved, while `load` runs (load.py)."""
        runs = {v: {} for v in self.variants()}
        samples = ["--samples", str(self.args.samples)] if not self.args.smoke else ["--smoke"]
        if self.args.only:
            samples += ["--only", self.args.only]
        for r in range(self.args.rounds):
            order = self.variants()
            order = order[r % len(order):] + order[:r % len(order)]
            for v in order:
                log(f"{load}: round {r + 1}/{self.args.rounds}: {NAMES[v]}")
                for line in self.run_bench(v, ["--dir", self.dirs[v]] + samples):
                    f = line.split()
                    if f and f[0] == "R":
                        runs[v].setdefault(f[1], []).append((float(f[2]), float(f[6])))
        self.rows = {}
        self.tables[load] = self.rows
        for v, rows in runs.items():
            for rid, vals in rows.items():
                medians = [m for m, _ in vals]
                self.rows.setdefault(rid, {})[v] = {
                    "median": statistics.median(medians), "min": min(medians),
                    "max": max(medians), "bytes": vals[0][1]}
        wanted = self.args.only.split(",") if self.args.only else [rid for rid, _, _ in ROWS]
        missing = [rid for rid in wanted if "cek" not in self.rows.get(rid, {})]
        if missing:
            raise RuntimeError(f"no CEKernel figure for {', '.join(missing)}")

    # ---- throughput ----
    def throughput(self):
        seconds = 0.3 if self.args.smoke else 1.5
        self.tp = {}
        for v in [v for v in self.variants() if v != "cekfifo"]:
            for n in (1, 2, 4, 8):
                procs = [subprocess.Popen(self.command(v, ["--throughput", str(seconds),
                                                           "--client", str(k)]),
                                          env=self.env(v), stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, text=True) for k in range(n)]
                for p in procs:
                    if p.stdout.readline().strip() != "ready":
                        raise RuntimeError(f"{NAMES[v]} throughput client did not start")
                for p in procs:
                    p.stdin.write("go\n")
                    p.stdin.flush()
                rate = 0.0
                for p in procs:
                    f = p.stdout.readline().split()  # not to EOF: see run_bench
                    if p.wait(timeout=120) != 0 or len(f) < 3 or f[0] != "T":
                        raise RuntimeError(f"{NAMES[v]} throughput client failed")
                    rate += float(f[1]) / (float(f[2]) / 1e6)
                    p.stdout.close()
                    p.stdin.close()
                self.tp[(v, n)] = rate
                log(f"throughput {NAMES[v]} x{n}: {rate:,.0f} pairs/s")

    # ---- scale, memory, idle, first call (CEKernel only) ----
    def kernel_rss(self):
        with open(f"/proc/{self.kernel_pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def kernel_cpu_ticks(self):
        with open(f"/proc/{self.kernel_pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    def scale(self):
        args = ["--dir", self.dirs["cek"], "--scale"] + (["--smoke"] if self.args.smoke else
                                                          ["--samples", str(self.args.samples)])
        p = subprocess.Popen(self.command("cek", args), env=self.cek_env(), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        self.scale_rows = {}
        mem = {}

        def read_until_ready():
            while True:
                line = p.stdout.readline()
                if not line:
                    raise RuntimeError("ce_bench --scale stopped early")
                f = line.split()
                if f[0] == "ready":
                    return
                if f[0] in ("E", "L"):
                    self.scale_rows.setdefault(f[1], {})[f[0]] = float(f[2])
                if f[0] == "H":
                    self.scale_handles, self.scale_mappings = int(f[1]), int(f[2])

        read_until_ready()
        mem["rss0"], mem["acct0"] = self.kernel_rss(), self.snapshot().get("memory_bytes", 0)
        p.stdin.write("go\n")
        p.stdin.flush()
        read_until_ready()
        mem["rss1"], mem["acct1"] = self.kernel_rss(), self.snapshot().get("memory_bytes", 0)
        p.stdin.write("go\n")
        p.stdin.flush()
        out, _ = p.communicate(timeout=600)
        for line in out.splitlines():
            f = line.split()
            if f and f[0] == "L":
                self.scale_rows.setdefault(f[1], {})["L"] = float(f[2])
        if p.returncode != 0:
            raise RuntimeError("ce_bench --scale failed")
        self.mem = mem

    def idle(self):
        seconds = 1.0 if self.args.smoke else 5.0
        p = subprocess.Popen(self.command("cek", ["--idle"]), env=self.cek_env(),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError("ce_bench --idle did not start")
        time.sleep(0.2)  # let the kernel finish the call and fall asleep
        t0, c0 = time.monotonic(), self.kernel_cpu_ticks()
        time.sleep(seconds)
        t1, c1 = time.monotonic(), self.kernel_cpu_ticks()
        p.communicate("go\n", timeout=30)
        hz = os.sysconf("SC_CLK_TCK")
        self.idle_cpu = ((c1 - c0) / hz, t1 - t0)

    def first_call(self):
        runs = 3 if self.args.smoke else 9
        cold = []
        for i in range(runs):
            instance = f"{self.instance}-first{i}"
            root = os.path.join(self.base, f"first{i}")
            os.mkdir(root)
            p = subprocess.run(self.command("cek", ["--first-call"]),
                               env=self.cek_env(instance, root), stdout=subprocess.PIPE,
                               text=True, check=True, timeout=60)
            cold.append(float(p.stdout.split()[1]) / 1000.0)
            self.kernels.append(self.snapshot(instance, root)["pid"])
        warm = [float(self.run_bench("cek", ["--first-call"])[0].split()[1]) / 1000.0
                for _ in range(runs)]
        self.first = (statistics.median(cold), min(cold), max(cold), statistics.median(warm))

    def close(self):
        for pid in self.kernels:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if self.wineserver is not None:
            subprocess.run([self.wineserver_exe, "-k"], env=self.wine_env)
            self.wineserver.wait(timeout=30)
        deadline = time.monotonic() + 10
        for pid in self.kernels:  # the kernels' roots go away with the base directory
            while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
                time.sleep(0.05)
        shutil.rmtree(self.base, ignore_errors=True)


# ---- reporting ----
def fmt_time(us):
    return f"{us:.2f}" if us < 100 else f"{us:,.0f}"


def cell(row, v):
    s = row.get(v)
    if s is None:
        return "—"
    text = f"{fmt_time(s['median'])} [{fmt_time(s['min'])}..{fmt_time(s['max'])}]"
    if s["bytes"] > 0:
        text += f" = {s['bytes'] / s['median']:,.0f} MB/s"
    return text


def verdict(rid, row, load):
    """(wine/cek, cek/floor, target text, met or None). Under load the issue's object-call
    target is "faster than Wine and within 3x of the floor under the same load"."""
    cek = row["cek"]["median"]
    wine = row["wine"]["median"] / cek if "wine" in row else None
    floor = cek / row["floor"]["median"] if "floor" in row else None
    klass = CLASS[rid]
    if load != "quiet":
        if klass != "object":
            return wine, floor, "—", None
        return wine, floor, ">1× Wine, ≤3× floor", (wine is None or wine > 1) and \
            (floor is None or floor <= 3)
    if klass == "object":
        target, ok = "≥10× Wine, ≤2× floor", [wine is None or wine >= 10,
                                              floor is None or floor <= 2]
    elif klass == "handle":
        target, ok = "≥1.5× Wine, ≤1.3× native", [wine is None or wine >= 1.5,
                                                  floor is None or floor <= 1.3]
    elif klass == "process":
        target, ok = "≥5× Wine, ≤2× floor", [wine is None or wine >= 5,
                                             floor is None or floor <= 2]
    elif klass == "bulk":
        target, ok = "≥0.95× native", [floor is None or floor <= 1 / 0.95]
    else:
        return wine, floor, "—", None
    return wine, floor, target, all(ok)


def load_title(load):
    if load == "quiet":
        return "no other load"
    kind, n = ("spin", load[4:]) if load.startswith("spin") else ("compile", load[7:])
    return f"{n} {'CPU-bound process' if kind == 'spin' else 'compile loop'}" + \
        ("es" if kind == "spin" and n != "1" else "s" if n != "1" else "")


def table_lines(suite, load, markdown):
    rows = suite.tables[load]
    fifo = "cekfifo" in suite.bench
    cols = ["cek"] + (["cekfifo"] if fifo else []) + ["wine", "floor"]
    head = ["call"] + [f"{NAMES[v]} µs [spread]" for v in cols] + \
        ["Wine ÷ CEKernel", "CEKernel ÷ floor", "target", "met"]
    lines = []
    title = f"load: {load} ({load_title(load)}), ordinary priority" + \
        (", CEKernel FIFO column at SCHED_FIFO 1" if fifo else "")
    if markdown:
        lines += [f"**{title}**", "", "| " + " | ".join(head) + " |",
                  "|---|" + "---:|" * (len(cols) + 2) + "---|---|"]
    else:
        lines += [title, f"{'call':58} " + " ".join(f"{NAMES[v]:>34}" for v in cols) +
                  f" {'W/CEK':>7} {'CEK/fl':>7}  met"]
    for rid, label, _ in ROWS:
        row = rows.get(rid)
        if row is None:
            continue
        wine, floor, target, ok = verdict(rid, row, load)
        w = f"{wine:.1f}×" if wine is not None else "—"
        f = f"{floor:.2f}×" if floor is not None else "—"
        met = "—" if ok is None else ("yes" if ok else "**no**" if markdown else "NO")
        if markdown:
            lines.append(f"| {label} | " + " | ".join(cell(row, v) for v in cols) +
                         f" | {w} | {f} | {target} | {met} |")
        else:
            lines.append(f"{label[:58]:58} " + " ".join(f"{cell(row, v):>34}" for v in cols) +
                         f" {w:>7} {f:>7}  {met}")
    return lines


def all_tables(suite, markdown):
    out = []
    for load in suite.tables:
        out += table_lines(suite, load, markdown) + [""]
    return out


def extra_lines(suite, markdown):
    out = []
    p = "- " if markdown else ""
    if hasattr(suite, "tp"):
        for v in suite.variants():
            rates = [suite.tp.get((v, n)) for n in (1, 2, 4, 8)]
            if None in rates:
                continue
            text = ", ".join(f"{n}: {r:,.0f}" for n, r in zip((1, 2, 4, 8), rates))
            out.append(f"{p}Throughput, {NAMES[v]}, open existing mapping + close, pairs/s by "
                       f"client processes: {text} (2 vs 1: {rates[1] / rates[0]:.2f}×, "
                       f"8 vs 1: {rates[3] / rates[0]:.2f}×)")
    if hasattr(suite, "mem"):
        parts = []
        for rid, vals in suite.scale_rows.items():
            if "E" in vals and "L" in vals:
                parts.append(f"{LABEL[rid]} {vals['E']:.2f} → {vals['L']:.2f} µs "
                             f"({vals['L'] / vals['E']:.2f}×)")
        out.append(f"{p}Latency, empty kernel → {suite.scale_handles:,} live handles "
                   f"({suite.scale_mappings:,} mappings): " + "; ".join(parts))
        m = suite.mem
        rss = (m["rss1"] - m["rss0"]) / suite.scale_handles
        acct = (m["acct1"] - m["acct0"]) / suite.scale_handles
        out.append(f"{p}Kernel memory per live handle (handle, object and its bookkeeping): "
                   f"{rss:.0f} B of resident memory, {acct:.0f} B by the kernel's own count")
    if hasattr(suite, "idle_cpu"):
        cpu, wall = suite.idle_cpu
        out.append(f"{p}Idle kernel with a connected client: {cpu * 1000:.0f} ms CPU in "
                   f"{wall:.1f} s")
    if hasattr(suite, "first"):
        med, lo, hi, warm = suite.first
        out.append(f"{p}Process start to first completed call: {med:.1f} ms with auto-start "
                   f"[{lo:.1f}..{hi:.1f}], {warm:.2f} ms with the kernel running")
    return out


def write_svg(suite, path):
    """Grouped horizontal bars, µs on a log scale: CEKernel, Wine, floor per call, from the
    first load's table."""
    import math
    table = next(iter(suite.tables.values()))
    rows = [(rid, label) for rid, label, _ in ROWS if rid in table
            and CLASS[rid] not in ("bulk", "process") and rid != "flush"]
    variants = [v for v in suite.variants() if v != "cekfifo"]
    bar, gap, left, width, top = 9, 10, 370, 480, 40
    group = bar * len(variants) + gap
    height = top + group * len(rows) + 50
    lo, hi = 0.5, 1000.0
    def x(us):
        us = min(max(us, lo), hi)
        return left + width * (math.log10(us) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 90}" height="{height}" '
         f'font-family="sans-serif" font-size="11">',
         f'<rect width="100%" height="100%" fill="white"/>',
         f'<text x="{left}" y="16" font-size="13" font-weight="bold">Median µs per call '
         f'(log scale; lower is better)</text>']
    for i, v in enumerate(variants):
        s.append(f'<rect x="{left + i * 110}" y="24" width="10" height="10" fill="{COLOURS[v]}"/>'
                 f'<text x="{left + i * 110 + 14}" y="33">{NAMES[v]}</text>')
    for tick in (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000):
        tx = x(tick)
        s.append(f'<line x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{height - 40}" '
                 f'stroke="#e2e8f0"/><text x="{tx:.1f}" y="{height - 26}" '
                 f'text-anchor="middle">{tick:g}</text>')
    for k, (rid, label) in enumerate(rows):
        y0 = top + k * group
        s.append(f'<text x="{left - 6}" y="{y0 + group / 2 + 2:.1f}" text-anchor="end">'
                 f'{label.replace("&", "&amp;")}</text>')
        for i, v in enumerate(variants):
            st = table[rid].get(v)
            if st is None:
                continue
            y = y0 + i * bar
            s.append(f'<rect x="{left}" y="{y}" width="{x(st["median"]) - left:.1f}" '
                     f'height="{bar - 1}" fill="{COLOURS[v]}"/>')
            s.append(f'<text x="{x(st["median"]) + 3:.1f}" y="{y + bar - 1}" font-size="8">'
                     f'{fmt_time(st["median"])}</text>')
    s.append(f'<text x="{left + width / 2}" y="{height - 8}" text-anchor="middle">µs</text>')
    s.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(s) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build", help="meson build directory")
    ap.add_argument("--smoke", action="store_true", help="a few hundred iterations, no Wine")
    ap.add_argument("--wine", action="store_true", help="also run the mingw-w64 build under Wine")
    ap.add_argument("--install-wine", action="store_true",
                    help="apt-get install mingw-w64 and Wine when missing (implies --wine)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--svg", help="write the chart here")
    ap.add_argument("--markdown", help="write the tables as Markdown here")
    ap.add_argument("--tmp", default=None, help="where the files and kernel roots go")
    ap.add_argument("--only", help="only these per-call rows (ce_bench ids, comma-separated); "
                                   "skips throughput, scale, idle and first call")
    ap.add_argument("--fifo", action="store_true",
                    help="add a labelled column: CEKernel (a second kernel and its clients) at "
                         "SCHED_FIFO priority 1, which users do not have; every other column "
                         "runs at ordinary priority")
    ap.add_argument("--load", default="quiet",
                    help="comma-separated loads to run the per-call rows under, one table each: "
                         + ", ".join(KINDS) + " (load.py); throughput, scale, idle and first "
                         "call run after them, quiet")
    args = ap.parse_args()
    loads = args.load.split(",")
    for kind in loads:
        try:
            Load(kind, args.build)
        except ValueError as e:
            ap.error(str(e))
    if args.install_wine:
        args.wine = True
    if args.smoke:
        args.wine, args.rounds = False, 1
    suite = Suite(args)
    failed = False
    try:
        suite.start_kernel()
        for kind in loads:
            with Load(kind, suite.build):
                suite.latency(kind)
        if not args.only:
            try:
                suite.throughput()
                suite.scale()
                suite.idle()
                suite.first_call()
            except (RuntimeError, subprocess.SubprocessError) as e:
                # The per-call tables are printed anyway: they took the longest.
                log(f"cek_bench: {e}")
                failed = True
    finally:
        suite.close()
    print("\n".join(all_tables(suite, False) + extra_lines(suite, False)))
    if args.svg:
        write_svg(suite, args.svg)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(all_tables(suite, True) + extra_lines(suite, True)) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
