"""Older and newer links between posts: who a post's neighbours are, and a first guess.

A post's page links to the post of its kind shown just before it and just after it, by
date. Who those are depends on every post, but pages are rendered one post at a time in
worker processes, before the posts are all loaded. So the pipeline guesses first (from
the cache's copy of each unchanged post and a quick look at the others' front matter),
renders with the guess, and once every post is loaded, compares: a page rendered with a
wrong guess has its links replaced in place (`site.PostPage.relinked`), with no new parse.
A good guess costs nothing; a wrong one costs one page's splice.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from . import content, fields
from .document import page_path
from .model import Post


@dataclass(frozen=True)
class Link:
    path: str  # the neighbour's page, relative to the site root: "posts/x/"
    title: str


@dataclass(frozen=True)
class Neighbours:
    older: Link | None
    newer: Link | None


@dataclass(frozen=True)
class Sketch:
    """What ordering posts needs of one: less than a Post, so it can also be guessed."""

    path: str  # the post's file, as Post.path
    slug: str
    title: str
    date: dt.datetime | None
    kind: str
    published: bool

    @classmethod
    def of(cls, post: Post) -> Sketch:
        return cls(post.path, post.slug, post.title, post.date, post.kind, post.published)


_FAR_PAST = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def of(posts: Iterable[Post | Sketch], drafts: bool = False) -> dict[str, Neighbours]:
    """Each shown post's neighbours (by its file's path), in the site's order: newest
    first, by date then slug, as `pipeline.Checked.posts` sorts them; drafts only when
    shown."""
    by_kind: dict[str, list[Post | Sketch]] = {}
    for post in posts:
        if drafts or post.published:
            by_kind.setdefault("shortform" if post.kind == "shortform" else "post", []).append(post)
    found: dict[str, Neighbours] = {}
    for group in by_kind.values():
        group.sort(key=lambda p: (p.date or _FAR_PAST, p.slug), reverse=True)
        links = [Link(page_path(p), p.title) for p in group]
        for i, post in enumerate(group):
            newer = links[i - 1] if i > 0 else None
            older = links[i + 1] if i + 1 < len(group) else None
            found[post.path] = Neighbours(older, newer)
    return found


# --- The first guess ------------------------------------------------------------------------

_KEY = re.compile(r"^(title|date|slug|kind|status):[ \t]*(.*?)[ \t]*$", re.M)


def guess(path: str, data: bytes) -> Sketch | None:
    """A post's sketch read from the plain `key: value` lines of its front matter, without
    a YAML parser (a fiftieth of the time); None where it cannot tell. A wrong guess only
    costs a splice later: the loaded post has the last word."""
    try:
        split = content.split_front_matter(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    if split is None:
        return None
    front, _, body, _ = split
    values: dict[str, str | None] = {k: _scalar(v) for k, v in _KEY.findall(front)}
    kind = values.get("kind") or "post"
    title = values.get("title")
    if not title and kind == "shortform":
        title = content.opening_words(body)
    stem = PurePosixPath(path).stem
    return Sketch(
        path,
        values.get("slug") or content.slugify(stem),
        title or stem,
        fields.to_datetime(values.get("date")),
        kind,
        values.get("status") == "published",
    )


def _scalar(raw: str) -> str | None:
    """A YAML scalar as written on one line; None unless plainly a string."""
    if raw[:1] == '"':
        return raw[1:-1] if len(raw) > 1 and raw.endswith('"') and "\\" not in raw else None
    if raw[:1] == "'":
        return raw[1:-1].replace("''", "'") if len(raw) > 1 and raw.endswith("'") else None
    raw = raw.split(" #", 1)[0].rstrip()
    if not raw or raw[0] in "[]{}&*!|>%@`#,?:-":
        return None
    return raw
