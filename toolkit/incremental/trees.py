"""Output trees, brought up to date in place: the writer side of the incremental build.

`.toolkit/trees/<name>` holds the tree the last build swapped out of `site/` (`feeds/`,
`drafts/`, `.toolkit/preview`); with its record (`output.Tree`) the next build stages in
it, rewriting only what changed, then swaps it in. A record is forgotten before its tree
is touched, so a build killed half-way leaves a tree that is discarded, never reused.
Without a cache a new tree is made beside the old one.

`Files` hands the writer the bytes of each output by digest: fresh ones from memory, the
rest from the object store; bytes the cache promised and cannot give raise `CacheMiss`,
and the build starts over (see `build._build_with_retries`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .. import output, site
from ..output import Entry
from . import store as cachelib


class CacheMiss(Exception):
    """Something the cache promised is not there; the build starts over without it."""


@dataclass
class Staging:
    """Where the next output tree is made, and the record of the old tree there (None: a
    new, empty tree, into which workers may write pages directly)."""

    path: Path
    record: output.Tree | None

    @property
    def new(self) -> bool:
        return self.record is None


def staging(root: Path, directory: str, cache: cachelib.Cache) -> Staging | None:
    """`.toolkit/trees/<directory>`, with the record of the tree a build left there to
    bring up to date in place. None without a cache."""
    if not cache.enabled:
        return None
    path = root / ".toolkit" / "trees" / directory
    spare = cache.tree(f"spare:{directory}")
    if spare is None or path.is_symlink() or not path.is_dir():
        output.discard(path)  # what is there, if anything, is not known: never reused
        path.mkdir(parents=True)
        spare = None
    return Staging(path, spare)


def write_tree(
    root: Path,
    directory: str,
    entries: dict[str, Entry],
    cache: cachelib.Cache,
    files: Files,
    staging: Staging | None,
) -> output.Tree:
    """Replace root/directory with `entries` in one step.

    The tree it replaces is kept as `.toolkit/trees/<directory>`, and the next build
    stages in it (only what changed is rewritten); its record is forgotten before it is
    touched, so a build stopped half-way leaves a tree that is discarded, never reused.
    Without a cache, a new tree is made beside the old one and the old one removed.
    """
    dest = output.destination(root, directory)
    live = cache.tree(directory)
    if staging is None:
        import tempfile

        dest.parent.mkdir(parents=True, exist_ok=True)
        fresh = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{directory}.new-"))
        tree = output.stage_tree(entries, dest, fresh, live, None, files.load, files.source)
        if output.swap_in(fresh, dest):
            output.discard(fresh)
        return tree
    path, spare = staging.path, staging.record
    cache.set_tree(f"spare:{directory}", None)
    tree = output.stage_tree(entries, dest, path, live, spare, files.load, files.source)
    if output.swap_in(path, dest):  # the old tree is now at `path`
        if live is not None:
            cache.set_tree(f"spare:{directory}", live)
        else:  # not one we wrote: nothing says what is in it
            output.discard(path)
    cache.set_tree(directory, tree)
    return tree


class Files:
    """Bytes the build writes, by digest: fresh ones in memory (and in the object store),
    the rest from the store. Missing bytes mean the cache lied: start over without it."""

    def __init__(
        self, store: cachelib.ObjectStore, pages: dict[str, site.PostPage], fresh: set[str]
    ):
        self.store = store
        self.memory = {p.page_digest: p.page for p in pages.values() if p.page is not None}
        self.fresh = set(fresh)  # objects written during this build

    def add(self, data: bytes) -> Entry:
        digest = self.store.put(data)
        self.fresh.add(digest)
        self.memory[digest] = data
        return Entry(digest, data)

    def source(self, digest: str):
        return self.store.source(digest, verified=digest in self.fresh)

    def load_html(self, items: Iterable[site.Item]) -> None:
        for item in items:
            if item.html is None:
                item.html = item.html_from(self.load(item.page_digest))

    def load(self, digest: str) -> bytes:
        data = self.memory.get(digest) or self.store.get(digest)
        if data is None:
            raise CacheMiss(digest)
        return data
