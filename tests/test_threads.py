"""The thread policy: a second thread only where it measurably helps, dropped when it hurts."""

from __future__ import annotations

import pytest

import penbot.threads as threads
from penbot.threads import ThreadPolicy, others_running


@pytest.fixture(autouse=True)
def idle_machine(monkeypatch):
    monkeypatch.setattr(threads, "others_running", lambda: 0)


def test_threads_are_kept_only_while_they_help():
    fast = ThreadPolicy(2, min_batch=4, probe=3)
    assert [fast.use(32) for _ in range(3)] == [1, 1, 1]
    for _ in range(3):
        fast.took(1, 0.010)
    assert fast.use(32) == 2
    for _ in range(3):
        fast.took(2, 0.006)
    assert fast.verdict is True and fast.use(32) == 2
    fast.took(2, 0.050)  # another process took the core: back to one thread for good
    assert fast.use(32) == 1 and fast.use(32) == 1

    slow = ThreadPolicy(2, min_batch=4, probe=2)
    for n, seconds in ((1, 0.010), (1, 0.010), (2, 0.012), (2, 0.011)):
        slow.took(n, seconds)
    assert slow.verdict is False and slow.use(32) == 1
    assert ThreadPolicy(8).use(2) == 1  # small batches never get more threads
    assert ThreadPolicy(1).use(64) == 1


def test_no_second_thread_is_even_tried_when_the_other_cores_are_busy(monkeypatch):
    monkeypatch.setattr(threads, "others_running", lambda: 1)
    busy = ThreadPolicy(2, min_batch=4, probe=2)
    assert busy.verdict is False and [busy.use(64) for _ in range(5)] == [1] * 5
    monkeypatch.setattr(threads, "others_running", lambda: 2)
    assert ThreadPolicy(4).verdict is None  # two of four cores busy: two threads may still help


def test_others_running_reads_the_machine(monkeypatch):
    monkeypatch.undo()
    assert isinstance(others_running(), int) and others_running() >= 0
