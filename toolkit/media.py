"""Local images: which file a post's `![alt](path)` names, and where the site serves it.

A local image is a relative path, resolved against the post's folder. It must name a
file inside the project: an absolute path, a path whose `..` leaves the project (or a
link that points out of it) and a missing file are errors at the image's line (P018).

Each image file a shown post uses is copied to `site/media/<sha256 prefix>-<name>`:
named by its content, so a replaced picture gets a new URL that no feed reader or CDN
has cached, and two posts using one file share one copy. The name depends on the file's
bytes, so a post's cached result depends on them too: the pipeline keeps each post's
`LocalImage`s (with their digests) with its result and uses the result only while every
image file still has that digest (see `unchanged`).

Reading the files is the only I/O here; `scan` runs where a post is parsed.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from . import markdown, urls
from .content import slugify
from .markdown import Parsed, update_parses
from .model import LocalImage, Post, Project

FOLDER = "media/"  # under site/
DIGEST_CHARS = 16  # of the sha256 in a copy's name: 64 bits, no two files collide

OUTSIDE = "outside"
ABSOLUTE = "absolute"
MISSING = "missing"


def is_local(url: str) -> bool:
    """A path to a file, not a URL (`https:`, `data:`), a fragment or a host (`//x`)."""
    return bool(url) and not urls.scheme(url) and not url.startswith(("#", "//"))


def image_urls(parsed: Parsed, post: Post) -> list[str]:
    """The local images' URLs as parsed, in order (body, notes, updates)."""
    if "![" not in post.body and not any("![" in u.text for u in post.updates):
        return []  # most posts have no image: no walk over their tokens
    tokens = [*parsed.every_token()]  # a copy: the parse's own list is shared
    for update, update_parse in update_parses(post.updates, parsed):
        if "![" in update.text:
            tokens += update_parse.every_token()
    return list(dict.fromkeys(t["attrs"].get("url", "") for t in tokens if t["type"] == "image"))


def resolve(root: Path, post_path: str, url: str) -> LocalImage:
    """The file `url` names, from the post at `post_path` (relative to `root`)."""
    path = unquote(urlsplit(url).path)
    if path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        return LocalImage(None, None, ABSOLUTE)
    source = posixpath.normpath(posixpath.join(posixpath.dirname(post_path), path))
    if source == ".." or source.startswith("../") or "\0" in source:
        return LocalImage(None, None, OUTSIDE)
    file = root / source
    try:
        real = file.resolve()
        if not real.is_relative_to(root.resolve()):  # a link out of the project
            return LocalImage(None, None, OUTSIDE)
        data = file.read_bytes() if file.is_file() else None
    except (OSError, RuntimeError):  # unreadable, or a loop of links
        data = None
    if data is None:
        return LocalImage(source, None, MISSING)
    return LocalImage(source, hashlib.sha256(data).hexdigest())


def scan(root: Path, post: Post, parsed: Parsed) -> dict[str, LocalImage]:
    """Each local image of the post, by its URL as parsed."""
    return {url: resolve(root, post.path, url) for url in image_urls(parsed, post) if is_local(url)}


def snippet_images(project: Project) -> dict[str, dict[str, LocalImage]]:
    """The local images in each snippet's commentary (resolved against the snippet's
    folder, as a post's against its own), by snippet id; worked out once per run."""
    found = project.derived.snippet_images
    if found is None:
        found = {}
        for s in project.snippets.values():
            if "![" not in s.body:
                continue  # most commentary has no image: not even parsed
            tokens = markdown.parse(s.body).every_token()
            wanted = dict.fromkeys(
                t["attrs"].get("url", "") for t in tokens if t["type"] == "image"
            )
            images = {url: resolve(project.root, s.path, url) for url in wanted if is_local(url)}
            if images:
                found[s.id] = images
        project.derived.snippet_images = found
    return found


def snippet_files(project: Project) -> dict[str, tuple[str, str]]:
    """Every image file snippets' commentary shows: site path -> (source, digest)."""
    return {
        site_path(image): (image.source, image.digest)
        for images in snippet_images(project).values()
        for image in images.values()
        if image.source is not None and image.digest is not None
    }


def images_of(root: Path, post: Post, parsed: Parsed) -> dict[str, LocalImage]:
    """The post's local images, scanned once (the pipeline scans them as it parses)."""
    if post.images is None:
        post.images = scan(root, post, parsed)
    return post.images


def site_path(image: LocalImage) -> str:
    """Where the site serves the file: `media/<digest prefix>-<name>`."""
    assert image.source is not None and image.digest is not None
    name = slugify(posixpath.basename(image.source))
    return f"{FOLDER}{image.digest[:DIGEST_CHARS]}-{name}"


def url_path(image: LocalImage) -> str:
    """`site_path`, percent-encoded for a URL (a name may be in any script)."""
    return quote(site_path(image))


def files(posts: Iterable[Post]) -> dict[str, tuple[str, str]]:
    """Every image file the posts use: site path -> (source, digest)."""
    out: dict[str, tuple[str, str]] = {}
    for post in posts:
        for image in (post.images or {}).values():
            if image.source is not None and image.digest is not None:
                out[site_path(image)] = (image.source, image.digest)
    return dict(sorted(out.items()))


def sources(posts: Iterable[Post]) -> dict[str, str]:
    """Every image file the posts use: its path in the project -> its digest."""
    return {
        i.source: i.digest
        for post in posts
        for i in (post.images or {}).values()
        if i.source is not None and i.digest is not None
    }


def unchanged(post: Post, digests) -> bool:
    """Whether every image file a stored post result used still has the bytes it had.
    `digests(paths)` gives the current digest of each path (None: gone)."""
    images = [i for i in (post.images or {}).values() if i.source is not None]
    if not images:
        return True
    now = digests([i.source for i in images])
    return all(i.digest == d for i, d in zip(images, now, strict=True))


def read(root: Path, source: str, digest: str) -> bytes:
    """A file's bytes, as they were when it was scanned (OSError if it changed since:
    its copy's name would no longer match its content)."""
    data = (root / source).read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise OSError(f"{source} changed during the build; build again")
    return data


def problem_message(url: str, image: LocalImage) -> str:
    if image.problem == ABSOLUTE:
        return (
            f"image `{url}` is an absolute path; write it relative to the post's folder "
            "(a file inside the project)"
        )
    if image.problem == OUTSIDE:
        return (
            f"image `{url}` is outside the project; move the file into the project and "
            "link it from there"
        )
    return f"image `{url}`: there is no file {image.source}; add it, or fix the path"
