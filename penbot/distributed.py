"""Mailings past one machine: sampling chunks of letters on a Dask cluster.

The client plans the mailing, keeps the resume record and writes every file (atomically,
in the output folder); workers only sample: each chunk of letters is one task that
returns the letters' pages. So a worker that dies mid-chunk leaves nothing behind: Dask
reruns the task elsewhere, and a chunk it cannot finish becomes row errors that the next
run writes. Each worker process opens a model file once (cached by path, size and time).
Needs the optional extra: ``pip install "penbot[dask]"``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from penbot.errors import PenbotError

if TYPE_CHECKING:
    from penbot.batch import Letter
    from penbot.mailing import Mail, MailingOptions

__all__ = ["dask_available", "dask_executor", "sample_chunk", "CONNECT_TIMEOUT_S"]

CONNECT_TIMEOUT_S = 5.0
_MODELS: dict[tuple[str, int, int], Any] = {}  # per worker process: model file -> open runner


def dask_available() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def _require() -> None:
    if not dask_available():
        raise PenbotError('running on a Dask cluster needs the "dask" extra: pip install "penbot[dask]"',
                          about="dask")


def _model(path: str | None):
    """The worker's runner for ``path`` (None: the shipped model), opened once per process."""
    from penbot.write import default_model_path, open_model

    p = Path(path) if path else default_model_path()
    try:
        st = p.stat()
    except OSError:
        raise PenbotError(f"{p}: model file not found on this worker") from None
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _MODELS:
        _MODELS.clear()  # one model at a time per worker
        _MODELS[key] = open_model(p)
    return _MODELS[key]


def sample_chunk(model_path: str | None, texts: Sequence[str], options: Sequence, addresses: Sequence[str],
                 mailing: MailingOptions) -> list[Mail | PenbotError]:
    """The worker's task: one chunk of letters through ``write_mail`` (one sampling loop)."""
    from penbot.mailing import write_mail

    return write_mail(texts, options, addresses, mailing, _model(model_path))


def _connect(scheduler: str | None, workers: int | None):
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False), None
        except (OSError, TimeoutError, ValueError) as exc:
            why = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            raise PenbotError(f"no Dask scheduler answers at {scheduler} ({why})", about="scheduler") from None
    if workers is None or workers < 1:
        raise PenbotError(f"local workers must be at least 1, got {workers}")
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # each worker samples on one core, like the CLI
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=40)
    return Client(cluster, set_as_default=False), cluster


@contextmanager
def dask_executor(model_path: str | Path | None, mailing: MailingOptions, *, scheduler: str | None = None,
                  workers: int | None = None) -> Iterator[Callable[[list[list[Letter]]], Callable]]:
    """An executor for ``run_batch``: given the chunks, submits them all and returns ``fetch(part)``.

    ``scheduler`` is an existing cluster's address (``tcp://HOST:8786``); else ``workers``
    local worker processes on the loopback address are started (and stopped on exit).
    PenbotError within a few seconds when the scheduler does not answer.
    """
    _require()
    client, cluster = _connect(scheduler, workers)
    path = str(Path(model_path).resolve()) if model_path else None
    try:
        def submit(chunks: list[list[Letter]]) -> Callable[[list[Letter]], list]:
            futures = {}
            for part in chunks:
                futures[tuple(m.output for m in part)] = client.submit(
                    sample_chunk, path, [m.text for m in part], [m.options for m in part],
                    [m.envelope for m in part], mailing, pure=False, retries=2)

            def fetch(part: list[Letter], *_progress: object) -> list:
                future = futures.pop(tuple(m.output for m in part))
                try:
                    return future.result()
                except PenbotError as exc:
                    return [exc] * len(part)
                except Exception as exc:  # a worker lost for good, a broken cluster: rows to run again
                    why = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
                    return [PenbotError(f"the cluster could not write this chunk ({why}); run again")] * len(part)

            return fetch

        submit.client = client  # type: ignore[attr-defined]  (tests: the workers' pids)
        yield submit
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
