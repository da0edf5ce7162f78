#!/usr/bin/env python3
"""Runs Rover's integration tests.

    python3 tests/integration/run.py [-v] [-k PATTERN] [test_module ...]

The binary is $ROVER_BIN, default build/rover relative to the repository root.
Exits 0 when every test passed, 1 on failures, 2 when the binary is missing.
"""

import argparse
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per test")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="only tests whose name contains PATTERN (repeatable)")
    ap.add_argument("-f", "--failfast", action="store_true")
    ap.add_argument("modules", nargs="*",
                    help="test modules (e.g. test_routing) instead of all")
    opts = ap.parse_args()

    problem = harness.binary_problem()
    if problem:
        sys.stderr.write(
            "integration tests: %s\n"
            "Build it first:  cmake -S . -B build && cmake --build build -j2\n"
            "or point ROVER_BIN at a rover binary.\n" % problem)
        return 2

    loader = unittest.TestLoader()
    if opts.patterns:
        loader.testNamePatterns = ["*%s*" % p for p in opts.patterns]
    if opts.modules:
        names = [m[:-3] if m.endswith(".py") else m for m in opts.modules]
        names = [os.path.basename(n) for n in names]
        suite = loader.loadTestsFromNames(names)
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)

    print("rover binary: %s" % harness.rover_bin(), flush=True)
    started = time.monotonic()
    runner = unittest.TextTestRunner(verbosity=2 if opts.verbose else 1,
                                     failfast=opts.failfast)
    result = runner.run(suite)
    print("integration tests finished in %.1fs" % (time.monotonic() - started))
    if result.testsRun == 0:
        sys.stderr.write("integration tests: no tests ran\n")
        return 1
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
