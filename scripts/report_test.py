#!/usr/bin/env python3
"""Tests of report.py on sample serial logs (scripts/testdata/).

Each sample is a guest's console.log (kernel messages) and tests.log (the
kselftest TAP guest/init writes on the test port).
"""
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def report(sample, status="ok", label=None):
    data = os.path.join(HERE, "testdata")
    cmd = [sys.executable, os.path.join(HERE, "report.py"),
           os.path.join(data, sample + ".console.log"),
           os.path.join(data, sample + ".tests.log"), "--status", status]
    if label:
        cmd += ["--label", label]
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout


class Report(unittest.TestCase):
    def test_clean_run_passes(self):
        rc, out = report("clean")
        self.assertEqual(rc, 0, out)
        self.assertIn("PASS process_vm_test_64: peer.read_child_buffer", out)
        self.assertIn("PASS vmsplice_move_test_64: move.partial_page_copied", out)
        self.assertIn("SKIP process_vm_test_64: thp.read (THP not enabled)", out)
        self.assertNotIn("ERROR", out)
        # Test cases count, not programs: the top-level "ok" lines add none.
        self.assertEqual(out.splitlines()[-1], "4 passed, 0 failed, 1 skipped")

    def test_label_names_the_guest(self):
        rc, out = report("clean", label="x86_64/x86_64")
        self.assertEqual(rc, 0, out)
        self.assertIn("PASS x86_64/x86_64/process_vm_test_64: peer.read_child_buffer", out)
        self.assertEqual(out.splitlines()[-1],
                         "x86_64/x86_64: 4 passed, 0 failed, 1 skipped")

    def test_failed_test_is_named(self):
        rc, out = report("failed")
        self.assertEqual(rc, 1)
        self.assertIn("FAIL process_vm_test_64: peer.write_child_buffer", out)
        # The program's "not ok ... # exit=1" is that failure, not another.
        self.assertNotIn("ERROR", out)
        self.assertEqual(out.splitlines()[-1], "3 passed, 1 failed, 1 skipped")

    def test_skips_count(self):
        rc, out = report("skip")
        self.assertEqual(rc, 0, out)
        # A program that skips as a whole (exit 4, no test cases of its
        # own) is one skip; one whose cases all skip counts its cases.
        self.assertIn("SKIP hugetlb_test_64", out)
        self.assertIn("SKIP vmsplice_move_test_64: move.whole_pages "
                      "(no vmsplice_move counter in /proc/vmstat)", out)
        self.assertEqual(out.splitlines()[-1], "2 passed, 0 failed, 4 skipped")

    def test_timeout_fails_the_program(self):
        rc, out = report("timeout")
        self.assertEqual(rc, 1)
        self.assertIn("PASS process_vm_race_test_64: race.unmap_during_read", out)
        self.assertIn("ERROR process_vm_race_test_64: timed out after 300 s", out)
        # The programs after it still ran and count.
        self.assertIn("PASS vmsplice_move_test_64: move.whole_pages", out)
        self.assertNotIn("stopped before", out)
        self.assertEqual(out.splitlines()[-1], "4 passed, 1 failed, 1 skipped")

    def test_exit_status_and_signal_fail(self):
        rc, out = report("exit")
        self.assertEqual(rc, 1)
        self.assertIn("ERROR process_vm_perm_test_64: failed (exit=2)", out)
        self.assertIn("ERROR process_vm_memory_test_64: killed by signal 11", out)
        self.assertIn("PASS process_vm_memory_test_64: mem.sizes_and_offsets", out)
        self.assertEqual(out.splitlines()[-1], "4 passed, 2 failed, 1 skipped")

    def test_warning_fails_the_run(self):
        rc, out = report("warning")
        self.assertEqual(rc, 1)
        self.assertIn("ERROR kernel WARNING:", out)
        self.assertIn("mm/gup.c:1234", out)
        self.assertEqual(out.splitlines()[-1], "4 passed, 1 failed, 1 skipped")

    def test_panic_fails_the_run(self):
        rc, out = report("panic")
        self.assertEqual(rc, 1)
        self.assertIn("ERROR kernel BUG:", out)
        self.assertIn("ERROR kernel Oops:", out)
        self.assertIn("ERROR process_vm_test_64: no result (the guest died", out)
        self.assertIn("stopped before the tests finished", out)
        self.assertIn("PASS process_vm_test_64: peer.read_child_buffer", out)

    def test_truncated_log_fails(self):
        rc, out = report("truncated", status="timeout")
        self.assertEqual(rc, 1)
        self.assertIn("ERROR the guest timed out", out)
        self.assertIn("ERROR process_vm_test_64: no result", out)
        self.assertIn("ERROR no test ran", out)

    def test_no_test_fails(self):
        rc, out = report("nothing")
        self.assertEqual(rc, 1)
        self.assertIn("ERROR no test ran", out)
        self.assertEqual(out.splitlines()[-1].split(",")[0], "0 passed")

    def test_empty_log_fails(self):
        # No TAP at all: QEMU never got as far as init.
        rc, out = report("truncated", status="error")
        self.assertEqual(rc, 1)
        self.assertIn("ERROR QEMU failed", out)


if __name__ == "__main__":
    unittest.main()
