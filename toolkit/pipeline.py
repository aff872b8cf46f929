"""load -> parse -> check -> documents: the one path every command takes.

Each post is loaded, parsed and checked in one step (in worker processes for large
projects), so it is parsed exactly once per run; renderers use that same parse.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from . import checks, content, document, markdown, parallel
from . import diagnostics as dg
from .diagnostics import Diagnostic
from .document import ArchiveIndex, Document
from .model import Post, Project


@dataclass
class PostResult:
    post: Post | None
    diagnostics: list[Diagnostic]
    parsed: markdown.Parsed | None


@dataclass
class Checked:
    project: Project
    parsed: dict[str, markdown.Parsed]
    diagnostics: list[Diagnostic]

    def posts(self, drafts: bool = False) -> list[Post]:
        """Posts to publish, newest first; drafts only when asked. Undated drafts last."""
        chosen = [p for p in self.project.posts if drafts or p.published]
        far_past = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
        return sorted(chosen, key=lambda p: (p.date or far_past, p.slug), reverse=True)

    def document(self, post: Post) -> Document:
        return document.build(post, self.parsed[post.path], self.project)

    def documents(self, drafts: bool = False) -> list[Document]:
        return [self.document(p) for p in self.posts(drafts)]

    @property
    def failed(self) -> bool:
        return dg.has_failures(self.diagnostics)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _post_job(path: Path) -> PostResult:
    project, archives, keep = parallel.shared()
    post, diags = content.load_post(project.root, path)
    if post is None:
        return PostResult(None, diags, None)
    parsed = markdown.parse(post.body)
    diags += checks.check_post(post, parsed, project, archives)
    return PostResult(post, diags, parsed if keep else None)


def run(root: Path, at: dt.datetime | None = None, keep_parsed: bool = True) -> Checked:
    """Load and check the project at `root`. `at` is the time checks compare against.

    `keep_parsed=False` drops each post's parse after checking it (for `toolkit check`
    on large projects, where only the diagnostics are wanted).
    """
    project = content.load_project(root, posts=False)
    state = (project, ArchiveIndex(project.archives), keep_parsed)
    results = parallel.pmap(_post_job, content.post_files(root), state)
    parsed = {}
    diags = checks.check_project(project, at or now())
    for r in results:
        diags += r.diagnostics
        if r.post is not None:
            project.posts.append(r.post)
            if r.parsed is not None:
                parsed[r.post.path] = r.parsed
    diags += checks.check_slugs(project.posts)
    return Checked(project, parsed, dg.filter_ignored(diags, project.config.ignore))
