"""Worker threads for batches: ``--workers N`` files at once, results reported in input order.

Threads, not processes: the work per file is mostly the kernel copying unchanged bytes
(``copy_file_range`` releases the GIL) and the disk, so a pool of threads overlaps them without
paying a process start per worker. The label core is thread-safe for distinct files
(:class:`aiglabel._io.DurableBatch` takes a lock; temporary files are created with ``O_EXCL``).
Errors are captured on the worker (:func:`~aiglabel.cli._common.capture`) and printed by the
main thread, so the output reads the same as a run with one worker.
"""

from __future__ import annotations

import collections
import functools
import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from aiglabel.cli._common import Job, Outcome, capture

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

__all__ = ["MAX_DEFAULT_WORKERS", "JobRunner", "WorkersOption", "default_workers", "pick_workers"]

T = TypeVar("T")

MAX_DEFAULT_WORKERS = 4

# The same spelling as ``aiglabel verify --workers/-j`` (processes there: its detectors are
# pure-Python work that needs more than one interpreter; here the kernel does most of it).
WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers",
        "-j",
        min=0,
        metavar="N",
        help=f"Files worked on at once (threads); 0 = the CPUs, at most {MAX_DEFAULT_WORKERS}, "
        "or 1 with --explicit or --c2pa.",
    ),
]


def default_workers() -> int:
    """The CPUs this process may run on, at most :data:`MAX_DEFAULT_WORKERS`."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_DEFAULT_WORKERS, cpus))


def pick_workers(requested: int, *, heavy: bool = False) -> int:
    """``--workers`` when above 0, else :func:`default_workers`, or 1 for ``heavy`` work
    (video transcodes that thread by themselves, C2PA signing through a native library)."""
    if requested > 0:
        return requested
    return 1 if heavy else default_workers()


class JobRunner:
    """Run one function per :class:`~aiglabel.cli._common.Job` on up to ``workers`` threads.

    Use it as a context manager: leaving the block cancels queued jobs and waits for the ones
    already running, so nothing writes after the block (an enclosing
    :class:`~aiglabel._io.DurableBatch` may then commit or discard safely).
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            msg = f"workers must be >= 1, not {workers}"
            raise ValueError(msg)
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> JobRunner:
        if self.workers > 1:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="aiglabel")
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def run(
        self, jobs: Sequence[Job], func: Callable[[Job], T]
    ) -> Iterator[tuple[Job, Outcome[T]]]:
        """Yield ``(job, outcome)`` for every job, in the order of ``jobs``.

        At most ``2 * workers`` jobs are queued ahead of the one being reported, so a long
        batch streams instead of queueing everything at once.
        """
        pool = self._pool
        if pool is None:
            for job in jobs:
                yield job, capture(job, functools.partial(func, job))
            return
        ahead: collections.deque[tuple[Job, Future[Outcome[T]]]] = collections.deque()
        todo = iter(jobs)
        window = 2 * self.workers
        for job in todo:
            ahead.append((job, pool.submit(capture, job, functools.partial(func, job))))
            if len(ahead) >= window:
                break
        while ahead:
            job, future = ahead.popleft()
            outcome = future.result()
            nxt = next(todo, None)
            if nxt is not None:
                ahead.append((nxt, pool.submit(capture, nxt, functools.partial(func, nxt))))
            yield job, outcome
