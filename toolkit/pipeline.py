"""load -> parse -> check -> document -> renderers: the one path every command takes.

Each post is loaded, parsed, checked, resolved into its document and rendered by the
requested per-post renderers in one step (in worker processes for large projects), so it
is parsed exactly once per run. With a cache, a post whose inputs have not changed is not
even parsed: its diagnostics and outputs come back from `.toolkit/`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cache as cachelib
from . import checks, content, document, markdown, parallel
from . import diagnostics as dg
from .diagnostics import Diagnostic
from .document import ArchiveIndex, Document
from .model import Post, Project

# A per-post renderer: the post's document and the project in, any picklable value out.
Renderer = Callable[[Document, Project], Any]


@dataclass
class PostResult:
    post: Post | None
    diagnostics: list[Diagnostic]
    parsed: markdown.Parsed | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    key: str | None = None  # cache key, when cached or cacheable
    deps: dict[str, str | None] = field(default_factory=dict)  # snippet id -> digest
    fresh: bool = True  # computed in this run rather than read from the cache


@dataclass
class Checked:
    project: Project
    parsed: dict[str, markdown.Parsed]
    diagnostics: list[Diagnostic]
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # post path -> outputs
    reused: int = 0  # posts whose results came from the cache

    def posts(self, drafts: bool = False) -> list[Post]:
        """Posts to publish, newest first; drafts only when asked. Undated drafts last."""
        chosen = [p for p in self.project.posts if drafts or p.published]
        far_past = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
        return sorted(chosen, key=lambda p: (p.date or far_past, p.slug), reverse=True)

    def document(self, post: Post) -> Document:
        parsed = self.parsed.get(post.path) or markdown.parse(post.body)
        return document.build(post, parsed, self.project)

    def documents(self, drafts: bool = False) -> list[Document]:
        return [self.document(p) for p in self.posts(drafts)]

    def failed(self, strict: bool = False) -> bool:
        return dg.has_failures(self.diagnostics, strict)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class _Job:
    """What every post job needs, shared with worker processes."""

    project: Project
    archives: ArchiveIndex
    keep_parsed: bool
    renderers: dict[str, Renderer]
    cache: cachelib.Cache
    digests: dict[str, str]  # snippet id -> file digest


def _dependencies(post: Post, parsed: markdown.Parsed, project: Project) -> set[str]:
    """Snippets whose content can change this post's diagnostics or outputs."""
    ids = set(post.claims)
    for tok in markdown.walk(parsed.tokens + [t for d in parsed.definitions
                                              for t in d.children]):
        if tok["type"] == "citation":
            ids.update(item["id"] for item in tok["attrs"]["items"])
        elif tok["type"] == "claim":
            ids.add(tok["attrs"]["id"])
    for snippet_id in list(ids):
        ids.update(checks.successors(project, snippet_id))
    return ids


def _post_job(path: Path) -> PostResult:
    job: _Job = parallel.shared()
    project = job.project
    shown = content.rel(project.root, path)
    data, diags = content.read_bytes(path, shown)
    if data is None:
        return PostResult(None, diags)
    key = cachelib.key(project.digest, hashlib.sha256(data).hexdigest(), *sorted(job.renderers))
    if not job.keep_parsed:
        hit = job.cache.get(key, job.digests)
        if hit is not None:
            hit.fresh = False
            return hit
    post, diags = content.load_post(project.root, path, data)
    if post is None:
        return PostResult(None, diags)
    parsed = markdown.parse(post.body)
    diags += checks.check_post(post, parsed, project, job.archives)
    outputs = {}
    if job.renderers:
        doc = document.build(post, parsed, project)
        outputs = {name: render(doc, project) for name, render in job.renderers.items()}
    deps = {sid: job.digests.get(sid) for sid in _dependencies(post, parsed, project)}
    return PostResult(post, diags, parsed if job.keep_parsed else None, outputs, key, deps)


def run(root: Path, at: dt.datetime | None = None, keep_parsed: bool = True,
        renderers: dict[str, Renderer] | None = None, use_cache: bool = False) -> Checked:
    """Load and check the project at `root`; render each post with `renderers`.

    `at` is the time the checks compare against (now by default). `keep_parsed=False`
    drops each post's parse once it is checked and rendered (large projects), and is
    needed for the cache (`use_cache`, kept in `.toolkit/cache.sqlite`) to be used.
    """
    project = content.load_project(root, posts=False)
    store = cachelib.Cache(root / ".toolkit" / "cache.sqlite" if use_cache else None)
    job = _Job(project, ArchiveIndex(project.archives), keep_parsed, renderers or {}, store,
               {sid: s.digest for sid, s in project.snippets.items()})
    results = parallel.pmap(_post_job, content.post_files(root), job)

    diags = checks.check_project(project, at or now())
    checked = Checked(project, {}, [])
    fresh = []
    for r in results:
        diags += r.diagnostics
        if r.post is None:
            continue
        project.posts.append(r.post)
        checked.outputs[r.post.path] = r.outputs
        if r.parsed is not None:
            checked.parsed[r.post.path] = r.parsed
        if not r.fresh:
            checked.reused += 1
        elif r.key and not any(d.severity == dg.ERROR for d in r.diagnostics):
            fresh.append((r.key, r.deps, r))
    diags += checks.check_slugs(project.posts)
    checked.diagnostics = dg.filter_ignored(diags, project.config.ignore)
    if use_cache:
        store.put_many(fresh)
        store.prune({r.key for r in results if r.key})
        store.close()
    return checked
