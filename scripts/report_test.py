#!/usr/bin/env python3
"""Tests of report.py on sample serial logs (scripts/testdata/)."""
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def report(sample, status="ok"):
    data = os.path.join(HERE, "testdata")
    p = subprocess.run(
        [sys.executable, os.path.join(HERE, "report.py"),
         os.path.join(data, sample + ".console.log"),
         os.path.join(data, sample + ".tests.log"), "--status", status],
        capture_output=True, text=True)
    return p.returncode, p.stdout


class Report(unittest.TestCase):
    def test_clean_run_passes(self):
        rc, out = report("clean")
        self.assertEqual(rc, 0, out)
        self.assertIn("PASS x86_64/process_vm_test: peer.read_child_buffer", out)
        self.assertIn("SKIP x86_64/process_vm_test: thp.read (THP not enabled)", out)
        self.assertEqual(out.splitlines()[-1], "2 passed, 0 failed, 1 skipped")

    def test_failed_test_is_named(self):
        rc, out = report("failed")
        self.assertEqual(rc, 1)
        self.assertIn("FAIL x86_64/process_vm_test: peer.write_child_buffer", out)
        self.assertEqual(out.splitlines()[-1], "1 passed, 1 failed, 1 skipped")

    def test_warning_fails_the_run(self):
        rc, out = report("warning")
        self.assertEqual(rc, 1)
        self.assertIn("ERROR kernel WARNING:", out)
        self.assertIn("mm/gup.c:1234", out)

    def test_panic_fails_the_run(self):
        rc, out = report("panic")
        self.assertEqual(rc, 1)
        self.assertIn("ERROR kernel BUG:", out)
        self.assertIn("ERROR x86_64/process_vm_test: no END marker", out)
        self.assertIn("stopped before the tests finished", out)

    def test_truncated_log_fails(self):
        rc, out = report("truncated", status="timeout")
        self.assertEqual(rc, 1)
        self.assertIn("ERROR the guest timed out", out)
        self.assertIn("no END marker", out)

    def test_no_test_fails(self):
        rc, out = report("nothing")
        self.assertEqual(rc, 1)
        self.assertIn("ERROR no test ran", out)
        self.assertEqual(out.splitlines()[-1].split(",")[0], "0 passed")


if __name__ == "__main__":
    unittest.main()
