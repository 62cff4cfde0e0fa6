#!/usr/bin/env python3
"""Checks cedump --json output (stdin) against the schema documented in docs/cedump.md.

Exits 0 when valid; otherwise prints every violation and exits 1."""
import json
import sys

INT, STR, BOOL, NULL = int, str, bool, type(None)

SCHEMA = {
    "kernel": {"pid": INT, "personality": STR, "uptime_ns": INT, "boot_time_ns": INT,
               "memory_bytes": INT},
    "processes": {"id": INT, "pid": INT, "attach_time_ns": INT, "handles": INT, "views": INT,
                  "huge_bytes": INT, "state": STR, "executable": STR, "ce_id": INT,
                  "parent": INT, "image": STR},
    "handles": {"value": INT, "object": INT, "kernel_owned": BOOL, "type": STR,
                "name": (STR, NULL), "references": list},
    "reference": {"process": INT, "pid": INT, "count": INT, "access": INT},
    "objects": {"id": INT, "handle": INT, "references": INT, "type": STR, "name": (STR, NULL),
                "details": dict},
    "views": {"process": INT, "pid": INT, "address": INT, "object": INT, "offset": INT,
              "size": INT, "access": INT, "dirty": (BOOL, NULL)},
    "names": {"type": STR, "name": STR, "handle": INT, "object": INT},
    "waits": {"process": INT, "pid": INT, "tid": INT, "timeout_ms": (INT, NULL),
              "waited_ns": INT, "handles": list},
    "threads": {"process": INT, "pid": INT, "handle": INT, "tid": INT, "state": STR,
                "suspend_count": INT, "exit_code": (INT, NULL), "waiting_on": list,
                "priority": INT, "quantum_ms": INT, "created": BOOL},
}
SECTIONS = ["processes", "handles", "objects", "views", "files", "names", "waits", "threads"]
STATES = ("idle", "diagnostics", "tracing", "attached", "detached")

errors = []


def check(where, value, fields):
    if not isinstance(value, dict):
        errors.append(f"{where}: not an object")
        return
    if set(value) != set(fields):
        errors.append(f"{where}: keys {sorted(value)} != {sorted(fields)}")
    for key, kind in fields.items():
        if key not in value:
            continue
        v = value[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int in Python: keep the two apart.
        ok = any((isinstance(v, k) and not (k is INT and isinstance(v, bool))) for k in kinds)
        if not ok:
            errors.append(f"{where}.{key}: {v!r} is not {kinds}")


def main():
    doc = json.load(sys.stdin)
    if doc.get("schema") != "cekernel.cedump":
        errors.append("schema is not cekernel.cedump")
    if doc.get("version") != 5:
        errors.append(f"version {doc.get('version')!r} != 5")
    allowed = {"schema", "version", "kernel", *SECTIONS}
    if not set(doc) <= allowed:
        errors.append(f"unknown top-level keys {sorted(set(doc) - allowed)}")
    check("kernel", doc.get("kernel"), SCHEMA["kernel"])
    for section in SECTIONS:
        if section not in doc:
            continue
        if not isinstance(doc[section], list):
            errors.append(f"{section}: not an array")
            continue
        fields = SCHEMA["objects" if section == "files" else section]
        for i, item in enumerate(doc[section]):
            where = f"{section}[{i}]"
            check(where, item, fields)
            if section == "handles":
                for j, ref in enumerate(item.get("references", [])):
                    check(f"{where}.references[{j}]", ref, SCHEMA["reference"])
            if section in ("objects", "files"):
                for k, v in item.get("details", {}).items():
                    if not isinstance(v, str):
                        errors.append(f"{where}.details.{k}: not a string")
            if section == "files" and item.get("type") != "file":
                errors.append(f"{where}: type {item.get('type')!r} in files")
            if section == "processes" and not (item.get("state") in STATES or
                                               str(item.get("state")).startswith("busy ")):
                errors.append(f"{where}.state: {item.get('state')!r}")
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
