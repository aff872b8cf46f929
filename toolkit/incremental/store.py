"""What a build learned, kept in .toolkit/cache.sqlite so the next build can skip it.

Two tables:
- `posts`: a post's result (loaded post, diagnostics, rendered outputs) under a key made
  of the post's bytes and everything global it depends on (toolkit.toml, labs.yaml,
  archives.yaml, the toolkit's own code, the outputs asked for). The snippets a post cites
  are stored with their digests and compared on every lookup, so editing a snippet
  re-renders exactly the posts that cite it, and nothing stale is ever served.
- `memo`: values under content keys: loaded files (keyed by path and content hash), the
  content hash of files known by their stat, and pages rendered from many posts (keyed by
  a hash of everything they show; their bytes are in the object store below).
  It also holds what the last build left in each output directory and in its spare tree
  (`output.Tree`: each file's digest, size, mtime and inode, each folder's mtime), so an
  unchanged file is linked or left alone instead of written again.

Every build records the keys it used and `prune()` drops the rest, so the cache holds
one build's worth. A damaged or outdated cache is only ever a miss:
- every value is stored with the sha256 of its bytes, and a value whose bytes do not match
  (a flipped bit, an edited row) is a miss;
- values are pickles read by an unpickler that makes nothing but the toolkit's own
  dataclasses and named tuples and `datetime` values: a crafted row cannot run code, only
  fail to load;
- a value of the wrong type for what is asked (`kind=`) is a miss;
- a file that is not an SQLite database is replaced by a new, empty cache.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import os
import pickle
import sqlite3
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from .. import __version__, environment

SCHEMA = 5  # 5: rows carry their checksum
_CHUNK = 500  # parameters per SQL statement


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of the toolkit's own code and templates: a new version, or an edited
    checkout, never reuses results the old code produced."""
    h = hashlib.sha256(f"{__version__}/{SCHEMA}".encode())
    package = Path(__file__).parent.parent  # the whole toolkit package
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".html", ".css") and path.is_file():
            h.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def key(*parts: str) -> str:
    h = hashlib.sha256(code_version().encode())
    for part in parts:
        h.update(b"\0" + part.encode())
    return h.hexdigest()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _dumps(value: Any) -> bytes:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return hashlib.sha256(data).digest() + data


class Damaged(ValueError):
    """A stored value that is not what was stored, or not something we store."""


_DATETIME = {"date", "datetime", "time", "timedelta", "timezone"}


class _Unpickler(pickle.Unpickler):
    """Makes only what the toolkit itself stores: its dataclasses and named tuples, and
    `datetime` values. Anything else (a function, `os.system`, a class of another
    package) is refused before it is touched."""

    allowed: dict[tuple[str, str], Any] = {}  # what was let in once, for every later row

    def find_class(self, module: str, name: str) -> Any:
        found = self.allowed.get((module, name))
        if found is not None:
            return found
        if module == "datetime" and name in _DATETIME:
            found = super().find_class(module, name)
        elif module == "toolkit" or module.startswith("toolkit."):
            found = super().find_class(module, name)
            if not isinstance(found, type) or not (
                dataclasses.is_dataclass(found) or issubclass(found, tuple)
            ):
                found = None
        if found is None:
            raise Damaged(f"the cache holds a {module}.{name}, which it never stores")
        self.allowed[(module, name)] = found
        return found


def _loads(blob: bytes) -> Any:
    if len(blob) < 32 or hashlib.sha256(blob[32:]).digest() != blob[:32]:
        raise Damaged("a stored value does not match its checksum")
    return _Unpickler(io.BytesIO(blob[32:])).load()


def _of(kind: type | tuple[type, ...] | None, value: Any) -> Any:
    if kind is not None and not isinstance(value, kind):
        raise Damaged(f"the cache holds a {type(value).__name__} where it keeps a {kind}")
    return value


def _chunks(items: list, size: int = _CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class Cache:
    """The build cache; `Cache(None)` is a cache that always misses and keeps nothing."""

    def __init__(self, path: Path | None):
        self.path = path
        self._db: sqlite3.Connection | None = None
        self.used: set[str] = set()
        self.pending: dict[str, Any] = {}  # memo writes, kept for one transaction

    @property
    def enabled(self) -> bool:
        return self.path is not None

    # Keys are made here, so the loaders that use this cache as a memo never import it.
    key = staticmethod(key)

    def _connect(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._db = self._open()
            except sqlite3.DatabaseError:  # not a database (or a damaged one): start anew
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(f"{self.path}{suffix}")
                self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        assert self.path is not None
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS posts "
                "(key TEXT PRIMARY KEY, deps BLOB NOT NULL, value BLOB NOT NULL)"
            )
            db.execute("CREATE TABLE IF NOT EXISTS memo (key TEXT PRIMARY KEY, value BLOB)")
            db.execute("SELECT COUNT(*) FROM memo").fetchone()  # reads a page: damage shows
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _safely(self, fn, default=None):
        try:
            return fn()
        except (
            sqlite3.Error,
            pickle.PickleError,
            Damaged,
            EOFError,
            KeyError,
            IndexError,
            AttributeError,
            ImportError,
            TypeError,
            ValueError,
        ) as e:
            if environment.read("TOOLKIT_DEBUG_CACHE"):
                print(f"cache: {type(e).__name__}: {e}", file=sys.stderr)
            return default  # the cache is an optimisation; it never fails a build

    # posts -------------------------------------------------------------------------

    def get_posts(
        self, keys: list[str], current: dict[str, str], kind: type | None = None
    ) -> dict[str, Any]:
        """Stored results (of type `kind`) for `keys` whose recorded snippet digests match
        `current`. A damaged row is left out, the rest are used."""

        def run() -> dict[str, Any]:
            db = self._connect()
            if db is None:
                return {}
            found = {}
            for chunk in _chunks(keys):
                marks = ",".join("?" * len(chunk))
                for k, deps, value in db.execute(
                    f"SELECT key, deps, value FROM posts WHERE key IN ({marks})", chunk
                ):
                    try:
                        recorded = _of(dict, _loads(deps))
                        if all(current.get(name) == d for name, d in recorded.items()):
                            found[k] = _of(kind, _loads(value))
                    except (Damaged, pickle.PickleError, EOFError, TypeError, ValueError):
                        continue  # this row is a miss; it is replaced when stored again
            self.used.update(found)
            return found

        return self._safely(run, {})

    def put_posts(self, entries: list[tuple[str, dict[str, str | None], Any]]) -> None:
        def run() -> None:
            db = self._connect()
            if db is None or not entries:
                return
            with db:
                db.executemany(
                    "INSERT OR REPLACE INTO posts VALUES (?, ?, ?)",
                    [(k, _dumps(d), _dumps(v)) for k, d, v in entries],
                )
            self.used.update(k for k, _, _ in entries)

        self._safely(run)

    def replace_posts(self, entries: list[tuple[str, Any]]) -> None:
        """Store new results under keys already stored, keeping what each depends on."""

        def run() -> None:
            db = self._connect()
            if db is None or not entries:
                return
            with db:
                db.executemany(
                    "UPDATE posts SET value = ? WHERE key = ?",
                    [(_dumps(v), k) for k, v in entries],
                )

        self._safely(run)

    # memo ----------------------------------------------------------------------------

    def get_many(
        self, keys: list[str], kind: type | tuple[type, ...] | None = None
    ) -> dict[str, Any]:
        """Remembered values (each of type `kind`, else left out) under `keys`."""

        def run() -> dict[str, Any]:
            db = self._connect()
            if db is None:
                return {}
            found = {k: self.pending[k] for k in keys if k in self.pending}
            for chunk in _chunks([k for k in keys if k not in found]):
                marks = ",".join("?" * len(chunk))
                for k, value in db.execute(
                    f"SELECT key, value FROM memo WHERE key IN ({marks})", chunk
                ):
                    try:
                        found[k] = _of(kind, _loads(value))
                    except (Damaged, pickle.PickleError, EOFError, TypeError, ValueError):
                        continue
            self.used.update(found)
            return found

        return self._safely(run, {})

    def get(self, k: str, kind: type | tuple[type, ...] | None = None) -> Any | None:
        return self.get_many([k], kind).get(k)

    def put_many(self, entries: dict[str, Any]) -> None:
        """Remember values; they are written together at `flush` (or `close`)."""
        if self.path is not None:
            self.pending.update(entries)
            self.used.update(entries)

    def flush(self) -> None:
        def run() -> None:
            db = self._connect()
            if db is None or not self.pending:
                return
            with db:
                db.executemany(
                    "INSERT OR REPLACE INTO memo VALUES (?, ?)",
                    [(k, _dumps(v)) for k, v in self.pending.items()],
                )
            self.pending.clear()

        self._safely(run)

    def put(self, k: str, value: Any) -> None:
        self.put_many({k: value})

    # outputs -------------------------------------------------------------------------

    def tree(self, name: str) -> Any | None:
        """The record (an `output.Tree`) of the tree a build left under `name`."""
        from ..output import Tree

        return self.get(f"tree:{name}", Tree)

    def set_tree(self, name: str, tree: Any | None) -> None:
        """Remember a tree's record (None: forget it, written at once, before the tree
        is touched, so a build killed half-way leaves no record of a tree it changed)."""
        self.put(f"tree:{name}", tree)
        if tree is None:
            self.flush()

    # housekeeping ---------------------------------------------------------------------

    def prune(self) -> None:
        """Forget everything this build did not use (once the unused part is worth it)."""
        self.flush()

        def run() -> None:
            db = self._connect()
            if db is None:
                return
            rows = sum(
                db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("posts", "memo")
            )
            if rows <= 2 * len(self.used):
                return
            with db:
                db.execute("CREATE TEMP TABLE IF NOT EXISTS used (key TEXT PRIMARY KEY)")
                db.execute("DELETE FROM used")
                db.executemany("INSERT OR IGNORE INTO used VALUES (?)", [(k,) for k in self.used])
                db.execute("DELETE FROM posts WHERE key NOT IN (SELECT key FROM used)")
                db.execute("DELETE FROM memo WHERE key NOT IN (SELECT key FROM used)")

        self._safely(run)

    def close(self) -> None:
        """Write what is pending and close the connection (it reopens on next use)."""
        self.flush()
        self.disconnect()

    def disconnect(self) -> None:
        """Close the connection, keeping what is pending for a later `flush`. Call it
        before forking: SQLite connections must not cross a fork (and the workers never
        write the cache, so what is pending is written once, by this process)."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def __getstate__(self) -> dict:
        # Worker processes never touch the cache; they get a closed handle.
        return {"path": None, "_db": None, "used": set(), "pending": {}}


class ObjectStore:
    """Bytes kept as files under their sha256 in `.toolkit/objects/`.

    A build's pages live here once: workers store them as they render (or write them into
    a new site tree and link them here), the build hard-links them into the output tree
    (no copying), and the next build links them again if they are unchanged. An output
    file is the same file as its object, so an edit made to the output in place would
    change the object too: objects are made read-only, rewritten whenever they are
    rendered again, and any other object is checked against its digest before it is
    linked.
    """

    def __init__(self, directory: Path | None, verify: bool = False):
        self.directory = directory
        # Check that every object a cached result names is there before trusting it.
        # Off by default (a stat per file); a build turns it on when it finds one missing.
        self.verify = verify
        self._made: str | None = None  # the directory, once it is known to exist

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    def put(self, data: bytes, content_digest: str | None = None) -> str:
        """Store `data` as a new file (replacing any old copy); its digest (pass it in
        when already known)."""
        content_digest = content_digest or digest(data)
        if self.directory is None:
            return content_digest
        # Plain os calls: a build stores an object per post, and pathlib costs more than
        # the system calls. A new object is created in place (no temp file, no rename): a
        # build killed mid-write leaves a short file that no stored result names, and
        # `source` and `get` check the bytes of any object not written in this build. An
        # existing one is replaced atomically, as an output linked to it may have been
        # edited.
        target = os.path.join(self._folder(), content_digest)
        try:
            create(target, data)
        except FileExistsError:
            _replace(target, lambda tmp: create(tmp, data))
        except OSError:
            pass  # the store is an optimisation; the build goes on
        return content_digest

    def adopt(self, path: str, content_digest: str) -> None:
        """Make the file at `path` (holding exactly these bytes) the object, by a hard link
        (replacing any old copy atomically): a page written into the site tree is stored
        without being written twice."""
        if self.directory is None:
            return
        target = os.path.join(self._folder(), content_digest)
        try:
            os.link(path, target)
        except FileExistsError:
            _replace(target, lambda tmp: os.link(path, tmp))
        except OSError:
            pass  # the store is an optimisation; the build goes on

    def _folder(self) -> str:
        if self._made is None:
            assert self.directory is not None
            self.directory.mkdir(parents=True, exist_ok=True)
            self._made = str(self.directory)
        return self._made

    def has(self, content_digest: str) -> bool:
        return self.directory is not None and os.path.isfile(self._path(content_digest))

    def _path(self, content_digest: str) -> str:
        return os.path.join(self._made or str(self.directory), content_digest)

    def get(self, content_digest: str) -> bytes | None:
        """The bytes, if we have them intact; a damaged object is removed."""
        if self.directory is None:
            return None
        target = self._path(content_digest)
        try:
            with open(target, "rb") as f:
                data = f.read()
        except OSError:
            return None
        if digest(data) != content_digest:
            with contextlib.suppress(OSError):
                os.unlink(target)  # so the next build renders it again
            return None
        return data

    def source(self, content_digest: str, verified: bool = False) -> str | None:
        """A file holding exactly these bytes, to hard-link (None if we have none).
        Unless the caller knows it was just written (`verified`), its bytes are checked."""
        if self.directory is None:
            return None
        if verified:
            return self._path(content_digest) if self.has(content_digest) else None
        return self._path(content_digest) if self.get(content_digest) is not None else None

    def prune(self, keep: set[str]) -> None:
        """Delete every object not in `keep`."""
        if self.directory is None or not self.directory.is_dir():
            return
        for entry in os.scandir(self.directory):
            if entry.name not in keep:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


class Stashable(Protocol):
    """A rendered page the cache may move into its object store (`site.PostPage`)."""

    path: str
    page: bytes | None
    page_digest: str


P = TypeVar("P", bound=Stashable)


def stash(value: P, store: ObjectStore, tree: str | None = None) -> P:
    """Move a rendered page into the store; a copy that only names it (`page` None).

    With `tree` (a new staging tree for site/), the page is written there, where it will
    be served, and the store links to it (`placed` records its stat): a build from nothing
    writes each page once, in the worker that rendered it."""
    assert value.page is not None
    placed = _place(value, store, tree) if tree is not None else None
    if placed is None:
        store.put(value.page, value.page_digest)
    return dataclasses.replace(value, page=None, html=None, placed=placed)  # type: ignore[type-var]


def _place(value: Stashable, store: ObjectStore, tree: str) -> tuple[int, int, int] | None:
    assert value.page is not None
    target = os.path.join(tree, value.path, "index.html")
    try:
        try:
            os.mkdir(os.path.dirname(target))
        except FileNotFoundError:  # the first page under posts/ or shortform/
            os.makedirs(os.path.dirname(target), exist_ok=True)
        st = create(target, value.page)
    except OSError:
        return None  # e.g. two posts with one slug: that build fails its check anyway
    store.adopt(target, value.page_digest)
    return st.st_size, st.st_mtime_ns, st.st_ino


def create(path: str, data: bytes) -> os.stat_result:
    """A new read-only file holding `data` (objects, and the output files linked to them,
    are never written into once made); its stat as it was left. FileExistsError if
    there is a file at `path`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    try:
        with open(fd, "wb") as f:
            f.write(data)
            f.flush()  # so the mtime in the stat is the file's last
            return os.fstat(f.fileno())
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


def _replace(target: str, make: Callable[[str], object]) -> None:
    """Replace `target` atomically with what `make` puts at a temporary name."""
    tmp = f"{target}.{os.getpid()}.tmp"
    with contextlib.suppress(OSError):
        os.unlink(tmp)  # left by a killed build (read-only: not opened for writing)
    try:
        make(tmp)
        os.replace(tmp, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
