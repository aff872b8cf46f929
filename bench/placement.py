"""Benchmark: placing every diagnostic of one post (issue 15, item 7).

    python bench/placement.py [--repeats 5000 10000 20000] [--runs 3]

A post that repeats one unarchived link N times gets N P012 warnings, each placed at its
own occurrence. `toolkit check` (cold cache) is timed on it and on a post of the same
size whose text has no links, for each N; the difference is what placing costs. In
linear time the cost per diagnostic stays flat as N grows; it used to grow with N
(each placement searched the body from the top again).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import measure  # noqa: E402

OUT = Path(__file__).parent / "out" / "placement"
LINK = "See [the page](https://example.com/preparedness/) again.\n"


def project(root: Path, body: str) -> None:
    shutil.rmtree(root, ignore_errors=True)
    (root / "posts").mkdir(parents=True)
    (root / "snippets").mkdir()
    (root / "toolkit.toml").write_text(
        '[site]\ntitle = "T"\nbase_url = "https://example.org"\n', encoding="utf-8"
    )
    (root / "posts/repeat.md").write_text(f"---\ntitle: Repeat\n---\n{body}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, nargs="+", default=[5000, 10000, 20000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = measure.python_env(OUT / "pycache")
    print(json.dumps({"toolkit": measure.toolkit_source()}))
    for n in args.repeats:
        times = {}
        for name, line in (("links", LINK), ("plain", "x" * (len(LINK) - 1) + "\n")):
            root = OUT / f"{name}-{n}"
            project(root, line * n)
            cmd = [sys.executable, "-m", "toolkit", "--root", str(root), "check"]
            timing = measure.timed(
                args.runs,
                lambda cmd=cmd: measure.run(cmd, env=env),
                before=lambda root=root: shutil.rmtree(root / ".toolkit", ignore_errors=True),
            )
            times[name] = timing.median
        placing = times["links"] - times["plain"]
        print(
            f"{n:>6} links ({n * len(LINK) / 1e6:.1f} MB): check {times['links']:.2f} s, "
            f"same size without links {times['plain']:.2f} s, placing "
            f"{placing:.2f} s = {1e6 * placing / n:.0f} µs per diagnostic"
        )


if __name__ == "__main__":
    main()
