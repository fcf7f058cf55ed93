"""What the benchmark scripts share beside the database: the CN<->RU pair and its rates
document, Zipf-like trader activity, and the timing helpers (stopwatch, clean heap, median,
time spent inside wrapped functions, a child process's wall time and peak memory).

Not a benchmark itself: ``run.py``, ``ingest.py`` and ``cycle.py`` import it as a sibling module
(a script's own folder comes first on ``sys.path``). Timings are wall-clock seconds from
:func:`time.perf_counter`.
"""

from __future__ import annotations

import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

#: The two mirrored entities of the benchmarks, and the base currency of their rates.
JURISDICTIONS = {"CN": "CNY", "RU": "RUB"}
BASE = "CNY"

#: Zipf-like exponent of trader activity: a few large traders do most of the business.
ACTIVITY_EXPONENT = 0.9


def rates_document(rates: dict[str, str], *, source: str, as_of: str) -> dict[str, Any]:
    """A RATES.json document (DESIGN §10) for the CN<->RU pair, based in CNY."""
    return {
        "base": BASE,
        "jurisdictions": JURISDICTIONS,
        "rates": rates,
        "source": source,
        "as_of": as_of,
    }


def zipf_weights(count: int) -> np.ndarray[Any, Any]:
    """Unnormalised activity weights of ``count`` traders, largest first."""
    weights: np.ndarray[Any, Any] = 1.0 / np.arange(1, count + 1) ** ACTIVITY_EXPONENT
    return weights


# --- timing -------------------------------------------------------------------------------------


def stopwatch() -> Callable[[], float]:
    """A clock started now: each call returns the seconds elapsed since."""
    started = time.perf_counter()
    return lambda: time.perf_counter() - started


@contextmanager
def collected() -> Iterator[None]:
    """Start a timed step from a clean heap so earlier garbage is not charged to it."""
    gc.collect()
    yield


@dataclass(frozen=True)
class ChildRun:
    """One finished child process: wall seconds, peak resident memory in bytes, its output."""

    seconds: float
    max_rss: int
    stdout: str
    stderr: str
    returncode: int


def run_child(command: list[str]) -> ChildRun:
    """Run ``command`` to completion; its wall time, and its own peak RSS from ``wait4`` (so an
    earlier, larger child does not mask it, as with ``RUSAGE_CHILDREN``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        elapsed = stopwatch()
        child = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = elapsed()
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # ru_maxrss is in KiB on Linux, in bytes on macOS.
        scale = 1 if sys.platform == "darwin" else 1024
        return ChildRun(
            seconds=seconds,
            max_rss=usage.ru_maxrss * scale,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            returncode=child.returncode,
        )


def median(items: Iterable[T], value: Callable[[T], float]) -> float:
    """The median of ``value`` over ``items``."""
    return statistics.median(value(item) for item in items)


def check(condition: bool, message: str) -> None:
    """A sanity check of the run that survives ``python -O``."""
    if not condition:
        raise RuntimeError(message)


class Phases:
    """Accumulates the wall time spent inside wrapped functions, by label."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.captured: list[Any] = []
        self._restore: list[tuple[Any, str, Any]] = []

    def wrap(
        self,
        owner: Any,
        name: str,
        label: str | Callable[..., str],
        capture: Callable[..., Iterable[Any]] | None = None,
    ) -> None:
        """Time every call of ``owner.name`` under ``label`` (or ``label(*args)``); keep what
        ``capture(*args)`` returns in :attr:`captured`."""
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            key = label(*args) if callable(label) else label
            if capture is not None:
                self.captured.extend(capture(*args))
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[key] += time.perf_counter() - started
                self.calls[key] += 1

        setattr(owner, name, timed)
        self._restore.append((owner, name, original))

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()
        self.captured.clear()

    def restore(self) -> None:
        for owner, name, original in reversed(self._restore):
            setattr(owner, name, original)
        self._restore.clear()
