"""Images in a post: what `check` can say from the post and the settings alone.

P020: an image without alt text (a screen reader, a feed reader without images and
Substack's caption have nothing to say). P021: a local image while `[site] base_url` is
still the placeholder `example.org`, where feeds and LessWrong would look for it.
Whether a local image's file exists is not checked here: a post's checks are cached by
its bytes, and the file is another input.
"""

from __future__ import annotations

from collections.abc import Iterator

from . import diagnostics as dg
from . import urls
from .markdown import Locator, Parsed, plain_text, walk
from .model import Post, Project

PLACEHOLDER_HOST = "example.org"


def check_images(post: Post, parsed: Parsed, project: Project) -> Iterator[dg.Diagnostic]:
    loc = Locator(post.body, post.body_line)
    placeholder = urls.host(project.config.base_url) == PLACEHOLDER_HOST
    tokens = list(walk(parsed.tokens))
    for d in parsed.definitions:
        tokens += walk(d.children)
    for tok in tokens:
        if tok["type"] != "image":
            continue
        where = loc.find("![")
        url = tok["attrs"].get("url", "")
        if not plain_text(tok.get("children", [])).strip():
            yield dg.make(
                "P020",
                post.path,
                where[0],
                f"image `{url}` has no alt text; say what it shows: ![what it shows]({url})",
                where[1],
            )
        if placeholder and not urls.scheme(url) and not url.startswith("#"):
            yield dg.make(
                "P021",
                post.path,
                where[0],
                f"local image `{url}` would be linked under the placeholder base_url "
                f"{project.config.base_url}; set [site] base_url in toolkit.toml",
                where[1],
            )
