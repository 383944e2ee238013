# SPDX-License-Identifier: BSD-2-Clause
"""line_out.py: say(), the output of the test programs that fork or run
threads (not a test by itself)."""
import sys


def say(*parts):
    """The parts, space-separated, as one line in one write. With
    PYTHONUNBUFFERED (set on some machines) print() writes the text and
    the newline apart, so that another process's line, written to the same
    file meanwhile, can land between them and split both."""
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()
