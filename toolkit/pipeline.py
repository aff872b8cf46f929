"""load -> parse -> check -> document -> renderers: the one path every command takes.

Each post is loaded, parsed, checked, resolved into its document and rendered by the
requested per-post renderers in one step (in worker processes for large projects), so it
is parsed exactly once per run. With a cache, a post whose inputs have not changed is not
even parsed: its diagnostics and outputs come back from `.toolkit/`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import checks, content, document, environment, markdown, media, neighbours, parallel, site
from . import diagnostics as dg
from .diagnostics import Diagnostic
from .document import Document
from .incremental import memo
from .incremental import store as cachelib
from .incremental.trees import CacheMiss
from .model import ArchiveIndex, Post, Project
from .neighbours import Neighbours

# A per-post renderer: the post's document and the project in, any picklable value out.
# With an object store, a value with `spill(store)` moves its bulk there (in the worker)
# and `objects()` names what it keeps there.
Renderer = Callable[[Document, Project], Any]


@dataclass
class PostResult:
    post: Post | None
    diagnostics: list[Diagnostic]
    parsed: markdown.Parsed | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    deps: dict[str, str | None] = field(default_factory=dict)  # snippet id -> digest


@dataclass
class Checked:
    project: Project
    parsed: dict[str, markdown.Parsed]
    diagnostics: list[Diagnostic]
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # post path -> outputs
    reused: int = 0  # posts whose results came from the cache
    fresh: set[str] = field(default_factory=set)  # posts computed in this run

    def posts(self, drafts: bool = False) -> list[Post]:
        """Posts to publish, newest first; drafts only when asked. Undated drafts last."""
        chosen = [p for p in self.project.posts if drafts or p.published]
        far_past = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
        return sorted(chosen, key=lambda p: (p.date or far_past, p.slug), reverse=True)

    def document(self, post: Post) -> Document:
        if post.slim:  # from the build cache, without its body: read it again
            again = content.load_post(self.project.root, self.project.root / post.path)[0]
            if again is None:  # checked a moment ago; gone or broken since
                raise OSError(f"{post.path} could not be read again")
            post = again
        parsed = self.parsed.get(post.path) or document.parse_post(post)
        return document.build(post, parsed, self.project)

    def failed(self, strict: bool = False) -> bool:
        return dg.has_failures(self.diagnostics, strict)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a run (nested calls are fine).

    A run allocates millions of objects that it keeps to the end, and frees the rest by
    reference counting; the collector, started every 700 allocations, only rescans them:
    a tenth of a rebuild's time. Forked workers inherit the pause. Peak memory measured
    the same with and without it (the parse and render leave no cycles to speak of).
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class _Job:
    """What every post job needs, shared with worker processes."""

    project: Project
    archives: ArchiveIndex
    keep_parsed: bool
    renderers: dict[str, Renderer]
    digests: dict[str, str]  # snippet id -> file digest
    objects: cachelib.ObjectStore | None  # where rendered pages go, when there is one
    tree: str | None = None  # a new staging tree for site/, to write pages straight into
    drafts: bool = False  # whether drafts' pages go into that tree too
    # Each post's older and newer posts, as first guessed (see toolkit.neighbours).
    neighbours: dict[str, Neighbours] = field(default_factory=dict)


def _dependencies(post: Post, parsed: markdown.Parsed, project: Project) -> set[str]:
    """Snippets whose content can change this post's diagnostics or outputs."""
    ids = checks.relies_on(post, parsed)
    for snippet_id in list(ids):
        ids.update(checks.successors(project, snippet_id))
    return ids


def _post_job(item: tuple[Path, bytes | None, list[Diagnostic]]) -> PostResult:
    path, data, diags = item
    job: _Job = parallel.shared()
    project = job.project
    if data is None:
        return PostResult(None, diags)
    name = content.rel(project.root, path)
    result = compute(path, data, project, job.archives, job.renderers, job.neighbours.get(name))
    post, diags, parsed, outputs = result.post, result.diagnostics, result.parsed, result.outputs
    if post is None or parsed is None:
        return PostResult(None, diags)
    if job.renderers:
        if job.objects is not None:  # the cache takes the pages' bytes: only digests travel
            tree = job.tree if post.published or job.drafts else None
            outputs = {
                name: cachelib.stash(value, job.objects, tree)
                if isinstance(value, site.PostPage)
                else value
                for name, value in outputs.items()
            }
        post = post.slimmed() if not job.keep_parsed else post
    deps = {sid: job.digests.get(sid) for sid in _dependencies(post, parsed, project)}
    return PostResult(post, diags, parsed if job.keep_parsed else None, outputs, deps)


def compute(
    path: Path,
    data: bytes,
    project: Project,
    archives: ArchiveIndex,
    renderers: dict[str, Renderer],
    neighbours: Neighbours | None = None,
) -> PostResult:
    """One post as every run makes it: loaded from `data` (its file's bytes), parsed once,
    its images read, checked, and rendered by `renderers` (its page linking to
    `neighbours`). The preview renders an edited post alone through this too."""
    post, diags = content.load_post(project.root, path, data)
    if post is None:
        return PostResult(None, diags)
    parsed = document.parse_post(post)
    post.images = media.scan(project.root, post, parsed)  # read here, with the post
    diags += checks.check_post(post, parsed, project, archives)
    outputs = {}
    if renderers:
        doc = document.build(post, parsed, project, neighbours)
        outputs = {name: render(doc, project) for name, render in renderers.items()}
    return PostResult(post, diags, parsed, outputs)


def _first_guess(
    known: Iterable[PostResult], unread: list[tuple[str, bytes | None]], drafts: bool
) -> dict[str, Neighbours]:
    """Each post's neighbours as far as can be told before the posts are loaded: from the
    cached results' posts, and a quick read of the other files' front matter."""
    sketches = [neighbours.Sketch.of(r.post) for r in known if r.post is not None]
    for name, data in unread:
        sketch = neighbours.guess(name, data) if data is not None else None
        if sketch is not None:
            sketches.append(sketch)
    return neighbours.of(sketches, drafts)


def _relink(
    checked: Checked, drafts: bool, store: cachelib.ObjectStore | None, tree: str | None
) -> list[str]:
    """Give every page the site shows the neighbours its post really has, now that all
    posts are loaded; the posts whose pages changed (now counted as made in this run)."""
    real = neighbours.of(checked.project.posts, drafts)
    changed = []
    for path, outputs in checked.outputs.items():
        if path not in real:  # not shown: nobody sees its links
            continue
        for name, value in outputs.items():
            if not isinstance(value, site.PostPage) or value.neighbours == real[path]:
                continue
            data = value.page if value.page is not None else store and store.get(value.page_digest)
            if not data:
                raise CacheMiss(value.page_digest)
            if value.placed is not None and tree is not None and path in checked.fresh:
                # The worker wrote it into the new staging tree: the right page goes there.
                os.unlink(os.path.join(tree, value.path, "index.html"))
            page = value.relinked(data, real[path])
            outputs[name] = cachelib.stash(page, store) if store is not None else page
            changed.append(path)
    checked.fresh.update(changed)
    if changed and environment.read("TOOLKIT_DEBUG_CACHE"):
        print("cache: relinked " + ", ".join(changed[:10]), file=sys.stderr)
    return changed


def stored_objects(outputs: dict[str, Any]) -> list[str]:
    """The digests of the object-store files a post's rendered outputs name."""
    return [v.page_digest for v in outputs.values() if isinstance(v, site.PostPage)]


def run(
    root: Path,
    at: dt.datetime | None = None,
    keep_parsed: bool = True,
    renderers: dict[str, Renderer] | None = None,
    cache: cachelib.Cache | None = None,
    inputs: content.Inputs | None = None,
    objects: cachelib.ObjectStore | None = None,
    tree: Path | None = None,
    drafts: bool = False,
) -> Checked:
    """Load and check the project at `root`; render each post with `renderers`.

    `at` is the time the checks compare against (now by default). `keep_parsed=False`
    drops each post's parse once it is checked and rendered. With `cache`, unchanged
    posts are read back instead of parsed (and nothing is kept parsed for them). With
    `objects`, rendered pages go straight to that store and only their digests come back;
    with `tree` too (a new, empty staging tree for site/), the pages of posts the site
    shows (published ones, and drafts with `drafts`) are written there as well.
    """
    with collector_paused():
        return _run(
            root,
            at,
            keep_parsed,
            renderers or {},
            cache or cachelib.Cache(None),
            inputs or content.Inputs.scan(root),
            objects,
            tree,
            drafts,
        )


def _run(
    root: Path,
    at: dt.datetime | None,
    keep_parsed: bool,
    renderers: dict[str, Renderer],
    cache: cachelib.Cache,
    inputs: content.Inputs,
    objects: cachelib.ObjectStore | None,
    tree: Path | None,
    drafts: bool,
) -> Checked:
    project = content.load_project(root, posts=False, memo=cache, inputs=inputs)
    digests = {sid: s.digest for sid, s in project.snippets.items()}

    # Read every post here (fast), so that unchanged ones never reach a worker.
    paths = inputs.posts
    # A post's result holds its path, slug and URLs: it is keyed by where the post is as
    # well as by its bytes, so a renamed or copied post is never another's result.
    names = [content.rel(root, path) for path in paths]

    def post_key(i: int, digest: str) -> str:
        return cachelib.key("post", project.digest, *sorted(renderers), names[i], digest)

    keys = [
        post_key(i, digest) if digest else ""
        for i, digest in enumerate(inputs.digests(paths, cache if cache.enabled else None))
    ]
    hits = cache.get_posts([k for k in keys if k], digests, PostResult) if not keep_parsed else {}
    if objects is not None and objects.verify:  # a result whose stored page is gone is no hit
        hits = {
            k: r for k, r in hits.items() if all(objects.has(d) for d in stored_objects(r.outputs))
        }
    if hits:  # a result whose image files changed (or went) is no hit: it names them

        def image_digests(names: list[str]) -> list[str | None]:
            return inputs.digests([root / n for n in names], cache)

        hits = {
            k: r
            for k, r in hits.items()
            if r.post is None or media.unchanged(r.post, image_digests)
        }
    todo = [i for i, k in enumerate(keys) if k not in hits]
    if cache.enabled and environment.read("TOOLKIT_DEBUG_CACHE"):
        print(
            "cache: computing " + ", ".join(str(paths[i].name) for i in todo[:10]), file=sys.stderr
        )
    items = []  # only the posts to compute are read (again, if the memo knew them)
    for i in todo:
        data = inputs.read(paths[i])
        diags = (
            [] if data is not None else content.read_bytes(paths[i], content.rel(root, paths[i]))[1]
        )
        items.append((paths[i], data, diags))
        if data is not None:  # keyed by the bytes parsed, should the file have just changed
            keys[i] = post_key(i, cachelib.digest(data))
    store = objects if objects is not None and objects.enabled else None
    job = _Job(
        project,
        memo.archive_index(project, cache),
        keep_parsed,
        renderers,
        digests,
        store,
        str(tree) if tree is not None and store is not None else None,
        drafts,
        _first_guess(
            hits.values(), [(names[i], it[1]) for i, it in zip(todo, items, strict=True)], drafts
        )
        if renderers
        else {},
    )
    cache.disconnect()  # never carry an open SQLite connection into forked workers
    results = parallel.start(_post_job, items, job)()
    # While the workers take the posts, this process writes what the cache has learned,
    # checks the rest of the project, and stores each result as it comes back.
    cache.flush()
    checked = Checked(project, {}, memo.project_checks(project, at or now(), cache, inputs))
    # Keep a result only if its bulk went to the object store (else it would be lost),
    # and never one with errors (their messages may depend on other files).
    storable = cache.enabled and objects is not None and objects.enabled
    computed: dict[int, PostResult] = {}
    rows: list[tuple[str, dict[str, str | None], PostResult]] = []
    for i, r in zip(todo, results, strict=True):
        computed[i] = r
        if (
            storable
            and keys[i]
            and r.post is not None
            and not any(d.severity == dg.ERROR for d in r.diagnostics)
        ):
            rows.append(
                (keys[i], r.deps, PostResult(r.post.slimmed(), r.diagnostics, None, r.outputs))
            )
            if len(rows) == 200:
                cache.put_posts(rows)
                rows = []
    cache.put_posts(rows)
    kept: dict[str, tuple[str, PostResult]] = {}  # post path -> its key and result
    for i, k in enumerate(keys):
        r = hits.get(k) or computed[i]
        checked.diagnostics += r.diagnostics
        if r.post is None:
            continue
        kept[r.post.path] = (k, r)
        project.posts.append(r.post)
        checked.outputs[r.post.path] = r.outputs
        if r.parsed is not None:
            checked.parsed[r.post.path] = r.parsed
        if k in hits:
            checked.reused += 1
        else:
            checked.fresh.add(r.post.path)
    if renderers:
        relinked = _relink(checked, drafts, store, job.tree)
        if storable:  # so the next build finds them as they are now
            cache.replace_posts(
                [
                    (k, PostResult(r.post.slimmed(), r.diagnostics, None, r.outputs))
                    for k, r in (kept[path] for path in relinked)
                    if k and r.post is not None
                ]
            )
    checked.diagnostics += checks.check_slugs(project.posts)
    checked.diagnostics += checks.check_tags(project.posts)
    checked.diagnostics = dg.filter_ignored(checked.diagnostics, project.config.ignore)
    return checked
