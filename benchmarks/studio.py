"""Studio speed, by hand: ``python benchmarks/studio.py [MODEL]`` (prints figures; nothing is asserted).

1. Preview of a 40-character line at default settings: server time of ``POST /api/write``
   until its job is done (the worker thread's own clock, ``job.seconds``).
2. An A4 page of text: time from the request until the first line is on the job (the
   ``first line`` draft), and until the whole page is done.

Pin it to one core to match the project's machine: ``taskset -c 1 env OMP_NUM_THREADS=1``.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from penbot.studio.app import create_app  # noqa: E402

LINE = "The quick brown fox jumps over the lazy d"[:40]
PAGE = " ".join(["Handwriting on a whole page takes a while, so the studio shows the first line first, "
                 "then the page as soon as every line of it is written."] * 9)


def main(runs: int = 5, model: str | None = None) -> None:
    headers = {"X-Penbot-Token": "bench"}
    app = create_app(token="bench", port=8765, model_path=model)
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        board = client.app.state.board
        line = []
        for seed in range(runs + 1):
            r = client.post("/api/write", headers=headers, json={"page": "b", "text": LINE, "settings": {"seed": seed}})
            job = board.get(r.json()["job"])
            assert job.state == "done", job.error
            if seed:  # the first run warms up
                line.append(job.seconds)
        print(f"40-character line, default settings (style 1): median {statistics.median(line):.3f} s, "
              f"min {min(line):.3f} s, max {max(line):.3f} s over {runs} seeds")

        first, whole, lines = [], [], 0
        for seed in range(max(2, runs // 2)):
            seen: dict[str, float] = {}

            t0 = time.perf_counter()
            worker = threading.Thread(target=client.post, args=("/api/write",), kwargs={
                "headers": headers, "json": {"page": "p", "text": PAGE, "settings": {"seed": seed}}})
            worker.start()
            while worker.is_alive():
                job = board.get(board.current.get("p", ""))
                if job is not None and job.draft and "first" not in seen:
                    seen["first"] = time.perf_counter() - t0
                time.sleep(0.002)
            job = board.get(board.current["p"])
            assert job.state == "done", job.error
            first.append(seen.get("first", job.seconds))
            whole.append(job.seconds)
            lines = job.result["lines"]
        print(f"A4 page ({len(PAGE)} characters, {lines} lines): first line after median "
              f"{statistics.median(first):.2f} s, whole page {statistics.median(whole):.2f} s")


if __name__ == "__main__":
    main(model=sys.argv[1] if len(sys.argv) > 1 else None)  # optional: a model file
