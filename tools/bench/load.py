"""Background load for the benchmarks: other programs' work at ordinary priority, as on a host
that runs emulated devices next to other jobs (issue 22, "a busy machine").

  spinN    N CPU-bound shell loops (any N from 1)
  compileN N loops, each compiling this project's own translation units over and over (the
           commands of the build's compile_commands.json, output thrown away): real work that
           reads files, forks the compiler driver, sleeps on I/O and uses memory bandwidth

`quiet` is no load. Each worker runs in a session of its own, so stopping kills the compiler it
may be running.
"""
import json
import os
import random
import re
import shlex
import signal
import subprocess

KINDS = ("quiet", "spin1", "spin2", "compile1", "compile2")


def _compile_commands(build):
    """Shell commands that compile the build's C++ sources to nowhere, dependency files off."""
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = json.load(f)
    out = []
    for e in entries:
        if not e["file"].endswith(".cpp") or "subprojects" in e["file"]:
            continue
        args, keep, skip = shlex.split(e["command"]), [], 0
        for a in args:
            if skip:
                skip -= 1
            elif a in ("-o", "-MQ", "-MF"):
                skip = 1
            elif a != "-MD":
                keep.append(a)
        out.append(f"cd {shlex.quote(e['directory'])} && "
                   f"{shlex.join(keep)} -o /dev/null >/dev/null 2>&1")
    if not out:
        raise RuntimeError(f"{build}/compile_commands.json has no C++ source to compile")
    return out


class Load:
    def __init__(self, kind, build):
        if not re.fullmatch(r"quiet|(spin|compile)[1-9][0-9]*", kind):
            raise ValueError(f"unknown load {kind!r} (for example {', '.join(KINDS)})")
        self.kind, self.build, self.procs = kind, build, []

    def __enter__(self):
        if self.kind.startswith("spin"):
            script = "while :; do :; done"
            scripts = [script] * int(self.kind[4:])
        elif self.kind.startswith("compile"):
            cmds = _compile_commands(self.build)
            scripts = []
            for seed in range(int(self.kind[7:])):
                order = cmds[:]
                random.Random(seed).shuffle(order)  # the workers compile different files
                scripts.append("while :; do " + "; ".join(order) + "; done")
        else:
            scripts = []
        self.procs = [subprocess.Popen(["sh", "-c", s], start_new_session=True,
                                       stdin=subprocess.DEVNULL) for s in scripts]
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        self.procs = []
        return False
