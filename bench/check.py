"""Benchmark: load + parse + check (`toolkit check`) on a generated corpus.

    python bench/check.py [--posts 2000] [--snippets 10000] [--runs 5]

Prints the median wall time and the peak memory of the whole process tree.
Target (issue 2): 2,000 posts and 10,000 snippets in under 5 s and 400 MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
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

    def cold() -> None:
        shutil.rmtree(root / ".toolkit", ignore_errors=True)

    result, times = measure.best_of(args.runs, toolkit, before=cold,
                                    env=measure.python_env(OUT / "check-pycache"))
    print(f"toolkit check: {args.posts} posts, {args.snippets} snippets, "
          f"{os.cpu_count()} CPUs")
    print(f"  median {result.seconds:.2f} s over {args.runs} runs "
          f"({', '.join(f'{t:.2f}' for t in times)}), peak {result.peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
