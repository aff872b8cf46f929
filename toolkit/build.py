"""`toolkit build`: check, then write site/ and feeds/ from one document per post.

With errors (or warnings under --strict) nothing is written: the previous outputs stay
exactly as they were. Otherwise each output directory is replaced in one atomic step.
Nothing here reads the clock, so two builds of the same input are byte-identical.

A build keeps what it learned in `.toolkit/` (see `toolkit.incremental`): unchanged posts
are not parsed again, pages whose inputs did not change are not rendered again, and files
identical to the last build's are hard-linked rather than written.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import content, environment, feeds, lock, media, output, pipeline, site
from . import diagnostics as dg
from .diagnostics import Diagnostic
from .incremental import memo, trees
from .incremental import store as cachelib
from .incremental.trees import CacheMiss
from .output import Entry
from .render import drafts

# The per-post renderers a build runs: a document and the project in, a value out.
RENDERERS: dict[str, pipeline.Renderer] = {
    "site": site.render_post,
    "drafts": drafts.render_parts,
}


class PathClash(Exception):
    """Two outputs would be written to one path; the message names both."""


def _claim(
    files: dict[str, Entry], owners: dict[str, str], new: dict[str, Entry], owner: str
) -> None:
    for rel, entry in new.items():
        if rel in files:
            raise PathClash(
                f"{rel} would be written twice, by {owners[rel]} and by {owner}; "
                "rename one of them (nothing was written)"
            )
        files[rel] = entry
        owners[rel] = owner


@dataclass
class BuildReport:
    diagnostics: list[Diagnostic]
    ok: bool
    written: dict[str, list[str]] = field(default_factory=dict)  # directory -> files
    posts: int = 0
    reused: int = 0  # posts whose results came from the cache
    seconds: float = 0.0
    up_to_date: bool = False  # nothing changed since the last build: nothing was written


def build(
    root: Path,
    drafts: bool = False,
    strict: bool = False,
    at: dt.datetime | None = None,
    use_cache: bool = True,
    preview: bool = False,
    on_checked: Callable[[list[Diagnostic]], None] | None = None,
    on_wait: Callable[[], None] | None = None,
) -> BuildReport:
    """Check, and unless there are errors, write site/ and feeds/.

    One build of a project runs at a time: another waits for the first to finish (and
    `on_wait` is called when it starts waiting).

    `preview` (for `toolkit serve`) writes site/ even when there are problems, with a
    banner listing them on every page, and leaves feeds/ alone. `on_checked` is given
    the diagnostics before anything is written, so a server can show them no later than
    the pages they are about.
    """
    start = time.perf_counter()
    with lock.exclusive(root, on_wait), pipeline.collector_paused():
        cache = cachelib.Cache(root / ".toolkit" / "cache.sqlite" if use_cache else None)
        report = _build_with_retries(root, cache, drafts, strict, at, preview, on_checked)
    report.seconds = time.perf_counter() - start
    return report


def _build_with_retries(
    root: Path,
    cache: cachelib.Cache,
    drafts: bool,
    strict: bool,
    at: dt.datetime | None,
    preview: bool,
    on_checked: Callable[[list[Diagnostic]], None] | None,
) -> BuildReport:
    try:
        try:
            report = _build(root, cache, drafts, strict, at, preview, on_checked)
        except CacheMiss as e:
            # A stored page was missing or damaged (and is now removed): build again, and
            # the post or page that needs it is rendered afresh; if that fails too, build
            # without the cache at all.
            if environment.read("TOOLKIT_DEBUG_CACHE"):
                print(f"cache: missing {e}; building again", file=sys.stderr)
            try:
                report = _build(root, cache, drafts, strict, at, preview, on_checked, verify=True)
            except CacheMiss:
                cache.close()
                cache = cachelib.Cache(None)
                report = _build(root, cache, drafts, strict, at, preview, on_checked)
    finally:
        cache.close()
    return report


def _build(
    root: Path,
    cache: cachelib.Cache,
    drafts: bool,
    strict: bool,
    at: dt.datetime | None,
    preview: bool,
    on_checked: Callable[[list[Diagnostic]], None] | None = None,
    verify: bool = False,
) -> BuildReport:
    at = at or pipeline.now()
    inputs = content.Inputs.scan(root)
    fingerprint = (
        memo.fingerprint(root, drafts, inputs, cache) if cache.enabled and not preview else None
    )
    if fingerprint:
        last = memo.last_build(root, cache, fingerprint, at, inputs)
        if last is not None:  # nothing it read has changed: its report holds, nothing to do
            return BuildReport(
                last["diagnostics"],
                ok=not dg.has_failures(last["diagnostics"], strict),
                posts=last["posts"],
                reused=last["posts"],
                up_to_date=True,
            )
    store = cachelib.ObjectStore(root / ".toolkit" / "objects" if cache.enabled else None, verify)
    site.keep_compiled_templates(root / ".toolkit" / "templates" if cache.enabled else None)
    # site/'s staging tree is chosen now: when it is a new one, workers write the pages
    # they render straight into it.
    site_name = output.PREVIEW if preview else "site"
    site_staging = trees.staging(root, site_name, cache)
    checked = pipeline.run(
        root,
        at,
        keep_parsed=False,
        renderers=RENDERERS,
        cache=cache,
        inputs=inputs,
        objects=store,
        drafts=drafts,
        tree=site_staging.path if site_staging and site_staging.new else None,
    )
    report = BuildReport(
        checked.diagnostics,
        ok=not checked.failed(strict),
        posts=len(checked.project.posts),
        reused=checked.reused,
    )
    if not report.ok and not preview:
        if site_staging and site_staging.new:
            output.discard(site_staging.path)  # pages were written into it
        return report
    if on_checked is not None:
        on_checked(report.diagnostics)
    project = checked.project
    posts = checked.posts(drafts)
    pages = {p.path: checked.outputs[p.path]["site"] for p in posts}
    items = [pages[p.path].item(p) for p in posts]
    files = trees.Files(
        store, pages, {pages[p.path].page_digest for p in posts if p.path in checked.fresh}
    )

    groups = site.page_groups(items, project)
    feed_groups = feeds.feed_groups(items, project)
    keys = {g.name: cachelib.key("pages", g.name, repr(g.inputs)) for g in groups + feed_groups}
    known = cache.get_many(list(keys.values()), dict)
    reusable = {
        name: known[k]
        for name, k in keys.items()
        if k in known and all(store.has(d) for d in known[k].values())
    }
    missing = [g for g in groups + feed_groups if g.name not in reusable]
    files.load_html({id(i): i for g in missing for i in g.shows}.values())

    rendered = {
        name: {rel: Entry(d) for rel, d in digests.items()} for name, digests in reusable.items()
    }
    for group in missing:
        rendered[group.name] = {rel: files.add(data) for rel, data in group.render().items()}
        cache.put(keys[group.name], {rel: e.digest for rel, e in rendered[group.name].items()})

    # No two outputs may ever claim one path: one would silently overwrite the other.
    feed_files: dict[str, Entry] = {}
    feed_owners: dict[str, str] = {}
    for g in feed_groups:
        _claim(feed_files, feed_owners, rendered[g.name], f"the {g.name} feed")
    # A page's `placed` is true of this build's staging tree only for posts just rendered.
    site_files: dict[str, Entry] = {}
    owners: dict[str, str] = {}
    for path, page in pages.items():
        entry = Entry(page.page_digest, page.page, page.placed if path in checked.fresh else None)
        _claim(site_files, owners, {page.path + "index.html": entry}, path)
    for group in groups:
        _claim(site_files, owners, rendered[group.name], f"the {group.name} page")
    _claim(site_files, owners, {f"feeds/{rel}": e for rel, e in feed_files.items()}, "feeds/")

    outputs = (
        {output.PREVIEW: site_files}
        if preview
        else {"site": site_files, "feeds": feed_files, "drafts": _drafts(checked, root)}
    )
    # Keep the objects of every post (drafts too: they are cached, built or not).
    kept: set[str] = {
        d for outputs in checked.outputs.values() for d in pipeline.stored_objects(outputs)
    }
    for directory, entries in outputs.items():
        staging = site_staging if directory == site_name else trees.staging(root, directory, cache)
        trees.write_tree(root, directory, entries, cache, files, staging)
        report.written[directory] = sorted(entries)
        kept.update(e.digest for e in entries.values())
    if fingerprint:
        images = media.sources(project.posts)
        images |= {source: digest for source, digest in media.snippet_files(project).values()}
        memo.remember_build(cache, fingerprint, at, report.posts, report.diagnostics, images)
    cache.prune()
    if not preview:  # a preview leaves out feeds/ and drafts/: keep what they need
        store.prune(kept)
    return report


def _drafts(checked: pipeline.Checked, root: Path) -> dict[str, Entry]:
    """drafts/: for every post with `targets`, the paste-ready files and exact requests."""
    with_targets = [
        p for p in checked.project.posts if checked.outputs[p.path].get("drafts") is not None
    ]
    if not with_targets:
        return {}
    from .ledger import LEDGER, Ledger  # here: ruamel.yaml is slow to import

    ledger = Ledger(root / LEDGER)
    files: dict[str, Entry] = {}
    for post in with_targets:
        parts = checked.outputs[post.path]["drafts"]
        for name, data in drafts.exports(parts, ledger, post.targets).items():
            files[name] = Entry.of(data)
    return files
