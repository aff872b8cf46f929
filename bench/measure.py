"""Run a command and measure its wall time and peak memory (the whole process tree).

Memory is sampled every 50 ms as the sum over the process and all its children, so worker
processes count too. On Linux it sums PSS, which splits pages that forked workers share with
their parent between them, so nothing is counted twice; elsewhere RSS, an upper bound.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).parent.parent


@dataclass
class Run:
    seconds: float
    peak_mb: float


@dataclass
class Timing:
    """Several runs of one thing: the median time, every time, and the highest peak memory."""

    median: float
    times: list[float]
    peak_mb: float

    @classmethod
    def of(cls, runs: list[Run]) -> Timing:
        times = [r.seconds for r in runs]
        return cls(statistics.median(times), times, max(r.peak_mb for r in runs))


def _memory(p: psutil.Process) -> int:
    """PSS where the OS has it (shared pages split between processes), else RSS."""
    try:
        return p.memory_full_info().pss
    except (AttributeError, psutil.AccessDenied):
        return p.memory_info().rss


def run(cmd: list[str], cwd: Path | None = None, env: dict | None = None) -> Run:
    """Wall time from start to exit (the wait returns the moment it exits), and the peak
    memory sampled every 50 ms by a thread beside it. A run that exits non-zero stops the
    benchmark with the command, its code and its stderr's end: a failure is never timed."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(proc.pid)
            while not done.is_set():
                total = 0
                with contextlib.suppress(psutil.Error):
                    for p in [root, *root.children(recursive=True)]:
                        with contextlib.suppress(psutil.Error):
                            total += _memory(p)
                peak = max(peak, total)
                done.wait(0.05)

    errors: list[bytes] = []  # read beside it, so a full pipe never stalls the tool
    threads = [
        threading.Thread(target=sample, daemon=True),
        threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True),
    ]
    for thread in threads:
        thread.start()
    proc.wait()
    seconds = time.perf_counter() - start
    done.set()
    threads[0].join()
    threads[1].join(timeout=5)  # a detached grandchild may hold stderr open: not our wait
    stderr = b"".join(errors).decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-2000:]}")
    return Run(seconds, peak / 2**20)


def python_env(pycache: Path, base: dict | None = None) -> dict:
    """An environment to time a Python tool in as its users run it: with its bytecode
    cached (kept in `pycache`, so no checkout is written to), whatever this machine's
    PYTHONDONTWRITEBYTECODE says."""
    env = {
        k: v
        for k, v in (base if base is not None else os.environ).items()
        if k != "PYTHONDONTWRITEBYTECODE"
    }
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def timed(n: int, once: Callable[[], Run], before: Callable[[], None] | None = None) -> Timing:
    """Call `before` (if given) and then `once` n times: the Timing of those n runs."""
    runs = []
    for _ in range(n):
        if before:
            before()
        runs.append(once())
    return Timing.of(runs)


def toolkit_source(package: Path = REPO / "toolkit") -> dict:
    """Which toolkit was timed: others edit toolkit/ while benchmarks run (read-only git)."""

    def git(*argv: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO), *argv], capture_output=True, text=True
        ).stdout.rstrip()

    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.read_bytes())
    return {
        "commit": git("rev-parse", "HEAD"),
        "modified": git("status", "--porcelain", "--", "toolkit").splitlines(),
        "sha256": digest.hexdigest(),
    }
