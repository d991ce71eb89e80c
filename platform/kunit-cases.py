#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""KUnit helpers of the test runners (run-tests.sh, run-qemu.sh).

kunit-cases.py suites DIR...
    the KUnit suites declared with #[kunit_tests(NAME)] in the Rust files
    under DIR..., comma-separated.
kunit-cases.py glob SUITES
    one glob (kunit.filter_glob) that matches the comma-separated SUITES
    and as few others as it can: their common prefix, a set of the
    characters that follow it in them, and "*".
kunit-cases.py cases JSON SUITES PREFIX
    one line "STATUS PREFIX.SUITE.CASE" per test case in the JSON of
    `kunit.py parse --json`: STATUS is 0 (pass), s (skip) or 1 (fail).  A
    suite of the comma-separated SUITES that did not run, or ran no case,
    is a failure.  Prints nothing if JSON cannot be read.
kunit-cases.py slowest LOG
    "SECONDS CASE" of the test case of the console log LOG that took
    longest, from the printk timestamps of its KTAP lines (a case's time
    runs from the KTAP line before its result line to that line).
kunit-cases.py running LOG LINE
    the test case that was running at line LINE of LOG: the first case
    whose result comes after that line, or "after CASE" if none does.
"""
import json
import os
import re
import sys


def suites(dirs):
    names = set()
    for top in dirs:
        for root, _, files in os.walk(top):
            for f in files:
                if f.endswith(".rs"):
                    with open(os.path.join(root, f), errors="replace") as fh:
                        names.update(re.findall(r"kunit_tests\(([a-z0-9_]+)\)", fh.read()))
    print(",".join(sorted(names)))


def glob(wanted):
    names = sorted(set(filter(None, wanted.split(","))))
    if len(names) == 1:
        print(names[0])
        return
    prefix = os.path.commonprefix(names)
    nexts = sorted(set(n[len(prefix)] for n in names if len(n) > len(prefix)))
    if len(nexts) > 1 and all(n != prefix for n in names):
        prefix += "[" + "".join(nexts) + "]"
    print(prefix + "*")


def cases(path, wanted, prefix):
    try:
        with open(path) as fh:
            d = json.load(fh)
    except Exception:
        return
    want = set(filter(None, wanted.split(",")))
    seen = set()

    def walk(group, name_prefix):
        for g in group.get("sub_groups", []):
            name = name_prefix + g["name"]
            seen.add(g["name"])
            for c in g.get("test_cases", []):
                st = {"PASS": "0", "SKIP": "s"}.get(c["status"], "1")
                print(f"{st} {prefix}.{name}.{c['name']}")
            if not g.get("test_cases") and not g.get("sub_groups"):
                print(f"1 {prefix}.{name} (no test cases ran)")
            walk(g, name + ".")

    walk(d, "")
    for s in sorted(want - seen):
        print(f"1 {prefix}.{s} (suite did not run)")


KTAP = re.compile(r"^\[\s*(\d+\.\d+)\]\s*(.*)$")
RESULT = re.compile(r"^(?:not )?ok \d+ ([A-Za-z0-9_.]+)")


def ktap_lines(path):
    """(line number, timestamp, KTAP text) of the KTAP lines of a console log."""
    with open(path, errors="replace") as fh:
        for no, line in enumerate(fh, 1):
            m = KTAP.match(line)
            if m and re.match(r"(KTAP version|# Subtest:|\d+\.\.\d+|(not )?ok \d+)", m.group(2)):
                yield no, float(m.group(1)), m.group(2)


def slowest(path):
    best, prev = None, None
    for _, ts, text in ktap_lines(path):
        m = RESULT.match(text)
        if m and prev is not None and (best is None or ts - prev > best[0]):
            best = (ts - prev, m.group(1))
        prev = ts
    if best:
        print(f"{best[0]:.1f} {best[1]}")


def running(path, line):
    last = None
    for no, _, text in ktap_lines(path):
        m = RESULT.match(text)
        if not m:
            continue
        if no > line:
            print(m.group(1))
            return
        last = m.group(1)
    print(f"after {last}" if last else "before the first case")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "suites":
        suites(sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "glob":
        glob(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "cases":
        cases(*sys.argv[2:5])
    elif len(sys.argv) == 3 and sys.argv[1] == "slowest":
        slowest(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "running":
        running(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)
