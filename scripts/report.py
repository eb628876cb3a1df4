#!/usr/bin/env python3
"""Turn a guest's logs into the crossmem test report.

usage: report.py CONSOLE_LOG TEST_LOG [--status {ok,timeout,error}] [--label L]

The test log holds what guest/init wrote to the test port: "crossmem: BEGIN
abi/prog" ... TAP from the program ... "crossmem: END abi/prog exit=N", and
"crossmem: DONE" at the end. The console log holds the kernel's messages and
is searched for splats. Prints one line per test and a closing
"N passed, N failed" line; exits 1 when anything went wrong.
"""
import argparse
import re
import sys

SPLATS = [
    (re.compile(p), name) for p, name in [
        (r"\bBUG:", "BUG"),
        (r"\bWARNING:", "WARNING"),
        (r"\bOops\b", "Oops"),
        (r"\bKASAN:", "KASAN"),
        (r"\bUBSAN:", "UBSAN"),
        (r"possible .*locking", "lockdep"),
        (r"inconsistent lock state", "lockdep"),
        (r"Kernel panic", "panic"),
        (r"soft lockup", "soft lockup"),
        (r"hard LOCKUP", "hard lockup"),
        (r"blocked for more than \d+ seconds", "hung task"),
        (r"rcu: INFO: .* detected stalls", "RCU stall"),
        (r"general protection fault", "general protection fault"),
        (r"Unable to handle kernel", "kernel fault"),
    ]
]

BEGIN = re.compile(r"crossmem: BEGIN (\S+)")
END = re.compile(r"crossmem: END (\S+) (exit|signal)=(\d+)")
TAP = re.compile(r"^(not ok|ok) \d+ (.*?)(?:\s+#\s*(SKIP|skip|TODO|todo)\b(.*))?$")


def splats(console):
    found = []
    for line in console.splitlines():
        for pat, name in SPLATS:
            if pat.search(line):
                found.append((name, line.strip()))
                break
    return found


def parse_tests(text):
    """Return (results, problems, done): results is [(name, result, why)]."""
    results, problems = [], []
    prog, tapped, done = None, False, False
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        m = BEGIN.search(line)
        if m:
            if prog:
                problems.append(f"{prog}: no END marker (the program died?)")
            prog, tapped = m.group(1), False
            continue
        m = END.search(line)
        if m:
            name, kind, val = m.group(1), m.group(2), int(m.group(3))
            if kind == "signal":
                problems.append(f"{name}: killed by signal {val}")
            elif val != 0 and not any(r[0].startswith(name + ":") and r[1] == "FAIL"
                                      for r in results):
                problems.append(f"{name}: exit status {val}")
            elif not tapped:
                problems.append(f"{name}: printed no test result")
            prog = None
            continue
        if "crossmem: DONE" in line:
            done = True
            continue
        if prog is None:
            continue
        m = TAP.match(line.strip())
        if not m:
            continue
        tapped = True
        status, tname, directive, why = m.groups()
        name = f"{prog}: {tname.strip()}"
        if directive and directive.lower() == "skip":
            results.append((name, "SKIP", (why or "").strip()))
        elif status == "ok" or (directive and directive.lower() == "todo"):
            results.append((name, "PASS", ""))
        else:
            results.append((name, "FAIL", ""))
    if prog:
        problems.append(f"{prog}: no END marker (the guest died or timed out in it)")
    return results, problems, done


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("console")
    ap.add_argument("tests")
    ap.add_argument("--status", default="ok", choices=["ok", "timeout", "error"])
    ap.add_argument("--label", default="")
    args = ap.parse_args()

    def slurp(path):
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    console, tests = slurp(args.console), slurp(args.tests)
    results, problems, done = parse_tests(tests)
    label = f"{args.label}: " if args.label else ""

    for name, result, why in results:
        print(f"{result} {name}" + (f" ({why})" if why else ""))

    if args.status == "timeout":
        problems.append("the guest timed out")
    elif args.status == "error":
        problems.append("QEMU failed")
    if not done and args.status == "ok":
        problems.append("the guest stopped before the tests finished")
    for name, line in splats(console):
        problems.append(f"kernel {name}: {line}")
    if not results:
        problems.append("no test ran")

    passed = sum(1 for r in results if r[1] == "PASS")
    failed = sum(1 for r in results if r[1] == "FAIL")
    skipped = sum(1 for r in results if r[1] == "SKIP")
    for p in problems:
        print(f"ERROR {p}")
    # Problems outside any single test (a splat, a crash) count as failures
    # so that the closing line never reads "0 failed" for a broken run.
    failed += len(problems)
    tail = f", {skipped} skipped" if skipped else ""
    print(f"{label}{passed} passed, {failed} failed{tail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
