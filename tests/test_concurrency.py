"""Builds of one project never overlap: three at once leave a correct site (issue 15.4)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from toolkit import lock


def _tree(top: Path) -> dict[str, bytes]:
    return {
        p.relative_to(top).as_posix(): p.read_bytes() for p in sorted(top.rglob("*")) if p.is_file()
    }


def _build(root: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "toolkit", "--root", str(root), "build", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_three_builds_at_once_leave_a_correct_site(examples, tmp_path_factory):
    # A first build, so the three below race over existing trees and a warm cache.
    first = _build(examples)
    assert first.wait(timeout=120) == 0
    post = examples / "posts" / "paris-frameworks-compared.md"
    post.write_text(post.read_text() + "\nA line added before the race.\n")

    runs = [_build(examples) for _ in range(3)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in runs]
    for code, _out, err in results:
        assert code == 0, err
        assert "Traceback" not in err

    expected = tmp_path_factory.mktemp("plain")
    for name in ("posts", "snippets"):
        shutil.copytree(examples / name, expected / name)
    for name in ("toolkit.toml", "archives.yaml"):
        shutil.copy(examples / name, expected / name)
    assert _build(expected, "--no-cache").wait(timeout=120) == 0
    for directory in ("site", "feeds", "drafts"):
        assert _tree(examples / directory) == _tree(expected / directory), directory
    assert not list(examples.glob(".site*")) and not list(examples.glob(".feeds*"))


def test_a_second_build_waits_for_the_first_and_says_so(examples):
    with lock.exclusive(examples):
        waiting = _build(examples)
        line = waiting.stderr.readline()  # blocks until the build has reached the lock
        assert "Another build of this project is running; waiting" in line
        assert waiting.poll() is None  # still waiting while we hold the lock
        assert not (examples / "site").exists()
    assert waiting.wait(timeout=120) == 0
    assert (examples / "site" / "index.html").is_file()
