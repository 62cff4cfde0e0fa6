#!/usr/bin/env python3
"""Checks the include layering of the source tree (docs/architecture.md, "Layers").

Each rule names a part of the tree and the include prefixes that part may use. An include of
the project's own headers outside its rule's list fails the check, with file, line and rule.
System and library headers (<...>) are not checked. Usage: check_layers.py [SOURCE_ROOT]
"""
import pathlib
import re
import sys

# Headers of protocol/ that are plain data (CE constants, record schemas, clocks, the layouts of
# memory an object shares with its clients), which the kernel core may use; the request and
# reply layouts and the transport are not among them.
PROTOCOL_DATA = ["protocol/ce_constants.h", "protocol/snapshot.h", "protocol/wire.h",
                 "protocol/trace.h", "protocol/request_codes.h", "protocol/futex.h",
                 "protocol/window.h", "protocol/msg_ring.h", "protocol/mutex_word.h",
                 "protocol/file_position.h"]
KERNEL_CORE = ["kernel/core/"]
KERNEL_OBJECTS = KERNEL_CORE + ["kernel/objects/"]
KERNEL_RULES = KERNEL_OBJECTS + ["kernel/personality/", "kernel/diagnostics/", "kernel/kernel.h",
                                 "kernel/kernel_impl.h", "kernel/log.h",
                                 "kernel/log_sink.h"]
LOWER = ["common/", "fsys/"]

# (path prefix, allowed include prefixes), first match wins.
RULES = [
    ("common/", ["common/"]),
    ("fsys/", ["common/", "fsys/"]),
    ("protocol/", ["common/", "protocol/"]),
    ("kernel/core/", LOWER + PROTOCOL_DATA + KERNEL_CORE),
    ("kernel/objects/", LOWER + PROTOCOL_DATA + KERNEL_OBJECTS + ["kernel/log.h"]),
    ("kernel/personality/", LOWER + PROTOCOL_DATA + KERNEL_OBJECTS + ["kernel/personality/"]),
    ("kernel/diagnostics/", LOWER + PROTOCOL_DATA + KERNEL_RULES),
    ("kernel/kernel", LOWER + PROTOCOL_DATA + KERNEL_RULES),
    ("kernel/log.", ["common/", "kernel/log.h"]),
    ("kernel/dispatch/", LOWER + ["protocol/"] + KERNEL_RULES + ["kernel/dispatch/", "kernel/handlers/"]),
    ("kernel/handlers/", LOWER + ["protocol/"] + KERNEL_RULES + ["kernel/dispatch/", "kernel/handlers/"]),
    ("kernel/ipc/", LOWER + ["protocol/"] + KERNEL_RULES + ["kernel/dispatch/", "kernel/ipc/"]),
    ("kernel/main.cpp", LOWER + ["protocol/", "kernel/"]),
    ("coredll/", LOWER + ["protocol/", "coredll/"]),
    ("tools/cedump/", ["common/", "protocol/", "tools/cedump/", "coredll/client/", "fsys/registry/"]),
]

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def rule_for(path):
    for prefix, allowed in RULES:
        if path.startswith(prefix):
            return prefix, allowed
    return None, None


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    problems = []
    checked = 0
    for file in sorted(root.rglob("*")):
        if file.suffix not in (".h", ".cpp", ".c", ".def") or not file.is_file():
            continue
        rel = file.relative_to(root).as_posix()
        prefix, allowed = rule_for(rel)
        if prefix is None:
            continue
        checked += 1
        for number, line in enumerate(file.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(1)
            beside = pathlib.PurePosixPath(rel).parent / target
            if "/" not in target or (root / beside).is_file():  # relative to the including file
                target = str(beside)
            if not any(target.startswith(a) for a in allowed):
                problems.append(f"{rel}:{number}: includes {target}, outside the {prefix} layer")
    for p in problems:
        print(p)
    print(f"{checked} files checked, {len(problems)} layering problems")
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
