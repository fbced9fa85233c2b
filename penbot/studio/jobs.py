"""Sampling jobs: run in a worker thread, one at a time, cancellable, polled by the page.

Sampling is CPU-bound and a page can take seconds, so the server never samples on its
event loop. A job's progress callback (``write_text(..., progress=job.progress)``) is
called at every sampling step; it raises ``Cancelled`` once the job is cancelled, which
unwinds the sampler within one step. A newer preview from the same page cancels the
older one, and one lock lets one job sample at a time (two would only share the core).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from penbot.errors import PenbotError

__all__ = ["Cancelled", "Job", "JobBoard", "PAGE_ID"]

log = logging.getLogger("penbot.studio")
PAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # the browser tab's own id
T = TypeVar("T")


class Cancelled(Exception):  # noqa: N818 - a signal, not an error
    """Raised inside the sampler's progress callback to stop a superseded job."""


@dataclass
class Job:
    """One preview being written. Mutable by nature: the worker updates it, the page polls it."""

    id: str
    page: str
    cancel: threading.Event = field(default_factory=threading.Event)
    state: str = "queued"  # queued, running, done, error, cancelled
    phase: str = ""
    step: int = 0
    total: int = 0
    draft: list[str] = field(default_factory=list)  # SVG pages written so far (the first line)
    result: dict[str, Any] | None = None
    error: str | None = None
    created: float = field(default_factory=time.monotonic)
    seconds: float = 0.0

    def progress(self, step: int, total: int) -> None:
        """The sampler's callback: record the step, stop here if cancelled."""
        if self.cancel.is_set():
            raise Cancelled
        self.step, self.total = step, total

    @property
    def finished(self) -> bool:
        return self.state in ("done", "error", "cancelled")

    def view(self, full: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"job": self.id, "state": self.state, "phase": self.phase, "step": self.step,
                               "total": self.total, "seconds": round(self.seconds, 3), "draft": self.draft}
        if self.error is not None:
            out["error"] = self.error
        if self.result is not None and full:
            out.update(self.result)
        return out


class JobBoard:
    """The jobs of one server: by id, and the current one of each page."""

    def __init__(self, keep: int = 64) -> None:
        self.keep = keep
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.current: dict[str, str] = {}  # page id -> its newest job id
        self.lock = threading.Lock()  # guards the two dicts
        self.sampling = threading.Lock()  # one sampling computation at a time

    def submit(self, page: str) -> Job:
        """A new job for ``page``; the page's older job, if still going, is cancelled."""
        if not PAGE_ID.match(page):
            raise PenbotError("page id must be 1-64 letters, digits, '-' or '_'")
        job = Job(uuid.uuid4().hex, page)
        with self.lock:
            older = self.jobs.get(self.current.get(page, ""))
            if older is not None and not older.finished:
                older.cancel.set()
            self.jobs[job.id] = job
            self.current[page] = job.id
            while len(self.jobs) > self.keep:
                old_id, old = self.jobs.popitem(last=False)
                old.cancel.set()
                if self.current.get(old.page) == old_id:
                    del self.current[old.page]
        return job

    def get(self, job_id: str) -> Job | None:
        with self.lock:
            return self.jobs.get(job_id)

    def run(self, job: Job, work: Callable[[Job], dict[str, Any]]) -> None:
        """Run ``work(job)`` (blocking: call it from a worker thread) and record how it ended."""
        t0 = time.monotonic()
        with self.sampling:
            if job.cancel.is_set():
                job.state = "cancelled"
                return
            job.state = "running"
            try:
                job.result = work(job)
                job.state = "done"
            except Cancelled:
                job.state = "cancelled"
            except PenbotError as exc:
                job.error, job.state = one_line(str(exc)), "error"
            except Exception as exc:  # a bug must not kill the worker or leave the job "running"
                log.exception("studio job failed")
                job.error, job.state = f"internal error ({type(exc).__name__}): {one_line(str(exc))}", "error"
            finally:
                job.seconds = time.monotonic() - t0

    def exclusive(self, work: Callable[[], T]) -> T:
        """Run a short sampling task (a style test, a continuation) while no job samples."""
        with self.sampling:
            return work()


def one_line(message: str) -> str:
    return " ".join(message.split())[:500] or "error"
