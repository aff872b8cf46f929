"""Spread independent work over the machine's cores.

Loading and parsing thousands of files is pure CPU work per file, so it parallelises
cleanly. Small batches run in-process: starting workers costs more than it saves.

Work that needs shared, read-only state (the loaded project) gets it through `shared()`:
with the fork start method the workers inherit it for free; otherwise it is sent once to
each worker when the worker starts.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

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
    if os.environ.get("TOOLKIT_WORKERS", "").isdigit():
        return max(1, int(os.environ["TOOLKIT_WORKERS"]))
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def pmap(fn: Callable[[T], R], items: Iterable[T], state: Any = None) -> list[R]:
    """`[fn(x) for x in items]`, in worker processes when it is worth it. Order is kept.

    `state` is what `shared()` returns inside `fn` while this call runs.
    """
    items = list(items)
    n = workers()
    previous = _shared
    _set_shared(state)
    try:
        if n < 2 or len(items) < MIN_ITEMS:
            return [fn(x) for x in items]
        methods = multiprocessing.get_all_start_methods()
        if "fork" in methods:
            context, init, args = multiprocessing.get_context("fork"), None, ()
        else:  # pragma: no cover - macOS/Windows
            context, init, args = multiprocessing.get_context(), _set_shared, (state,)
        chunk = max(1, len(items) // (n * 4))
        with ProcessPoolExecutor(max_workers=n, mp_context=context, initializer=init,
                                 initargs=args) as pool:
            return list(pool.map(fn, items, chunksize=chunk))
    finally:
        _set_shared(previous)
