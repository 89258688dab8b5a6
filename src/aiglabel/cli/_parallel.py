"""Worker threads for batches: ``--workers N`` files at once, results reported in input order.

Threads, not processes: the work per file is mostly the kernel copying unchanged bytes
(``copy_file_range`` releases the GIL) and the disk, so a pool of threads overlaps them without
paying a process start per worker. The label core is thread-safe for distinct files
(:class:`aiglabel._io.DurableBatch` takes a lock; temporary files are created with ``O_EXCL``).
Errors are captured on the worker (:func:`~aiglabel.cli._common.capture`) and printed by the
main thread, so the output reads the same as a run with one worker.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from aiglabel.cli._common import Job, Outcome, capture

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterator, Sequence

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

    Use it as a context manager. Leaving the block normally waits for nothing (every result
    was taken). Leaving it on an exception (Ctrl-C included) first calls ``on_abort`` -- the
    command passes its :class:`~aiglabel._io.DurableBatch`'s ``abort``, so a file still being
    worked on is not replaced afterwards -- then cancels queued jobs and waits for the running
    ones, so nothing writes after the block. A second Ctrl-C stops the wait.
    """

    def __init__(self, workers: int, *, on_abort: Callable[[], None] | None = None) -> None:
        if workers < 1:
            msg = f"workers must be >= 1, not {workers}"
            raise ValueError(msg)
        self.workers = workers
        self._on_abort = on_abort
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> JobRunner:
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if kind is not None and self._on_abort is not None:
            self._on_abort()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=True, cancel_futures=True)

    def run(
        self, jobs: Sequence[Job], func: Callable[[Job], T],
        key: Callable[[Job], Hashable | None] | None = None,
    ) -> Iterator[tuple[Job, Outcome[T]]]:
        """Yield ``(job, outcome)`` for every job, in the order of ``jobs``.

        Jobs with the same ``key`` (not ``None``) -- for example the same output path -- run
        one after the other on one worker, in input order, so which of them wins does not
        depend on timing: the result is the one a single worker gives. At most
        ``2 * workers`` tasks are queued ahead of the one being reported, so a long batch
        streams instead of queueing everything at once.
        """
        workers = min(self.workers, len(jobs))
        if workers <= 1:
            for job in jobs:
                yield job, capture(job, functools.partial(func, job))
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(workers, thread_name_prefix="aiglabel")
        pool = self._pool
        # Chains: each task runs the jobs of one key in order; a job without a key is alone.
        chains: dict[Hashable, list[int]] = {}
        task_of: list[int] = []
        tasks: list[list[int]] = []
        for index, job in enumerate(jobs):
            k = key(job) if key is not None else None
            if k is not None and k in chains:
                chains[k].append(index)
                task_of.append(task_of[chains[k][0]])
                continue
            task_of.append(len(tasks))
            members = [index]
            tasks.append(members)
            if k is not None:
                chains[k] = members

        def run_task(members: list[int]) -> list[Outcome[T]]:
            return [capture(jobs[i], functools.partial(func, jobs[i])) for i in members]

        futures: dict[int, Future[list[Outcome[T]]]] = {}
        submitted = 0
        window = 2 * workers
        for index, job in enumerate(jobs):
            task = task_of[index]
            while submitted < len(tasks) and submitted <= task + window:
                futures[submitted] = pool.submit(run_task, tasks[submitted])
                submitted += 1
            outcomes = futures[task].result()
            position = tasks[task].index(index)
            if position == len(tasks[task]) - 1:
                del futures[task]
            yield job, outcomes[position]
