"""What companies changed, for subscribers: the `changes/` page, a page per document in
documents.yaml, and `feeds/changes.xml` (Atom, one entry per recorded version).

Renderers, pure like the others: the project (and the posts, for who relies on what)
in, `{relative path: bytes}` out. The versions come from documents.yaml, where
`toolkit watch --archive` records them, so the history is whatever the writer committed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

from . import document, urls
from .model import CompanyDocument, DocumentVersion, Project, Snippet
from .render.html import escape as esc

FEED = "changes.xml"


@dataclass(frozen=True)
class Change:
    """One recorded version of a document, with the copy it replaced."""

    document: CompanyDocument
    number: int  # 1-based, in the order of `versions:`
    version: DocumentVersion
    before: str | None  # the snapshot of the version before it (or the document's own)


def changes(project: Project) -> list[Change]:
    """Every recorded version change, newest first (then by document id)."""
    out = []
    for doc in project.documents.values():
        before = doc.archive
        for i, version in enumerate(doc.versions, start=1):
            out.append(Change(doc, i, version, before))
            before = version.archive or before
    epoch = dt.date.min
    return sorted(out, key=lambda c: (-(c.version.seen or epoch).toordinal(), c.document.id))


def _company(project: Project, doc: CompanyDocument) -> str:
    return project.company(doc.lab)


def _snap(link: str | None, project: Project, label: str) -> str:
    if not link:
        return "none recorded"
    snap = urls.try_snapshot(link, project.config.wayback_url)
    when = document.human_date(snap.time.date()) if snap and snap.time else ""
    return f'<a href="{esc(link)}">{esc(label)}{" " + esc(when) if when else ""}</a>'


def _relies(project: Project, doc: CompanyDocument) -> list[Snippet]:
    same = urls.normalize(doc.url or "")
    return sorted(
        (
            s
            for s in project.snippets.values()
            if s.document == doc.id or (s.source_url and urls.normalize(s.source_url) == same)
        ),
        key=lambda s: s.id,
    )


def _change_html(c: Change, project: Project, root: str, named: bool) -> str:
    seen = c.version.seen
    head = f'<time datetime="{seen.isoformat()}">{document.human_date(seen)}</time>' if seen else ""
    if named:
        head += (
            f' · <a href="{root}documents/{esc(c.document.id)}/">{esc(c.document.title)}</a>'
            f" · {esc(_company(project, c.document))}"
        )
    return (
        f'<li id="{esc(c.document.id)}-v{c.number}"><p>{head}</p>\n'
        f"<p>{esc(c.version.summary or 'Changed.')}</p>\n"
        f'<p class="snapshots">Before: {_snap(c.before, project, "archived")} · '
        f"after: {_snap(c.version.archive, project, 'archived')}</p></li>\n"
    )


def pages(project: Project, citing: dict[str, list[tuple[str, str]]], page) -> dict[str, bytes]:
    """changes/index.html and documents/<id>/index.html. `citing`: a snippet's or a
    document's id -> the (path, title) of each post relying on it; `page`: the site's
    page maker."""
    found = changes(project)
    root = "../"
    body = [
        "<h1>What AI companies changed</h1>\n",
        f'<p>Edits to the documents this site cites, as recorded. <a href="{root}feeds/'
        f'{FEED}">Subscribe (Atom)</a>.</p>\n',
    ]
    body.append(
        '<ol class="changes">\n'
        + "".join(_change_html(c, project, root, True) for c in found)
        + "</ol>\n"
        if found
        else "<p>No change recorded yet.</p>\n"
    )
    files = {
        "changes/index.html": page(
            "changes.html", "changes/", project, heading="Changes", body="".join(body)
        )
    }
    for doc in project.documents.values():
        path = f"documents/{doc.id}/"
        files[path + "index.html"] = page(
            "changes.html",
            path,
            project,
            heading=doc.title,
            body=_document_html(doc, project, citing, "../../", found),
            description=f"{_company(project, doc)}: {doc.title}",
        )
    return files


def _document_html(
    doc: CompanyDocument,
    project: Project,
    citing: dict[str, list[tuple[str, str]]],
    root: str,
    found: list[Change],
) -> str:
    company = _company(project, doc)
    meta = [esc(company)]
    if doc.kind:
        meta.append(esc(doc.kind))
    if doc.published:
        meta.append(f"published {document.human_date(doc.published)}")
    out = [
        f'<article class="document" id="{esc(doc.id)}">\n<h1>{esc(doc.title)}</h1>\n',
        f'<p class="meta">{" · ".join(meta)} · <code>{esc(doc.id)}</code></p>\n',
    ]
    if doc.url:
        out.append(f'<p>Source: <a href="{esc(doc.url)}">{esc(doc.url)}</a>')
        out.append(f" ({_snap(doc.archive, project, 'archived')})</p>\n")
    mine = [c for c in found if c.document.id == doc.id]
    out.append("<h2>Versions</h2>\n")
    if mine:
        out.append('<ol class="changes">\n')
        out += [_change_html(c, project, root, False) for c in mine]
        out.append("</ol>\n")
    else:
        out.append("<p>No change recorded since it was archived.</p>\n")
    relies = _relies(project, doc)
    if relies:
        out.append("<h2>Claims relying on it</h2>\n<ul>\n")
        for s in relies:
            out.append(
                f'<li><a href="{root}claims/{esc(s.lab or "")}/#{esc(s.id)}">{esc(s.title)}</a>'
            )
            if s.locator:
                out.append(f", {esc(s.locator)}")
            out.append("</li>\n")
        out.append("</ul>\n")
    posts = {path: title for s in relies for path, title in citing.get(s.id, [])}
    posts.update(citing.get(doc.id, []))  # posts citing the whole document, `[@doc-id]`
    if posts:
        out.append("<h2>Posts relying on it</h2>\n<ul>\n")
        out += [
            f'<li><a href="{root}{esc(path)}">{esc(title)}</a></li>\n'
            for path, title in sorted(posts.items())
        ]
        out.append("</ul>\n")
    return "".join(out) + "</article>\n"


def lab_documents_html(project: Project, lab: str, root: str) -> str:
    """The list of a company's documents, at the top of its claims page."""
    docs = sorted((d for d in project.documents.values() if d.lab == lab), key=lambda d: d.id)
    if not docs:
        return ""
    items = "".join(
        f'<li><a href="{root}documents/{esc(d.id)}/">{esc(d.title)}</a>'
        f"{' · ' + esc(d.kind) if d.kind else ''}"
        f"{' · ' + _n(len(d.versions), 'recorded change') if d.versions else ''}</li>\n"
        for d in docs
    )
    return f'<section class="documents">\n<h2>Documents</h2>\n<ul>\n{items}</ul>\n</section>\n'


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def feed(project: Project) -> dict[str, bytes]:
    """feeds/changes.xml: one Atom entry per recorded version, newest first."""
    from feedgen.feed import FeedGenerator

    config = project.config
    self_url = f"{config.site_url}feeds/{FEED}"
    host = urlsplit(config.base_url).hostname or "localhost"
    found = changes(project)[: config.max_items]
    fg = FeedGenerator()
    fg.id(self_url)
    fg.title(f"{config.title}: what AI companies changed")
    fg.subtitle("Edits to AI companies' frameworks, policies and system cards, as recorded.")
    fg.author({"name": config.author or config.title})
    fg.language(config.language)
    fg.generator("toolkit", uri="https://pypi.org/project/toolkit/")
    fg.link(href=self_url, rel="self")
    fg.link(href=f"{config.site_url}changes/", rel="alternate")

    def moment(c: Change) -> dt.datetime:
        seen = c.version.seen or dt.date(1970, 1, 1)
        return dt.datetime(seen.year, seen.month, seen.day, tzinfo=dt.timezone.utc)

    fg.updated(
        max((moment(c) for c in found), default=dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc))
    )
    for c in found:
        page_url = f"{config.site_url}documents/{c.document.id}/"
        fe = fg.add_entry(order="append")
        seen = (c.version.seen or dt.date(1970, 1, 1)).isoformat()
        fe.id(f"tag:{host},{seen}:/documents/{c.document.id}/v{c.number}")
        fe.title(f"{_company(project, c.document)} changed “{c.document.title}”")
        fe.link(href=f"{page_url}#{c.document.id}-v{c.number}", rel="alternate", type="text/html")
        html = _change_html(c, project, config.site_url, True)  # absolute links
        fe.content(f"<ul>{html}</ul>", type="html")
        if c.version.summary:
            fe.summary(c.version.summary)
        fe.published(moment(c))
        fe.updated(moment(c))
    return {FEED: fg.atom_str(pretty=True)}
