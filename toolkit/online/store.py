"""What the online checks learned, in .toolkit/online.sqlite.

- An archived capture never changes: whether it exists, its extracted text, and whether a
  quote is in it are kept for good.
- A live page does: its result is kept for `live_days` (default 7), then checked again.
- Failures (timeouts, 5xx, "no capture yet") are never kept: the next run tries again.
`--refresh` ignores what is kept (and replaces it).
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

FOREVER = None
VERSION = "1"  # bump when what is kept changes shape or meaning (text extraction, say)


def key(*parts: str) -> str:
    return hashlib.sha256("\0".join((VERSION, *parts)).encode()).hexdigest()


class OnlineStore:
    def __init__(self, path: Path | None, live_days: float = 7.0, refresh: bool = False):
        self.path = path
        self.live_seconds = live_days * 86400
        self.refresh = refresh
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # worker threads share one connection
        self._pending: list[tuple[str, bytes, float | None]] = []  # written in batches
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(path, timeout=30, check_same_thread=False)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS kept (key TEXT PRIMARY KEY, "
                    "value BLOB NOT NULL, expires REAL)"
                )
                self._db.execute("DELETE FROM kept WHERE expires < ?", (time.time(),))
                self._db.commit()
            except (OSError, sqlite3.Error):  # a broken cache only costs requests
                self._db = None

    def get(self, k: str) -> Any | None:
        if self._db is None or self.refresh:
            return None
        with self._lock:
            pending = next((p for p in reversed(self._pending) if p[0] == k), None)
            try:
                row = (
                    pending[1:]
                    if pending
                    else self._db.execute(
                        "SELECT value, expires FROM kept WHERE key = ?", (k,)
                    ).fetchone()
                )
            except sqlite3.Error:
                return None
        if row is None or (row[1] is not None and row[1] < time.time()):
            return None
        try:
            return pickle.loads(row[0])
        except Exception:  # noqa: BLE001 - an unreadable entry is just a miss
            return None

    def put(self, k: str, value: Any, ttl: float | None = FOREVER) -> None:
        if self._db is None:
            return
        expires = None if ttl is None else time.time() + ttl
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            self._pending.append((k, data, expires))
            if len(self._pending) >= 500:
                self._flush()

    def _flush(self) -> None:
        if self._db is None or not self._pending:
            return
        with contextlib.suppress(sqlite3.Error):
            self._db.executemany("INSERT OR REPLACE INTO kept VALUES (?, ?, ?)", self._pending)
            self._db.commit()
        self._pending.clear()

    def put_live(self, k: str, value: Any) -> None:
        self.put(k, value, self.live_seconds)

    def close(self) -> None:
        with self._lock:
            self._flush()
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
