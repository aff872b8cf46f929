"""What a build learned, kept in .toolkit/ so the next build can skip it.

One SQLite table maps a post's cache key to its result (the loaded post, its diagnostics
and its rendered outputs). The key covers the post's own bytes and everything global it
depends on (toolkit.toml, labs.yaml, archives.yaml, the toolkit's version, which outputs
were asked for). The snippets a post cites are recorded with their digests and compared
on every lookup, so editing a snippet re-renders exactly the posts that cite it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import pickle
import sqlite3
from pathlib import Path
from typing import Any

from . import __version__

SCHEMA = 2


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of the toolkit's own code and templates: a new version, or an edited
    checkout, never reuses results the old code produced."""
    h = hashlib.sha256(f"{__version__}/{SCHEMA}".encode())
    package = Path(__file__).parent
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".html", ".css") and path.is_file():
            h.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def key(*parts: str) -> str:
    h = hashlib.sha256(code_version().encode())
    for part in parts:
        h.update(b"\0" + part.encode())
    return h.hexdigest()


class Cache:
    """A read-mostly store; `None` path means no cache (every lookup misses)."""

    def __init__(self, path: Path | None):
        self.path = path
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS posts "
                       "(key TEXT PRIMARY KEY, deps BLOB NOT NULL, value BLOB NOT NULL)")
            self._db = db
        return self._db

    def get(self, cache_key: str, current: dict[str, str | None]) -> Any | None:
        """The stored value if every recorded dependency still has the same digest."""
        try:
            db = self._connect()
            if db is None:
                return None
            row = db.execute("SELECT deps, value FROM posts WHERE key = ?",
                             (cache_key,)).fetchone()
            if row is None:
                return None
            deps: dict[str, str | None] = pickle.loads(row[0])
            if any(current.get(name) != digest for name, digest in deps.items()):
                return None
            return pickle.loads(row[1])
        except (sqlite3.Error, pickle.PickleError, EOFError, AttributeError):
            return None  # a damaged or outdated cache is just a miss

    def put_many(self, entries: list[tuple[str, dict[str, str | None], Any]]) -> None:
        try:
            db = self._connect()
            if db is None or not entries:
                return
            with db:
                db.executemany(
                    "INSERT OR REPLACE INTO posts (key, deps, value) VALUES (?, ?, ?)",
                    [(k, pickle.dumps(d, protocol=pickle.HIGHEST_PROTOCOL),
                      pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL))
                     for k, d, v in entries])
        except sqlite3.Error:
            pass  # the cache is an optimisation; a build never fails because of it

    def prune(self, keep: set[str]) -> None:
        """Forget every entry not in `keep` (what the last build used), so the cache
        never grows past one entry per post."""
        try:
            db = self._connect()
            if db is None:
                return
            with db:
                db.execute("CREATE TEMP TABLE IF NOT EXISTS keep (key TEXT PRIMARY KEY)")
                db.execute("DELETE FROM keep")
                db.executemany("INSERT OR IGNORE INTO keep VALUES (?)", [(k,) for k in keep])
                db.execute("DELETE FROM posts WHERE key NOT IN (SELECT key FROM keep)")
        except sqlite3.Error:
            pass

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def __getstate__(self) -> dict:
        # Worker processes open their own connection.
        return {"path": self.path, "_db": None}
