"""drafts/: a post as each publish target receives it, paste-ready and as the exact request.

`render_parts` is the per-post renderer `toolkit build` runs beside the site's (from the
same parse, and kept in its cache); `exports` turns those parts into the files under
`drafts/<target>/` for the targets a post names, using what published.yaml records (a
remote id turns a create into an update). Pure: nothing here reads or writes a file or
talks to a service, so `build` never imports `publish`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import targets
from ..document import Document
from ..model import Project
from . import html as htmlrender

if TYPE_CHECKING:  # only read here; a build with nothing to do never loads ruamel.yaml
    from ..ledger import Ledger


@dataclass
class Parts:
    """A post rendered once for every kind of target."""

    slug: str
    title: str
    subtitle: str | None
    kind: str
    prosemirror: dict[str, Any]  # Substack's editor document
    markdown: str  # ForumMagnum's Markdown
    paste_html: str  # a standalone page to paste into any editor
    link: str | None = None  # a link post's page


def render_parts(doc: Document, project: Project) -> Parts | None:
    """The drafts renderer: None for a post that names no target."""
    if not doc.post.targets:
        return None
    from . import lesswrong as forumrender  # here: they load mistune's renderers, which a
    from . import substack as ssrender  # build with nothing to render never needs

    return Parts(
        doc.post.slug,
        doc.post.title,
        doc.post.subtitle,
        doc.post.kind,
        ssrender.render(doc),
        forumrender.render(doc),
        paste_html(doc, project.config.site_url),
        doc.post.link,
    )


def paste_html(doc: Document, site_url: str) -> str:
    rendered = htmlrender.render(doc, site_url)
    page = htmlrender.rebase_media(rendered.full(), site_url)
    page = htmlrender.absolute_fragments(page, site_url + doc.path)
    subtitle = f"<h3>{htmlrender.escape(doc.post.subtitle)}</h3>\n" if doc.post.subtitle else ""
    if doc.post.link:
        from ..site import link_post_html

        subtitle += link_post_html(doc.post.link) + "\n"
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{htmlrender.escape(doc.post.title)}</title></head><body>\n"
        f"<h1>{htmlrender.escape(doc.post.title)}</h1>\n{subtitle}{page}</body></html>\n"
    )


def request_body(parts: Parts, target: targets.Target, ledger: Ledger) -> dict[str, Any]:
    """The exact JSON `publish` sends next to `target` for this post."""
    from . import lesswrong as forumrender
    from . import substack as ssrender

    if target.kind == "substack":
        return ssrender.draft_body(
            parts.title,
            parts.subtitle,
            parts.prosemirror,
            ledger.meta(target.name).get("user_id"),
        )
    return forumrender.request_for(
        parts.kind,
        parts.title,
        parts.markdown,
        ledger.entry(parts.slug, target.name).get("id"),
        ledger.meta(target.name).get("feed_id"),
        link=parts.link,
    )


def exports(parts: Parts, ledger: Ledger, names: tuple[str, ...]) -> dict[str, bytes]:
    """Paste-ready files and the exact requests, under drafts/<target>/, for each named
    target in the registry."""
    files = {}
    for name in names:
        target = targets.TARGETS.get(name)
        if target is None:  # an unknown name is the check's error (F008), not ours
            continue
        folder = f"{target.name}/{parts.slug}"
        files[f"{folder}.json"] = as_json(request_body(parts, target, ledger))
        if target.kind == "substack":
            files[f"{folder}.html"] = parts.paste_html.encode()
        else:
            files[f"{folder}.md"] = parts.markdown.encode()
    return files


def as_json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()
