#!/usr/bin/env python3
"""Counts test cases over builds' Catch2 JUnit reports and Meson's test logs.

Usage: count_results.py [BUILD_DIR...] (default: build). Each Meson test writes <name>.junit.xml
next to its program. Prints one line over all the builds given, "N passed, M failed", and exits
non-zero when anything failed; the failed cases are named first, one line each, so the end of a CI
log says which they were. A test program that failed without reporting a failed case (a
crash, a timeout, no report) counts as one more failure; so does a build with no test log (it
did not build, or its tests did not run).
"""
import glob
import json
import os
import sys
import xml.etree.ElementTree as ET


def count_report(path):
    """(passed, failed names) of one report's test cases, or None when it is missing or unreadable."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return None
    cases = {}
    for case in root.iter("testcase"):
        name = case.get("classname", "") + "/" + case.get("name", "")
        bad = case.find("failure") is not None or case.find("error") is not None
        cases[name] = cases.get(name, False) or bad
    bad = sorted(name for name, b in cases.items() if b)
    return len(cases) - len(bad), bad


def count_build(build):
    """(passed, failed names) over one build directory's last meson test run."""
    log = os.path.join(build, "meson-logs", "testlog.json")
    passed = 0
    failed = []
    if not os.path.exists(log):
        return 0, ["(no test log: the build failed or its tests did not run)"]
    with open(log) as f:
        entries = [json.loads(line) for line in f if line.strip()]
    for entry in entries:
        name = entry.get("name", "").split(" / ")[-1]  # "project:suite / name"
        reports = glob.glob(os.path.join(build, "tests", "**", name + ".junit.xml"), recursive=True)
        counted = count_report(reports[0]) if reports else None
        ok = entry.get("result") in ("OK", "SKIP", "EXPECTEDFAIL")
        result = entry.get("result")
        if counted is not None:
            passed += counted[0]
            failed += [name + ": " + case for case in counted[1]]
            if not ok and not counted[1]:
                # the program failed after reporting success: crash or timeout
                failed.append(f"{name}: the program ended with {result} after its cases passed")
        elif ok:
            passed += 1  # a plain test with no report of its own
        else:
            failed.append(f"{name}: {result}")
    if passed == 0 and not failed:
        failed.append("(no test ran)")  # that is a failure, not a success
    return passed, failed


def main() -> int:
    passed = failed = 0
    for build in sys.argv[1:] or ["build"]:
        p, names = count_build(build)
        for name in names:
            print(f"failed in {build}: {name}")
        passed += p
        failed += len(names)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
