"""Pausing the garbage collector from several threads at once never leaves it off."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from clearing.domain.collector import collection_paused


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_overlapping_pauses_on_two_threads_leave_the_collector_on_after_both() -> None:
    # A pauses, B pauses, A resumes, B resumes: the interleaving that once switched it off.
    a_paused, b_paused, a_done = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with collection_paused():
            a_paused.set()
            b_paused.wait(5)
        a_done.set()

    def second() -> None:
        a_paused.wait(5)
        with collection_paused():
            b_paused.set()
            a_done.wait(5)
            assert not gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert gc.isenabled()


def test_a_pause_leaves_a_collector_that_was_off_off() -> None:
    gc.disable()
    with collection_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
