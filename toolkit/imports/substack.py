"""`toolkit import substack EXPORT.zip`: the posts of a Substack export archive.

The shape relied on (Substack's "Export your data" archive; see docs/design.md):
- `posts.csv` with a header row; the columns read are `post_id` (`<number>.<slug>`),
  `post_date` (ISO 8601), `is_published` (`true`/`false`), `type` (`newsletter`,
  `podcast`, `thread`...), `title` and `subtitle`. Other columns are ignored.
- `posts/<post_id>.html`: the post's body as an HTML fragment, its footnotes as
  `a.footnote-anchor` references and `div.footnote` blocks.
Unpublished rows (drafts) and threads are skipped. Members are read from the archive by
name, never extracted, so no name in it can point outside the project.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import posixpath
import zipfile
from pathlib import Path

from .. import fields
from . import html
from .files import ImportProblem, Item

MAX_MEMBER = 64 * 1024 * 1024  # bytes: a post's HTML is far smaller; a bigger one is not one
KINDS = ("newsletter", "podcast")


def _read(archive: zipfile.ZipFile, name: str, shown: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > MAX_MEMBER:
        raise ImportProblem(f"{shown}: {name} is {info.file_size} bytes; too big to be a post")
    return archive.read(info)


def _published(value: str) -> bool:
    return value.strip().lower() in ("true", "t", "1", "yes")


def _date(value: str, where: str) -> dt.datetime:
    moment = fields.to_datetime(value)
    if moment is None:
        raise ImportProblem(
            f"{where}: post_date `{value}` is not an ISO 8601 date; is this a Substack export?"
        )
    return moment


def items(export: Path, publication_url: str | None) -> tuple[list[Item], list[str]]:
    """The published posts of the export, oldest first, and why any row was left out."""
    shown = export.name
    try:
        archive = zipfile.ZipFile(export)
    except FileNotFoundError:
        raise ImportProblem(f"{export}: no such file", usage=True) from None
    except (zipfile.BadZipFile, IsADirectoryError):
        raise ImportProblem(
            f"{shown} is not a zip archive; give the .zip Substack's export sends", usage=True
        ) from None
    with archive:
        names = [n for n in archive.namelist() if posixpath.basename(n) == "posts.csv"]
        if not names:
            raise ImportProblem(
                f"{shown} has no posts.csv; is it Substack's export (Settings, Exports)?",
                usage=True,
            )
        csv_name = min(names, key=lambda n: n.count("/"))
        folder = posixpath.dirname(csv_name)
        text = _read(archive, csv_name, shown).decode("utf-8-sig", errors="replace")
        rows = list(csv.DictReader(io.StringIO(text)))
        if rows and not {"post_id", "post_date", "is_published", "title"} <= rows[0].keys():
            raise ImportProblem(
                f"{shown}: posts.csv lacks post_id, post_date, is_published or title columns"
            )
        members = set(archive.namelist())
        found, skipped = [], []
        base = (publication_url or "").rstrip("/")
        for line, row in enumerate(rows, 2):
            where = f"{shown}:posts.csv:{line}"
            post_id = (row.get("post_id") or "").strip()
            number, _, slug = post_id.partition(".")
            if not number.isdigit():
                skipped.append(f"{where}: post_id `{post_id}` does not start with a number")
                continue
            title = (row.get("title") or "").strip() or slug or number
            if not _published(row.get("is_published") or ""):
                continue  # a draft stays on Substack
            kind = (row.get("type") or "newsletter").strip()
            if kind not in KINDS:
                skipped.append(f"{where}: `{title}` is a {kind}, not a post")
                continue
            member = posixpath.join(folder, "posts", f"{post_id}.html")
            if member not in members:
                skipped.append(f"{where}: `{title}` has no {member} in the archive")
                continue
            body = _read(archive, member, shown).decode("utf-8", errors="replace")
            found.append(
                Item(
                    remote_id=int(number),
                    slug=slug or title,
                    title=title,
                    date=_date(row.get("post_date") or "", where),
                    kind="post",
                    body=html.to_markdown(body),
                    url=f"{base}/publish/post/{number}" if base else "",
                    subtitle=(row.get("subtitle") or "").strip() or None,
                )
            )
    found.sort(key=lambda item: item.date)
    return found, skipped
