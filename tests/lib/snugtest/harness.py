"""What every harness script needs: waiting for a condition, a work directory, and for unittest suites
the tier's result line that `make check` sums up (tests/summary.sh)."""

import os
import shutil
import sys
import tempfile
import time
import unittest


def wait_for(fn, timeout=15, interval=0.1):
    """fn()'s first true value within timeout seconds, else its last value (a bound for a condition
    that should come, not a timing check)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    return fn()


def tmpdir(prefix):
    """A fresh temporary directory and a function that removes it."""
    d = tempfile.mkdtemp(prefix=prefix)
    return d, (lambda: shutil.rmtree(d, ignore_errors=True))


def main(tier):
    """Runs the calling module's unittest cases and writes the tier's result line to $SNUG_RESULTS."""
    prog = unittest.main(exit=False, testRunner=unittest.TextTestRunner(verbosity=2))
    r = prog.result
    failed = len(r.failures) + len(r.errors)
    skipped = len(r.skipped)
    # A failed setUpClass is one error that ran no test: it fails, and takes no test's pass away.
    passed = r.testsRun - skipped - len([t for t, _ in r.failures + r.errors if isinstance(t, unittest.TestCase)])
    out = os.environ.get("SNUG_RESULTS")
    if out:
        with open(out, "w") as f:
            f.write("%s %d %d %d\n" % (tier, passed, failed, skipped))
    print("%s: %d passed, %d failed, %d skipped" % (tier, passed, failed, skipped))
    sys.exit(1 if failed else 0)
