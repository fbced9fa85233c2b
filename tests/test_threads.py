"""The thread policy: a second thread only where it measurably helps, dropped when it hurts."""

from __future__ import annotations

from penbot.threads import ThreadPolicy


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
    for threads, seconds in ((1, 0.010), (1, 0.010), (2, 0.012), (2, 0.011)):
        slow.took(threads, seconds)
    assert slow.verdict is False and slow.use(32) == 1
    assert ThreadPolicy(8).use(2) == 1  # small batches never get more threads
    assert ThreadPolicy(1).use(64) == 1
