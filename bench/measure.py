"""Run a command and measure its wall time and peak memory (the whole process tree).

Memory is sampled every 50 ms as the sum over the process and all its children, so worker
processes count too. On Linux it sums PSS, which splits pages that forked workers share with
their parent between them, so nothing is counted twice; elsewhere RSS, an upper bound.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass
class Run:
    seconds: float
    peak_mb: float
    returncode: int


def _memory(p: psutil.Process) -> int:
    """PSS where the OS has it (shared pages split between processes), else RSS."""
    try:
        return p.memory_full_info().pss
    except (AttributeError, psutil.AccessDenied):
        return p.memory_info().rss


def run(cmd: list[str], cwd: Path | None = None, env: dict | None = None) -> Run:
    """Wall time from start to exit (the wait returns the moment it exits), and the peak
    memory sampled every 50 ms by a thread beside it."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
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
    threads = [threading.Thread(target=sample, daemon=True),
               threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)]
    for thread in threads:
        thread.start()
    proc.wait()
    seconds = time.perf_counter() - start
    done.set()
    threads[0].join()
    threads[1].join(timeout=5)  # a detached grandchild may hold stderr open: not our wait
    stderr = b"".join(errors).decode(errors="replace")
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-2000:]}")
    return Run(seconds, peak / 2**20, proc.returncode)


def python_env(pycache: Path, base: dict | None = None) -> dict:
    """An environment to time a Python tool in as its users run it: with its bytecode
    cached (kept in `pycache`, so no checkout is written to), whatever this machine's
    PYTHONDONTWRITEBYTECODE says."""
    env = {k: v for k, v in (base if base is not None else os.environ).items()
           if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def best_of(n: int, cmd: list[str], cwd: Path | None = None, env: dict | None = None,
            before=None) -> tuple[Run, list[float]]:
    """The median run of n (by time), and all the times."""
    runs = []
    for _ in range(n):
        if before:
            before()
        runs.append(run(cmd, cwd, env))
    times = [r.seconds for r in runs]
    median = statistics.median(times)
    chosen = min(runs, key=lambda r: abs(r.seconds - median))
    return Run(median, max(r.peak_mb for r in runs), chosen.returncode), times
