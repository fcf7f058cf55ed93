"""Pausing Python's cyclic garbage collector around work that makes many short-lived objects
and no reference cycles (a netting run, a cycle record's rows).

The collector's switch is one for the whole process, and these runs happen on the service's
worker threads at once: each pause is counted under a lock, the collector is switched off by the
first and back on by the last, and only if it was on before the first.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextmanager
def collection_paused() -> Iterator[None]:
    """The cyclic collector off for the block (and for every block overlapping it)."""
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
