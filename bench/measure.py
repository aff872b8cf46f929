"""Run a command and measure its wall time and peak memory (the whole process tree).

Memory is sampled every 50 ms as the sum over the process and all its children, so worker
processes count too. On Linux it sums PSS, which splits pages that forked workers share with
their parent between them, so nothing is counted twice; elsewhere RSS, an upper bound.
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
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
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        total = 0
        try:
            for p in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += _memory(p)
        except psutil.Error:
            pass
        peak = max(peak, total)
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-2000:]}")
    return Run(seconds, peak / 2**20, proc.returncode)


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
