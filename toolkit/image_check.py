"""Images in a post (or a snippet's commentary): what `check` says about them.

P018: a local image that is not a file inside the project (missing, absolute, or outside
it), an error at its line: the site, the feeds and every target would show a broken
picture. P020: an image without alt text (a screen reader, a feed reader without images
and Substack's caption have nothing to say). P021: a local image while `[site] base_url`
is still the placeholder `example.org`, where feeds and LessWrong would look for it.

Whether a file exists is read where the post is parsed (`media.scan`); a post's cached
result is used only while its image files are unchanged, so adding a missing file makes
the error go at the next build (see toolkit.media).
"""

from __future__ import annotations

from collections.abc import Iterator

from . import diagnostics as dg
from . import media, urls
from .markdown import Locator, Parsed, plain_text, update_parses
from .markdown import parse as parse_markdown
from .model import Post, Project, Snippet

PLACEHOLDER_HOST = "example.org"


def placeholder(project: Project) -> bool:
    return urls.host(project.config.base_url) == PLACEHOLDER_HOST


def check_images(post: Post, parsed: Parsed, project: Project) -> Iterator[dg.Diagnostic]:
    images = media.images_of(project.root, post, parsed)
    loc = Locator(post.body, post.body_line)
    for tok in parsed.every_token():
        if tok["type"] == "image":
            yield from _check_image(tok, loc.find("!["), post.path, project, images)
    for update, update_parse in update_parses(post.updates, parsed):  # at the update's line
        if "![" not in update.text:
            continue
        for tok in update_parse.every_token():
            if tok["type"] == "image":
                yield from _check_image(tok, (update.line, 1), post.path, project, images)


def check_commentary_images(s: Snippet, project: Project) -> Iterator[dg.Diagnostic]:
    """The same, for the images in a snippet's commentary (shown on the claims pages)."""
    images = media.snippet_images(project).get(s.id)
    if "![" not in s.body:
        return
    loc = Locator(s.body, s.body_line)
    for tok in parse_markdown(s.body).every_token():
        if tok["type"] == "image":
            yield from _check_image(tok, loc.find("!["), s.path, project, images or {})


def _check_image(tok, where, path: str, project: Project, images) -> Iterator[dg.Diagnostic]:
    url = tok["attrs"].get("url", "")
    image = images.get(url)
    if image is not None and image.problem:
        yield dg.make("P018", path, where[0], media.problem_message(url, image), where[1])
    if not plain_text(tok.get("children", [])).strip():
        yield dg.make(
            "P020",
            path,
            where[0],
            f"image `{url}` has no alt text; say what it shows: ![what it shows]({url})",
            where[1],
        )
    if image is not None and placeholder(project):
        yield dg.make(
            "P021",
            path,
            where[0],
            f"local image `{url}` would be linked under the placeholder base_url "
            f"{project.config.base_url}; set [site] base_url in toolkit.toml",
            where[1],
        )
