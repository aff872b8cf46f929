"""Benchmark: load + parse + check (`toolkit check`) on a generated corpus.

    python bench/check.py [--posts 2000] [--snippets 10000] [--runs 5]

After one untimed warm-up run (which compiles the bytecode and warms the file cache),
prints the median wall time and the peak memory of the whole process tree.
Target (issue 2): 2,000 posts and 10,000 snippets in under 5 s and 400 MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import corpus  # noqa: E402
import measure  # noqa: E402

OUT = Path(__file__).parent / "out"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--snippets", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    root = OUT / f"check-{args.posts}-{args.snippets}"
    corpus.generate(root, args.posts, args.snippets, words=1000)
    toolkit = [sys.executable, "-m", "toolkit", "--root", str(root), "check"]

    env = measure.python_env(OUT / "check-pycache")

    def cold() -> None:
        shutil.rmtree(root / ".toolkit", ignore_errors=True)

    # One untimed run first, as bench/build.py's preflight: it stops with the tool's own
    # message if the check fails, and the timed runs then all find the bytecode compiled
    # and the corpus in the file cache.
    cold()
    done = subprocess.run(toolkit, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-5000:], sep="\n", file=sys.stderr)
        raise SystemExit(
            f"toolkit check failed on the corpus (exit {done.returncode}); "
            "not timing a failure. Its output is above."
        )

    timing = measure.timed(args.runs, lambda: measure.run(toolkit, env=env), before=cold)
    print(f"toolkit check: {args.posts} posts, {args.snippets} snippets, {os.cpu_count()} CPUs")
    print(
        f"  median {timing.median:.2f} s over {args.runs} runs "
        f"({', '.join(f'{t:.2f}' for t in timing.times)}), peak {timing.peak_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
