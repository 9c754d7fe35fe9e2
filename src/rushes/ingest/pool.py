"""Running ingest jobs: in-process, or on a pool of fork-server workers with progress."""

from __future__ import annotations

import multiprocessing as mp
import queue
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from rushes.ingest.worker import Job, WorkResult, run_job

ProgressHook = Callable[[str, int, int], None]  # (event, amount, total)


def run_jobs(jobs: list[Job], workers: int, hook: ProgressHook | None) -> Iterator[WorkResult]:
    """Yield results as they finish; in-process when there is one job or one worker.

    Workers come from a fork server that has already imported the analysis stack, so a worker
    starts in milliseconds; progress comes back over one queue handed over at start.
    """
    if workers <= 1 or len(jobs) <= 1:
        tick = _Tick(hook) if hook else None
        for job in jobs:
            yield run_job(job, tick)
        return
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["rushes.ingest.worker"])
    q = ctx.Queue()
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(q,),
    )
    try:
        futures: set[Future[WorkResult]] = {pool.submit(_pooled_job, j) for j in jobs}
        while futures:
            done, futures = wait(futures, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(q, hook)
            for f in done:
                yield f.result()
        _drain(q, hook)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        q.close()


_progress_queue: Any = None


def _init_worker(q: Any) -> None:
    global _progress_queue
    _progress_queue = q


def _pooled_job(job: Job) -> WorkResult:
    return run_job(job, _progress_queue)


class _Tick:
    """The progress queue's ``put`` for in-process jobs: calls the hook directly."""

    def __init__(self, hook: ProgressHook) -> None:
        self.hook = hook

    def put(self, n: int) -> None:
        self.hook("frames", n, 0)


def _drain(q: Any, hook: ProgressHook | None) -> None:
    while True:
        try:
            n = q.get_nowait()
        except queue.Empty:
            return
        if hook:
            hook("frames", n, 0)
