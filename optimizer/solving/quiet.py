"""HiGHS's notices kept off the terminal, one thread at a time.

Pyomo's `capture_output(capture_fd=True)` (used by Pyomo's own HiGHS solve, and here to hide
HiGHS's banner and notices) redirects the whole process's standard output and error, file
descriptors included, and restores them when it ends. Two threads inside it at once end out
of order: one restores descriptors the other's reader still reads (seen: "Bad file
descriptor" in Pyomo's reader thread, then a broken pipe on pytest's own output, when two
solves of the library ran in two threads). So every Pyomo solve and every capture here holds
one process-wide lock: solves in several threads of one process take turns (HiGHS itself
still uses its threads inside each solve). Reentrant: a solve's stages nest.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pyomo.common.tee import capture_output

PYOMO = threading.RLock()


@contextmanager
def exclusive() -> Iterator[None]:
    """Hold the process's Pyomo-and-HiGHS turn (around a Pyomo solve, which captures output)."""
    with PYOMO:
        yield


@contextmanager
def quiet() -> Iterator[None]:
    """HiGHS's output (Python's and the file descriptors') discarded, in this thread's turn."""
    with PYOMO, capture_output(output=io.StringIO(), capture_fd=True):
        yield
