"""A damaged or hostile cache is a miss, never a different site (issue 15, item 14)."""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import sqlite3
from pathlib import Path

from click.testing import CliRunner
from conftest import NOW

from toolkit import build as buildlib
from toolkit.cli import cli

PAPER = "posts/paris-frameworks-compared.md"
OTHER = "posts/weight-security-notes.md"


def _tree(top: Path) -> dict[str, bytes]:
    return {
        p.relative_to(top).as_posix(): p.read_bytes() for p in sorted(top.rglob("*")) if p.is_file()
    }


def _plain_build(root: Path, tmp: Path) -> Path:
    """The same content built without any cache, for comparison."""
    plain = tmp / "plain"
    for name in ("posts", "snippets"):
        shutil.copytree(root / name, plain / name)
    for name in ("toolkit.toml", "archives.yaml"):
        shutil.copy(root / name, plain / name)
    assert buildlib.build(plain, at=NOW, use_cache=False).ok
    return plain


def _rows(root: Path) -> sqlite3.Connection:
    return sqlite3.connect(root / ".toolkit" / "cache.sqlite")


def _touch_other_post(root: Path) -> None:
    """An edit elsewhere, so the next build reads the stored results of the others."""
    path = root / OTHER
    path.write_text(path.read_text() + "\nOne more sentence.\n")


def _rewrite_post_rows(root: Path, change) -> int:
    db = _rows(root)
    try:
        rows = db.execute("SELECT key, value FROM posts").fetchall()
        changed = 0
        for key, value in rows:
            new = change(bytes(value))
            if new is not None and new != value:
                db.execute("UPDATE posts SET value = ? WHERE key = ?", (new, key))
                changed += 1
        db.commit()
    finally:
        db.close()
    return changed


def test_one_changed_byte_in_a_stored_row_never_reaches_the_site(examples, tmp_path):
    assert buildlib.build(examples, at=NOW).ok
    title = b"The Paris frameworks, side by side"
    forged = b"The Paris frameworks, SIDE by side"
    assert _rewrite_post_rows(examples, lambda v: v.replace(title, forged) if title in v else None)
    _touch_other_post(examples)
    report = buildlib.build(examples, at=NOW)
    assert report.ok
    site = _tree(examples / "site")
    assert all(forged not in data for data in site.values())
    assert site == _tree(_plain_build(examples, tmp_path) / "site")


def _with_checksum(data: bytes) -> bytes:
    return hashlib.sha256(data).digest() + data


class _Payload:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_row_that_would_run_code_or_is_of_the_wrong_type_is_a_miss(examples, tmp_path):
    assert buildlib.build(examples, at=NOW).ok
    marker = tmp_path / "pwned"
    bad = [
        _with_checksum(pickle.dumps(_Payload(str(marker)))),  # would run a command
        _with_checksum(pickle.dumps({"post": "a dict, not a result"})),  # the wrong type
    ]
    assert _rewrite_post_rows(examples, lambda v: bad[len(v) % 2])
    _touch_other_post(examples)
    result = CliRunner().invoke(cli, ["--root", str(examples), "build"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert not marker.exists()
    assert _tree(examples / "site") == _tree(_plain_build(examples, tmp_path) / "site")


def test_a_cache_that_is_not_a_database_is_replaced(examples):
    cache = examples / ".toolkit" / "cache.sqlite"
    cache.parent.mkdir()
    cache.write_bytes(b"this is not an SQLite database\n" * 100)
    runner = CliRunner()
    assert runner.invoke(cli, ["--root", str(examples), "build"]).exit_code == 0
    db = sqlite3.connect(cache)
    try:
        assert db.execute("SELECT COUNT(*) FROM posts").fetchone()[0] > 0
    finally:
        db.close()
    again = runner.invoke(cli, ["--root", str(examples), "build"])
    assert "Nothing changed since the last build" in again.output  # the cache works again
