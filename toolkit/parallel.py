"""Spread independent work over the machine's cores.

Loading and parsing thousands of files is pure CPU work per file, so it parallelises
cleanly. Small batches run in-process: starting workers costs more than it saves.

Work that needs shared, read-only state (the loaded project) gets it through `shared()`:
with the fork start method the workers inherit it for free; otherwise it is sent once to
each worker when the worker starts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from . import environment

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 400  # below this, one process is faster

_shared: Any = None


def shared() -> Any:
    """The state passed to the `pmap` call this worker is serving."""
    return _shared


def _set_shared(value: Any) -> None:
    global _shared
    _shared = value


def workers() -> int:
    workers = environment.read("TOOLKIT_WORKERS")
    if workers is not None:
        return workers
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def pmap(fn: Callable[[T], R], items: Iterable[T], state: Any = None) -> list[R]:
    """`[fn(x) for x in items]`, in worker processes when it is worth it. Order is kept.

    `state` is what `shared()` returns inside `fn` while this call runs.
    """
    return list(start(fn, items, state)())


def start(fn: Callable[[T], R], items: Iterable[T], state: Any = None) -> Callable[[], Iterable[R]]:
    """Like `pmap`, but returns at once: the workers start on the items while the caller
    does something else, and calling the result gives their results in order, each as
    soon as it is done."""
    items = list(items)
    n = workers()
    if n < 2 or len(items) < MIN_ITEMS:

        def serial() -> list[R]:
            previous = _shared
            _set_shared(state)
            try:
                return [fn(x) for x in items]
            finally:
                _set_shared(previous)

        return serial
    import multiprocessing  # only when there is enough work to share out
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    previous = _shared
    _set_shared(state)  # forked workers inherit it
    try:
        if "fork" in methods:
            pool = ProcessPoolExecutor(
                max_workers=n, mp_context=multiprocessing.get_context("fork")
            )
        else:  # pragma: no cover - macOS/Windows
            pool = ProcessPoolExecutor(
                max_workers=n,
                mp_context=multiprocessing.get_context(),
                initializer=_set_shared,
                initargs=(state,),
            )
        # Small chunks, so no worker sits idle at the end while another finishes a big one.
        chunk = max(1, len(items) // (n * 16))
        # map() submits everything at once, and with fork the pool starts all its
        # workers at the first submit: they inherit `state` as it is set here.
        results = pool.map(fn, items, chunksize=chunk)
    finally:
        _set_shared(previous)

    def join() -> Iterator[R]:
        try:
            yield from results
        finally:
            pool.shutdown()

    return join
