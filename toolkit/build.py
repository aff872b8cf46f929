"""`toolkit build`: check, then write site/ and feeds/ from one document per post.

With errors (or warnings under --strict) nothing is written: the previous outputs stay
exactly as they were. Otherwise each output directory is replaced in one atomic step.
Nothing here reads the clock, so two builds of the same input are byte-identical.

A build keeps what it learned in `.toolkit/` (see `toolkit.cache`): unchanged posts are
not parsed again, pages whose inputs did not change are not rendered again, and files
identical to the last build's are hard-linked rather than written.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import cache as cachelib
from . import feeds, output, pipeline, site
from .diagnostics import Diagnostic
from .output import Entry
from .publish import publisher


def _draft_parts(doc, project):
    """Substack and LessWrong renderings, for posts that name a target."""
    return publisher.render_parts(doc, project) if doc.post.targets else None


RENDERERS = {"site": site.render_post, "drafts": _draft_parts}


class CacheMiss(Exception):
    """Something the cache promised is not there; the build starts over without it."""


@dataclass
class BuildReport:
    diagnostics: list[Diagnostic]
    ok: bool
    written: dict[str, list[str]] = field(default_factory=dict)  # directory -> files
    posts: int = 0
    reused: int = 0  # posts whose results came from the cache
    seconds: float = 0.0


def build(root: Path, drafts: bool = False, strict: bool = False,
          at: dt.datetime | None = None, use_cache: bool = True,
          preview: bool = False) -> BuildReport:
    """Check, and unless there are errors, write site/ and feeds/.

    `preview` (for `toolkit serve`) writes site/ even when there are problems, with a
    banner listing them on every page, and leaves feeds/ alone.
    """
    start = time.perf_counter()
    cache = cachelib.Cache(root / ".toolkit" / "cache.sqlite" if use_cache else None)
    try:
        try:
            report = _build(root, cache, drafts, strict, at, preview)
        except CacheMiss:
            cache.close()
            cache = cachelib.Cache(None)
            report = _build(root, cache, drafts, strict, at, preview)
    finally:
        cache.close()
    report.seconds = time.perf_counter() - start
    return report


def _build(root: Path, cache: cachelib.Cache, drafts: bool, strict: bool,
           at: dt.datetime | None, preview: bool) -> BuildReport:
    checked = pipeline.run(root, at, keep_parsed=False, renderers=RENDERERS, cache=cache)
    report = BuildReport(checked.diagnostics, ok=not checked.failed(strict),
                         posts=len(checked.project.posts), reused=checked.reused)
    if not report.ok and not preview:
        return report
    project = checked.project
    posts = checked.posts(drafts)
    pages = {p.path: checked.outputs[p.path]["site"] for p in posts}
    items = [pages[p.path].item(p) for p in posts]
    blobs = _Blobs(cache, pages)

    groups = site.page_groups(items, project)
    feed_groups = feeds.feed_groups(items, project)
    keys = {g.name: cachelib.key("pages", g.name, repr(g.inputs)) for g in groups + feed_groups}
    known = cache.get_many(list(keys.values()))
    missing = [g for g in groups + feed_groups if keys[g.name] not in known]
    blobs.load_html([i for i in items if any(g.needs_html for g in missing)])

    rendered: dict[str, dict[str, Entry]] = {}
    for group in groups + feed_groups:
        k = keys[group.name]
        if k in known:
            digests: dict[str, str] = known[k]
            cache.keep(cachelib.blob_key(d) for d in digests.values())
            rendered[group.name] = {rel: Entry(d) for rel, d in digests.items()}
        else:
            files = {rel: Entry.of(data) for rel, data in group.render().items()}
            cache.put_many({k: {rel: e.digest for rel, e in files.items()},
                            **{cachelib.blob_key(e.digest): e.data for e in files.values()}})
            rendered[group.name] = files

    feed_files = {rel: e for g in feed_groups for rel, e in rendered[g.name].items()}
    site_files = {page.path + "index.html": Entry(page.page_digest, page.page)
                  for page in pages.values()}
    for group in groups:
        site_files.update(rendered[group.name])
    site_files.update({f"feeds/{rel}": e for rel, e in feed_files.items()})
    banner = site.problems_html(checked.diagnostics) if preview and checked.diagnostics else b""
    site_files = {rel: blobs.with_banner(e, banner) if rel.endswith(".html") else e
                  for rel, e in site_files.items()}

    outputs = {"site": site_files} if preview else {
        "site": site_files, "feeds": feed_files, "drafts": _drafts(checked, root)}
    for directory, entries in outputs.items():
        staging, manifest = output.stage_tree(entries, root / directory,
                                              cache.outputs(directory), blobs.load)
        output.swap_in(staging, root / directory, len(manifest))
        cache.set_outputs(directory, manifest)
        report.written[directory] = sorted(entries)
    cache.prune()
    return report


def _drafts(checked: pipeline.Checked, root: Path) -> dict[str, Entry]:
    """drafts/: for every post with `targets`, the paste-ready files and exact requests."""
    ledger = publisher.Ledger(root / publisher.LEDGER)
    files: dict[str, Entry] = {}
    for post in checked.project.posts:
        parts = checked.outputs[post.path].get("drafts")
        if parts is not None:
            for name, data in publisher.exports(parts, ledger, post.targets).items():
                files[name] = Entry.of(data)
    return files


class _Blobs:
    """Bytes the build needs by digest: fresh ones in memory, the rest from the cache."""

    def __init__(self, cache: cachelib.Cache, pages: dict[str, site.PostPage]):
        self.cache = cache
        self.memory = {p.page_digest: p.page for p in pages.values() if p.page is not None}
        self.banners: dict[str, tuple[str, bytes]] = {}  # final digest -> (raw, banner)

    def load_html(self, items: list[site.Item]) -> None:
        wanted = [i.html_key for i in items if i.html is None]
        found = self.cache.get_many(wanted)
        for item in items:
            if item.html is None:
                if item.html_key not in found:
                    raise CacheMiss(item.html_key)
                item.html = found[item.html_key]

    def load(self, digest: str) -> bytes:
        if digest in self.banners:
            raw, banner = self.banners[digest]
            return self.load(raw).replace(site.PROBLEMS_MARKER, banner)
        if digest in self.memory:
            return self.memory[digest]
        data = self.cache.get(cachelib.blob_key(digest))
        if data is None:
            raise CacheMiss(digest)
        return data

    def with_banner(self, entry: Entry, banner: bytes) -> Entry:
        """The page as written: the problems marker replaced by the banner (or nothing)."""
        if entry.data is not None:
            self.memory[entry.digest] = entry.data
        final = cachelib.digest(f"{entry.digest}:{cachelib.digest(banner)}".encode())
        self.banners[final] = (entry.digest, banner)
        return Entry(final)
