"""The HTML site: every page as bytes, keyed by its path under site/.

Pure: takes rendered posts and the project, returns files. Pages link to each other with
relative URLs, so the site works from any base path and under `toolkit serve`.

Pages come in groups (`page_groups`), each with the inputs it shows, so the build can skip
a group whose inputs have not changed since the last build.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

from . import document, markdown, media
from .content import slugify, tag_names
from .diagnostics import Diagnostic
from .model import Post, Project, Snippet
from .neighbours import Neighbours
from .render import html
from .render.html import RenderedHtml
from .render.html import escape as esc


@dataclass
class Item:
    """One post, rendered, with what pages and feeds need to show it."""

    post: Post
    path: str  # page path under the site root, e.g. "posts/slug/"
    summary: str
    html: RenderedHtml | None  # None until loaded (only some pages need it)
    claims: list[str]  # snippet ids the post relies on
    page_digest: str = ""  # the post's page, which holds its HTML (see PostPage)
    html_span: tuple[int, int, int, int] = (0, 0, 0, 0)
    documents: tuple[str, ...] = ()  # company documents it cites whole

    def listing(self) -> tuple:
        """What listing pages show of this post: when it changes, they change."""
        p = self.post
        return (self.path, p.title, p.date, p.updated, p.kind, p.status, p.tags, self.summary)

    def html_from(self, page: bytes) -> RenderedHtml:
        """The post's HTML, cut from its page."""
        b0, b1, n0, n1 = self.html_span
        return html.RenderedHtml(page[b0:b1].decode("utf-8"), page[n0:n1].decode("utf-8"))


@dataclass
class PostPage:
    """What the per-post renderer produces: pure data, made without any I/O.

    The page holds the post's HTML verbatim, at `html_span` (body start and end, notes
    start and end, in bytes), so pages and feeds that show the HTML of an unchanged post
    cut it from the stored page: nothing but the page is stored. The cache may move the
    page into its object store (`cache.stash`), leaving `page` None and only the digest
    (and, if it wrote the page into a new staging tree, `placed`: its stat there).
    """

    path: str
    summary: str
    claims: list[str]
    page_digest: str
    html_span: tuple[int, int, int, int]
    page: bytes | None = None
    html: html.RenderedHtml | None = None
    placed: tuple[int, int, int] | None = None  # written into the staging tree: its stat
    documents: tuple[str, ...] = ()  # company documents it cites whole
    neighbours: Neighbours | None = None  # the older and newer posts it links to
    nav_span: tuple[int, int] = (0, 0)  # where in the page those links are, in bytes

    def relinked(self, page: bytes, neighbours: Neighbours | None) -> PostPage:
        """This page (`page`: its bytes) linking to other neighbours: the links spliced in
        where the old ones were. They come after the notes, so `html_span` still holds."""
        nav = nav_html(self.path, neighbours).encode("utf-8")
        start, end = self.nav_span
        data = page[:start] + nav + page[end:]
        return replace(
            self,
            page_digest=hashlib.sha256(data).hexdigest(),
            page=data,
            placed=None,
            neighbours=neighbours,
            nav_span=(start, start + len(nav)),
        )

    def item(self, post: Post) -> Item:
        return Item(
            post,
            self.path,
            self.summary,
            self.html,
            self.claims,
            self.page_digest,
            self.html_span,
            self.documents,
        )


_compiled_templates: str | None = None  # where Jinja2 may keep compiled templates


def keep_compiled_templates(directory: Path | None) -> None:
    """Let the template engine keep its compiled templates in `directory` (a build's
    `.toolkit/templates/`), or nowhere. Set by the build, at the edge: compiling the
    templates costs a rebuild about a tenth of a second, and the renderers never choose
    where anything is written."""
    global _compiled_templates
    wanted = str(directory) if directory is not None else None
    if wanted != _compiled_templates:
        _compiled_templates = wanted
        _env.cache_clear()


@functools.lru_cache(maxsize=1)
def _env():
    """The Jinja2 environment, made when the first page is rendered."""
    import jinja2
    import markupsafe

    cache = None
    if _compiled_templates is not None:
        os.makedirs(_compiled_templates, exist_ok=True)
        cache = jinja2.FileSystemBytecodeCache(_compiled_templates)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("toolkit", "templates"),
        bytecode_cache=cache,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # the package's templates do not change under a build: no stat per page
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["human_date"] = document.human_date
    env.filters["slug"] = slugify
    env.filters["rebase_media"] = html.rebase_media
    env.globals["status"] = lambda *a, **k: markupsafe.Markup(status_html(*a, **k))
    env.globals["meta"] = lambda *a: markupsafe.Markup(meta_html(*a))
    return env


def relative_root(path: str) -> str:
    """From a page at `path` ("posts/x/"), the relative URL of the site root ("../../")."""
    depth = path.strip("/").count("/") + 1 if path.strip("/") else 0
    return "../" * depth


def page(template: str, path: str, project: Project, **context) -> bytes:
    """A page from its template. Every page has a meta description: the one given, else
    the site's, else its title."""
    config = project.config
    text = (
        _env()
        .get_template(template)
        .render(
            site=config,
            path=path,
            root=context.pop("root", relative_root(path)),
            description=context.pop("description", "") or config.description or config.title,
            og_type=context.pop("og_type", "website"),
            **context,
        )
    )
    return text.encode("utf-8")


def site_path(project: Project) -> str:
    """The path of the site's root on its host ("/" or "/blog/"): for pages served at
    any depth (404.html), whose links cannot be relative."""
    return urlsplit(project.config.site_url).path or "/"


def json_ld(item: Item, project: Project) -> str:
    """A post's schema.org BlogPosting, for search engines and link previews; safe
    inside <script> (no "<" survives)."""
    config, post = project.config, item.post
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": post.title,
        "url": config.site_url + item.path,
        "mainEntityOfPage": config.site_url + item.path,
        "author": {"@type": "Person", "name": config.author or config.title},
        "publisher": {"@type": "Organization", "name": config.title, "url": config.site_url},
        "inLanguage": config.language,
    }
    if post.date:
        data["datePublished"] = post.date.isoformat()
    if post.updated or post.date:
        data["dateModified"] = (post.updated or post.date).isoformat()  # type: ignore[union-attr]
    if item.summary:
        data["description"] = item.summary
    if post.tags:
        data["keywords"] = list(post.tags)
    text = json.dumps(data, ensure_ascii=False, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def successors(project: Project) -> dict[str, Snippet]:
    """Snippets that supersede another, by id (for "superseded by <title>" links)."""
    found = project.derived.successors
    if found is None:
        found = project.derived.successors = {
            s.superseded_by: project.snippets[s.superseded_by]
            for s in project.snippets.values()
            if s.superseded_by in project.snippets
        }
    return found


def claim_rows(ids: list[str], project: Project) -> list[tuple[Snippet, str]]:
    """(snippet, company name) for each snippet a post relies on."""
    rows = []
    for snippet_id in ids:
        s = project.snippets[snippet_id]
        rows.append((s, project.company(s.lab)))
    return rows


_ARTICLE = "<toolkit-article>"  # a post page's article goes here; escaped text has no "<"


def post_page(
    item: Item, project: Project, neighbours: Neighbours | None = None
) -> tuple[bytes, tuple[int, int, int, int], tuple[int, int]]:
    """A post's page, where in it its body and notes are, and where the links to its
    `neighbours` are (see PostPage)."""
    import markupsafe

    shell = page(
        "post.html",
        item.path,
        project,
        post=item.post,
        article=_ARTICLE,
        description=item.summary or item.post.title,
        og_type="article",
        json_ld=markupsafe.Markup(json_ld(item, project)),
    )
    before, after = shell.split(_ARTICLE.encode(), 1)
    head, tail = (part.encode("utf-8") for part in article_parts(item, project))
    assert item.html is not None
    body, notes = item.html.body.encode("utf-8"), item.html.notes.encode("utf-8")
    b0 = len(before) + len(head)
    n0 = b0 + len(body) + 1
    nav = nav_html(item.path, neighbours).encode("utf-8")
    data = b"".join((before, head, body, b"\n", notes, b"\n", tail, nav, after))
    nav_at = len(data) - len(after) - len(nav)
    return data, (b0, b0 + len(body), n0, n0 + len(notes)), (nav_at, nav_at + len(nav))


def article_parts(item: Item, project: Project) -> tuple[str, str]:
    """A post's <article> around its body and notes: the header before them, the claims it
    relies on after. (Written in Python, like `snippet_article`: a build renders
    thousands, and a template spent most of a page's time here.)"""
    post, root = item.post, relative_root(item.path)
    kind = " shortform" if post.kind == "shortform" else ""
    head = [
        f'<article class="post{kind}" id="{esc(post.slug)}">\n<header>\n'
        f"<h1>{esc(post.title)}</h1>\n"
    ]
    if post.subtitle:
        head.append(f'<p class="subtitle">{esc(post.subtitle)}</p>')
    head.append(f"{meta_html(post, root, project.config.author)}\n")
    if post.link:
        entry = project.archive_index().get(post.link)
        head.append(f"{link_post_html(post.link, entry.archive if entry else None)}\n")
    head.append("</header>\n")
    tail = []
    if item.claims:
        later = successors(project)
        tail.append('<section class="relies-on">\n<h2>Claims this post relies on</h2>\n<ul>\n')
        for c, company in claim_rows(item.claims, project):
            tail.append(
                f'<li><a href="{root}claims/{esc(c.lab or "")}/#{esc(c.id)}">'
                f"{esc(c.title)}</a> · {esc(company)} "
                f"{status_html(c, root, later, False)}</li>\n"
            )
        tail.append("</ul>\n</section>\n")
    return "".join(head), "".join(tail) + "</article>"


def link_post_html(link: str, archive: str | None = None) -> str:
    """The line that says what page a link post is about (site, feeds, paste page), with
    its archived copy where there is one."""
    copy = f' (<a class="archived" href="{esc(archive)}">archived</a>)' if archive else ""
    return f'<p class="link-post">Link post: <a href="{esc(link)}">{esc(link)}</a>{copy}</p>'


def _date_html(value: dt.date | None) -> str:
    return (
        f'<time datetime="{value.isoformat()}">{document.human_date(value)}</time>' if value else ""
    )


def meta_html(post: Post, root: str, author: str | None = None) -> str:
    """The line under a post's title: byline (on the post's own page), date, update,
    kind, draft label, tags."""
    byline = f'By <span class="author">{esc(author)}</span> · ' if author else ""
    out = [f'<p class="meta">{byline}{_date_html(post.date)}']
    if post.updated:
        out.append(f" · updated {_date_html(post.updated)}")
    if post.kind == "shortform":
        out.append(' · <span class="kind">shortform</span>')
    if not post.published:
        out.append(' · <span class="draft-label">draft</span>')
    if post.tags:
        out.append(
            " · "
            + " ".join(
                f'<a class="tag" href="{root}tags/{esc(slugify(tag))}/">{esc(tag)}</a>'
                for tag in post.tags
            )
        )
    return "".join(out) + "</p>"


def render_post(doc: document.Document, project: Project) -> PostPage:
    """The per-post renderer for the site: the post's HTML and its whole page."""
    rendered = html.render(doc, project.config.site_url, project)
    item = Item(doc.post, doc.path, doc.summary, rendered, doc.claims)
    data, span, nav_span = post_page(item, project, doc.neighbours)
    return PostPage(
        doc.path,
        doc.summary,
        doc.claims,
        hashlib.sha256(data).hexdigest(),
        span,
        data,
        rendered,
        documents=tuple(doc.documents),
        neighbours=doc.neighbours,
        nav_span=nav_span,
    )


def nav_of(page: bytes) -> bytes:
    """The links to older and newer posts in a post's page as written (b"" if none):
    the last such element, after the notes (the text before cannot end one early)."""
    start = page.rfind(b'\n<nav class="neighbours"')
    end = page.find(b"</nav>", start)
    return page[start : end + len(b"</nav>")] if start >= 0 and end >= 0 else b""


def nav_html(path: str, neighbours: Neighbours | None) -> str:
    """The links under a post to the older and newer posts of its kind ("" if none)."""
    if neighbours is None or not (neighbours.older or neighbours.newer):
        return ""
    root = relative_root(path)
    kind = "shortform" if path.startswith("shortform/") else "posts"
    out = [f'\n<nav class="neighbours" aria-label="Older and newer {kind}">\n']
    older, newer = neighbours.older, neighbours.newer
    for rel, label, link in (("prev", "Older", older), ("next", "Newer", newer)):
        if link is not None:
            out.append(
                f'<a rel="{rel}" class="{label.lower()}" href="{root}{esc(link.path)}">'
                f'<span class="label">{label}</span> {esc(link.title)}</a>\n'
            )
    return "".join(out) + "</nav>"


def problems_html(problems: list[Diagnostic]) -> bytes:
    """The banner `toolkit serve` shows on every page while the files have problems."""
    return _env().get_template("_problems.html").render(problems=problems).encode("utf-8")


def status_html(snippet, root: str, later: dict[str, Snippet], show_current: bool = True) -> str:
    """A snippet's status badge; a superseded one links to its successor."""
    if snippet.status == "superseded":
        badge = '<span class="status superseded">superseded</span>'
        successor = later.get(snippet.superseded_by or "")
        if successor is not None:
            badge += (
                f' by <a href="{root}claims/{esc(successor.lab or "")}/#{esc(successor.id)}">'
                f"{esc(successor.title)}</a>"
            )
        return badge
    if snippet.status == "retracted":
        return '<span class="status retracted">retracted</span>'
    return '<span class="status current">current</span>' if show_current else ""


def snippet_article(
    s: Snippet, project: Project, root: str, later: dict[str, Snippet], cited_by: list[Item]
) -> str:
    """One snippet on its company's claims page (written in Python: a page may hold
    thousands, and this is many times faster than a template loop)."""
    out = [
        f'<article class="snippet {esc(s.status)}" id="{esc(s.id)}">\n'
        f"<h2>{esc(s.title)}</h2>\n"
        f'<p class="meta">{status_html(s, root, later)}'
    ]
    if s.topics:
        out.append(" · " + esc(", ".join(s.topics)))
    out.append(f" · <code>{esc(s.id)}</code></p>\n")
    if s.quote:
        paragraphs = "".join(f"<p>{esc(p)}</p>" for p in s.quote.split("\n\n"))
        out.append(f"<blockquote>{paragraphs}</blockquote>\n")
    if s.claim:
        out.append(f'<p class="paraphrase">In short: {esc(s.claim)}</p>\n')
    out.append(f'<p class="source">Source: {source_html(s, project)}</p>\n')
    if not s.archive:
        out.append('<p class="no-archive">No archived copy yet.</p>\n')
    commentary = commentary_html(s, project)
    if commentary:
        out.append(f'<div class="commentary">{commentary}</div>\n')
    if cited_by:
        links = "; ".join(
            f'<a href="{root}{esc(i.path)}">{esc(i.post.title)}</a>' for i in cited_by
        )
        out.append(f'<p class="cited-by">Cited by: {links}</p>\n')
    return "".join(out) + "</article>\n"


def source_html(s: Snippet, project: Project) -> str:
    tokens = document.citation_tokens(s, s.id, None, project)
    return html.render_inline(tokens, f"claim-{s.id}", project.config.site_url)


def commentary_html(s: Snippet, project: Project) -> str:
    if not s.body.strip():
        return ""
    images = media.snippet_images(project).get(s.id)
    tokens = document.build_fragment(markdown.parse(s.body).tokens, project, images)
    return html.render_inline(tokens, f"claim-{s.id}", project.config.site_url)


@dataclass
class Group:
    """Some pages, the inputs they show, and how to render them."""

    name: str
    inputs: tuple
    render: Callable[[], dict[str, bytes]]
    shows: Sequence[Item] = ()  # the items whose full HTML the pages show


def by_tag_key(items: list[Item]) -> tuple[dict[str, str], dict[str, list[Item]]]:
    """Tags that differ only in case or punctuation are one tag, keyed by their slug:
    each key's spelling as shown (`content.tag_names`), and its items in `items`' order."""
    shown = tag_names([i.post for i in items])
    by_key: dict[str, list[Item]] = {key: [] for key in shown}
    for item in items:
        for key in dict.fromkeys(slugify(tag) for tag in item.post.tags):
            by_key[key].append(item)
    return shown, by_key


def page_groups(items: list[Item], project: Project) -> list[Group]:
    """Every page except the posts' own, grouped by what they show. `items`: newest first."""
    config_id = project.digest
    listings = tuple(i.listing() for i in items)
    shortform = [i for i in items if i.post.kind == "shortform"]
    shown, by_tag = by_tag_key(items)
    counts = sorted(((shown[k], len(v)) for k, v in by_tag.items()), key=lambda tc: tc[0].lower())

    groups = [
        Group(
            "index",
            (config_id, listings),
            lambda: {
                "index.html": page(
                    "index.html",
                    "",
                    project,
                    items=items,
                    description=project.config.description or "",
                )
            },
        ),
        Group(
            "shortform",
            (config_id, tuple((i.listing(), i.page_digest) for i in shortform)),
            lambda: {
                "shortform/index.html": page(
                    "shortform.html",
                    "shortform/",
                    project,
                    items=shortform,
                    description=f"Shortform notes from {project.config.title}, newest first.",
                )
            },
            shows=shortform,
        ),
        Group(
            "tags",
            (config_id, tuple(counts)),
            lambda: {
                "tags/index.html": page(
                    "tags.html",
                    "tags/",
                    project,
                    tags=counts,
                    description=f"Every tag on {project.config.title}, with its posts.",
                )
            },
        ),
    ]
    for key, tagged in sorted(by_tag.items()):
        path, tag = f"tags/{key}/", shown[key]

        def tag_pages(
            path: str = path, tag: str = tag, tagged: list[Item] = tagged
        ) -> dict[str, bytes]:
            return {
                path + "index.html": page(
                    "tag.html",
                    path,
                    project,
                    tag=tag,
                    items=tagged,
                    description=f"Posts tagged “{tag}” on {project.config.title}.",
                )
            }

        groups.append(
            Group(f"tag:{key}", (config_id, tag, tuple(i.listing() for i in tagged)), tag_pages)
        )
    # Claims pages show every snippet (and snippets cite each other in commentary), so
    # they depend on all of them, and on which posts cite what.
    snippets = tuple(sorted((s.id, s.digest) for s in project.snippets.values()))
    citing = tuple((i.path, i.post.title, tuple(i.claims), i.documents) for i in items)
    pictured = tuple(sorted(media.snippet_files(project).items()))  # commentary's images
    groups.append(
        Group(
            "claims",
            (config_id, snippets, citing, pictured),
            lambda: claims_pages(items, project),
        )
    )
    groups.append(
        Group("documents", (config_id, snippets, citing), lambda: documents(items, project))
    )
    # The image files the posts show, copied under media/ (named by their content).
    images = dict(sorted((media.files(i.post for i in items) | dict(pictured)).items()))
    groups.append(
        Group(
            "media",
            tuple(images.items()),
            lambda: {path: media.read(project.root, *found) for path, found in images.items()},
        )
    )
    groups.append(Group("style", (), lambda: {"style.css": static("style.css")}))
    groups.append(Group("favicon", (), lambda: {"favicon.svg": static("favicon.svg")}))
    groups.append(
        Group(
            "404",
            (config_id,),
            lambda: {
                "404.html": page(
                    "404.html",
                    "404.html",
                    project,
                    root=site_path(project),
                    description="This page is not here.",
                )
            },
        )
    )
    published = [i for i in items if i.post.published]
    # Published pages only: a drafts build's draft posts, and tag pages only drafts
    # carry, are previews, not pages a search engine should list.
    pages = sitemap_pages(published, sorted(tag_names([i.post for i in published])), project)
    groups.append(
        Group(
            "sitemap",
            (config_id, tuple(pages)),
            lambda: {"sitemap.xml": sitemap_xml(pages, project), "robots.txt": robots_txt(project)},
        )
    )
    return groups


def static(name: str) -> bytes:
    return resources.files("toolkit").joinpath(f"static/{name}").read_bytes()


def documents(items: list[Item], project: Project) -> dict[str, bytes]:
    """changes/ and a page per document (see toolkit.changes)."""
    from . import changes

    # Snippet ids and document ids never clash (D005), so one map holds both.
    citing: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for item in items:
        if item.post.published:
            for cited in (*item.claims, *item.documents):
                citing[cited].append((item.path, item.post.title))
    return changes.pages(project, citing, page)


def claims_labs(project: Project) -> list[str]:
    """Keys of the labs with a claims page: those with a snippet (see `claims_pages`)."""
    return sorted({s.lab for s in project.snippets.values() if s.lab in project.labs})


def sitemap_pages(
    published: list[Item], tag_keys: list[str], project: Project
) -> list[tuple[str, str | None]]:
    """(path, last modified) of every page a search engine may list."""
    newest = max(((i.post.updated or i.post.date) for i in published if i.post.date), default=None)
    stamp = newest.isoformat() if newest else None
    pages: list[tuple[str, str | None]] = [("", stamp), ("shortform/", None), ("tags/", None)]
    pages += [(f"tags/{key}/", None) for key in tag_keys]
    pages.append(("claims/", None))
    pages += [(f"claims/{key}/", None) for key in claims_labs(project)]
    pages.append(("changes/", None))  # what companies changed, and a page per document
    pages += [(f"documents/{doc_id}/", None) for doc_id in sorted(project.documents)]
    for item in published:
        when = item.post.updated or item.post.date
        pages.append((item.path, when.isoformat() if when else None))
    return pages


def sitemap_xml(pages: list[tuple[str, str | None]], project: Project) -> bytes:
    """The sitemaps.org file: absolute URLs under base_url."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n',
    ]
    for path, modified in pages:
        lastmod = f"<lastmod>{modified}</lastmod>" if modified else ""
        out.append(f"<url><loc>{xml_escape(project.config.site_url + path)}</loc>{lastmod}</url>\n")
    out.append("</urlset>\n")
    return "".join(out).encode("utf-8")


def robots_txt(project: Project) -> bytes:
    return f"User-agent: *\nAllow: /\n\nSitemap: {project.config.site_url}sitemap.xml\n".encode()


def claims_pages(items: list[Item], project: Project) -> dict[str, bytes]:
    from . import changes

    cited_by: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        for snippet_id in item.claims:
            cited_by[snippet_id].append(item)
    by_lab: dict[str, list[Snippet]] = defaultdict(list)
    for s in sorted(project.snippets.values(), key=lambda s: (s.title.lower(), s.id)):
        # Only a key of labs.yaml (checked to be a safe name) becomes a folder; a snippet
        # with an unknown lab is an error the preview's banner shows.
        if s.lab is not None and s.lab in project.labs:
            by_lab[s.lab].append(s)
    labs: list[dict[str, Any]] = [  # what the templates show of each lab
        {"key": lab.key, "name": lab.name, "url": lab.url, "snippets": by_lab[lab.key]}
        for lab in sorted(
            (project.labs[key] for key in by_lab), key=lambda lab: (lab.name.lower(), lab.key)
        )
    ]
    later = successors(project)
    files = {
        "claims/index.html": page(
            "claims.html",
            "claims/",
            project,
            labs=labs,
            successors=later,
            description="Every claim these posts rely on, by company: the company's own "
            "words, where they said it, and an archived copy where there is one.",
        )
    }
    for shown in labs:
        path = f"claims/{shown['key']}/"
        root = relative_root(path)
        articles = [
            snippet_article(s, project, root, later, cited_by.get(s.id, []))
            for s in shown["snippets"]
        ]
        articles.insert(0, changes.lab_documents_html(project, shown["key"], root))
        files[path + "index.html"] = page(
            "lab.html",
            path,
            project,
            lab=shown,
            articles=articles,
            description=f"What {shown['name']} has said, quoted exactly: each claim with its "
            "source, an archived copy, and the posts that cite it.",
        )
    return files
