"""`toolkit claims`: the table of every claim, and the posts to revisit when one goes stale.

Pure functions over a checked project; the CLI formats them as text, JSON or CSV.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass

from .checks import successors
from .pipeline import Checked


@dataclass
class Row:
    company: str
    id: str
    title: str
    status: str
    source: str
    archived: bool
    cited_by: int  # published posts citing it (or listing it in `claims`)
    lab: str
    topics: list[str]


@dataclass
class Stale:
    post: str  # the post's file
    title: str
    snippet: str
    status: str  # superseded | retracted
    successor: str | None  # the newest snippet to cite instead, if any
    cites_successor: bool  # the post already relies on a newer version too
    since: str | None = None  # when the successor was published (or read), ISO date


def _relied_on(checked: Checked) -> dict[str, set[str]]:
    """Snippet ids each published post relies on (cited in the text or in `claims`)."""
    out: dict[str, set[str]] = {}
    for post in checked.posts():
        doc = checked.document(post)
        out[post.path] = set(doc.claims)
    return out


def rows(checked: Checked, lab: str | None = None, topic: str | None = None) -> list[Row]:
    project = checked.project
    counts: dict[str, int] = {}
    for ids in _relied_on(checked).values():
        for snippet_id in ids:
            counts[snippet_id] = counts.get(snippet_id, 0) + 1
    result = []
    for s in project.snippets.values():
        if lab and s.lab != lab:
            continue
        if topic and topic not in s.topics:
            continue
        company = project.labs[s.lab].name if s.lab in project.labs else (s.lab or "")
        result.append(
            Row(
                company,
                s.id,
                s.title,
                s.status,
                s.source_url or "",
                bool(s.archive),
                counts.get(s.id, 0),
                s.lab or "",
                list(s.topics),
            )
        )
    return sorted(result, key=lambda r: (r.company.lower(), r.id))


def stale(checked: Checked) -> list[Stale]:
    """Published posts that rely on superseded or retracted snippets, but for those an
    update has handled: one dated on or after the day the successor was published (or,
    without that date, read); for a retraction, or a successor with no date, any update."""
    project = checked.project
    found = []
    posts = {p.path: p for p in project.posts}
    for path, ids in sorted(_relied_on(checked).items()):
        updated = [u.date for u in posts[path].updates]
        for snippet_id in sorted(ids):
            s = project.snippets[snippet_id]
            if s.status not in ("superseded", "retracted"):
                continue
            chain = successors(project, snippet_id)
            successor = project.snippets[chain[-1]] if chain else None
            since = (successor.published or successor.accessed) if successor else None
            if updated and (since is None or max(updated) >= since):
                continue
            found.append(
                Stale(
                    path,
                    posts[path].title,
                    snippet_id,
                    s.status,
                    successor.id if successor else None,
                    bool(ids.intersection(chain)),
                    since.isoformat() if since else None,
                )
            )
    return found


def as_json(items: list) -> str:
    return json.dumps([asdict(i) for i in items], indent=2, ensure_ascii=False)


def as_csv(items: list) -> str:
    if not items:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(asdict(items[0])), lineterminator="\n")
    writer.writeheader()
    for item in items:
        row = asdict(item)
        writer.writerow({k: ";".join(v) if isinstance(v, list) else v for k, v in row.items()})
    return out.getvalue()


def as_text(table: list[Row]) -> str:
    headers = ("COMPANY", "ID", "TITLE", "STATUS", "ARCHIVED", "CITED BY", "SOURCE")
    lines = [
        (
            r.company,
            r.id,
            _cut(r.title, 48),
            r.status,
            "yes" if r.archived else "NO",
            str(r.cited_by),
            r.source,
        )
        for r in table
    ]
    widths = [
        max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
        for i, h in enumerate(headers)
    ]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
    return "\n".join(fmt.format(*line).rstrip() for line in [headers, *lines])


def stale_text(items: list[Stale]) -> str:
    if not items:
        return (
            "No published post relies on a superseded or retracted snippet "
            "without an update after the change."
        )
    lines = []
    for item in items:
        # A published post is a dated record: the advice is an update at its top (which
        # renumbers nothing), not a silent change of what it cited.
        if item.successor:
            when = f" dated {item.since} or later" if item.since else ""
            advice = f"; add an update{when} (`updates:` in its front matter) on `{item.successor}`"
            if item.cites_successor:
                advice = f"; it also cites `{item.successor}`" + advice.replace(
                    "; add", ", but add"
                )
        else:
            advice = "; add an update (`updates:` in its front matter) saying so"
        lines.append(
            f'{item.post}: "{item.title}" relies on `{item.snippet}`, which is '
            f"{item.status}{advice}"
        )
    return "\n".join(lines)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
