"""One build of a project at a time.

`toolkit build`, the preview of `toolkit serve` and anything else that writes a project's
output trees hold an exclusive lock on the project's folder for as long as they write, so
two runs never stage or swap the same trees at once. The lock is `flock` on the folder
itself: nothing is written to take it, it is released if the process dies, and `build
--no-cache` (which writes nothing under .toolkit/) takes it too. Where `flock` does not
exist (Windows) runs are not serialised; docs/design.md says so.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def exclusive(root: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the project's lock; if another run holds it, call `on_wait` once and wait."""
    if fcntl is None:
        yield
        return
    fd = os.open(root, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
