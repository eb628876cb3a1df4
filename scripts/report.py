#!/usr/bin/env python3
"""Turn a guest's logs into the crossmem test report.

usage: report.py CONSOLE_LOG TEST_LOG [--status {ok,timeout,error}] [--label L]

The test log holds what guest/init wrote to the test port: kselftest TAP as
kselftest/runner.sh prints it ("TAP version 13", "1..N", then for each
program "# selftests: cma: PROG", the program's own TAP behind "# ", and
"ok N selftests: cma: PROG", "... # SKIP", "not ok N ... # TIMEOUT S
seconds" or "not ok N ... # exit=RC"). Every test case of a program's own
TAP ("# ok 3 peer.read", "# not ok ...", "# ok 5 ... # SKIP why") counts;
a program that prints none counts as one test. The console log holds the
kernel's messages and is searched for splats. Prints one line per test and
a closing "N passed, N failed[, N skipped]" line; exits 1 when anything
went wrong.
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

# Top-level TAP of guest/init, as kselftest/runner.sh prints it.
PLAN = re.compile(r"^1\.\.(\d+)$")
HEADER = re.compile(r"^# selftests: (\S+): (\S+)$")
RESULT = re.compile(r"^(not ok|ok) (\d+) selftests: (\S+): (\S+)(?: # (.*))?$")
# A program's own TAP, behind runner.sh's "# " prefix.
NESTED_PLAN = re.compile(r"^# 1\.\.(\d+)$")
NESTED = re.compile(r"^(not ok|ok) \d+ (.*?)(?:\s+#\s*(SKIP|skip|TODO|todo)\b(.*))?$")
TIMEOUT = re.compile(r"TIMEOUT (\d+) seconds")
EXIT = re.compile(r"exit=(\d+)")


def splats(console):
    found = []
    for line in console.splitlines():
        for pat, name in SPLATS:
            if pat.search(line):
                found.append((name, line.strip()))
                break
    return found


def parse_tests(text):
    """Parse the kselftest TAP of a guest's whole run.

    Returns (results, problems, done): results is [(prog, test, result,
    why)] with result PASS, FAIL or SKIP, one per test case of a program
    that prints its own TAP (the kselftest harness does), or one for the
    program itself when it prints none; problems is [(prog, text)] (prog
    None for the run as a whole); done tells whether every program of the
    plan reported.
    """
    results, problems = [], []
    plan, reported = None, 0
    prog, nested, nested_plan = None, [], None
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        m = PLAN.match(line)
        if m and plan is None:
            plan = int(m.group(1))
            continue
        m = HEADER.match(line)
        if m:
            if prog:
                problems.append((prog, "no result (the program died?)"))
                results.extend(nested)
            prog, nested, nested_plan = m.group(2), [], None
            continue
        m = RESULT.match(line)
        if m:
            status, name, directive = m.group(1), m.group(4), m.group(5) or ""
            reported += 1
            if prog and name != prog:
                problems.append((prog, "no result (the program died?)"))
                results.extend(nested)
                nested, nested_plan = [], None
            results.extend(nested)
            fails = sum(1 for r in nested if r[2] == "FAIL")
            t = TIMEOUT.search(directive)
            e = EXIT.search(directive)
            rc = int(e.group(1)) if e else None
            if t:
                problems.append((name, f"timed out after {t.group(1)} s"))
            elif rc is not None and rc > 128:
                problems.append((name, f"killed by signal {rc - 128}"))
            elif status == "not ok" and not fails:
                problems.append((name, f"failed ({directive})" if directive
                                 else "failed"))
            elif not nested:
                skip = directive.upper().startswith("SKIP")
                results.append((name, "", "SKIP" if skip else "PASS", ""))
            elif nested_plan is not None and nested_plan != len(nested):
                problems.append((name, f"planned {nested_plan} tests, "
                                 f"reported {len(nested)}"))
            prog, nested, nested_plan = None, [], None
            continue
        if prog is None:
            continue
        m = NESTED_PLAN.match(line)
        if m:
            nested_plan = int(m.group(1))
            continue
        if not line.startswith("# "):
            continue
        m = NESTED.match(line[2:].strip())
        if not m:
            continue
        status, tname, directive, why = m.groups()
        tname = tname.strip()
        if directive and directive.lower() == "skip":
            nested.append((prog, tname, "SKIP", (why or "").strip()))
        elif status == "ok" or (directive and directive.lower() == "todo"):
            nested.append((prog, tname, "PASS", ""))
        else:
            nested.append((prog, tname, "FAIL", ""))
    if prog:
        problems.append((prog, "no result (the guest died or timed out in it)"))
        results.extend(nested)
    done = plan is not None and reported >= plan
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
    results, prog_problems, done = parse_tests(tests)
    # Names carry the guest's label (arch/ABI): the programs' own names
    # (process_vm_test_64) are the same on every architecture.
    where = f"{args.label}/" if args.label else ""
    label = f"{args.label}: " if args.label else ""

    for prog, test, result, why in results:
        name = f"{where}{prog}" + (f": {test}" if test else "")
        print(f"{result} {name}" + (f" ({why})" if why else ""))

    problems = [f"{where}{prog}: {text}" for prog, text in prog_problems]
    if args.status == "timeout":
        problems.append(f"{label}the guest timed out")
    elif args.status == "error":
        problems.append(f"{label}QEMU failed")
    if not done and args.status == "ok":
        problems.append(f"{label}the guest stopped before the tests finished")
    for name, line in splats(console):
        problems.append(f"{label}kernel {name}: {line}")
    if not results:
        problems.append(f"{label}no test ran")

    passed = sum(1 for r in results if r[2] == "PASS")
    failed = sum(1 for r in results if r[2] == "FAIL")
    skipped = sum(1 for r in results if r[2] == "SKIP")
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
