"""`toolkit watch`: which company documents changed since their last recorded version.

For every document in documents.yaml and every other distinct snippet source, the live
page is fetched (politely, with `Fetcher`; conditionally, with the `ETag` and
`Last-Modified` it last sent, so an unchanged page costs a 304) and its main text split
into sentences (`sentences.py` says what is left out as cosmetic). They are compared with
the last known version:

- a document's last recorded version (its `versions:` in documents.yaml, else its
  `archive:`): the text of that archived capture, fetched once and kept;
- a snippet source that is not a document: the snippet's archived capture at first, then
  whatever `watch --archive` last recorded for it.

Each page is `unchanged`, `changed`, `moved`, `gone`, `blocked` or `unreachable`. A page
whose text differs shows the sentences removed and added, the snippets whose quote is no
longer on it and the published posts that cite those. What is kept lives in
`.toolkit/watch/` as JSON (`live/`: validators and sentences of the last answer;
`base/`: the sentences of known versions), never in the writer's files; `--archive` is
the only thing that writes to documents.yaml.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import checks, document_register, urls
from ..model import CompanyDocument, Project, Snippet
from ..output import write_file
from ..pipeline import Checked
from ..retry import bot_wall
from . import sentences as sent
from .fetch import Fetched, Fetcher, Limits
from .text import find_quote
from .wayback import ArchiveError, Capture, Wayback

STATUSES = ("unchanged", "changed", "moved", "gone", "blocked", "unreachable")
BLOCKED = {401, 403, 429}
GONE = {404, 410}


@dataclass
class Page:
    """One URL to watch: a document's, or a snippet source's that is no document."""

    url: str
    document: CompanyDocument | None
    snippets: list[Snippet]
    base_key: str  # where its last known version's sentences are kept
    base_archive: str | None  # the capture to read them from, the first time
    base_digest: str | None  # the last recorded version's digest, if recorded


@dataclass
class Report:
    url: str
    document: str | None
    status: str
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    snippets: list[str] = field(default_factory=list)  # ids whose quote is gone
    posts: list[str] = field(default_factory=list)  # published posts citing those
    final_url: str | None = None
    note: str = ""
    archive: str | None = None  # the snapshot `--archive` recorded
    http_status: int | None = None
    sentences: list[str] | None = field(default=None, repr=False)  # the live text

    def as_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "document": self.document,
            "status": self.status,
            "removed": self.removed,
            "added": self.added,
            "snippets": self.snippets,
            "posts": self.posts,
            "final_url": self.final_url,
            "http_status": self.http_status,
            "note": self.note,
            "archive": self.archive,
        }

    @property
    def summary(self) -> str:
        """One line for documents.yaml and the feed: what changed."""
        counts = f"{_n(len(self.removed), 'sentence')} removed, {len(self.added)} added"
        if self.removed:
            counts += f"; was: “{_cut(self.removed[0])}”"
        if self.added:
            counts += f"; now: “{_cut(self.added[0])}”"
        return counts


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


# What to watch -----------------------------------------------------------------------------


class UnknownTarget(ValueError):
    """An ID or URL on the command line that names nothing watched."""


def pages(project: Project, only: Iterable[str] = ()) -> list[Page]:
    """Every document, then every other distinct snippet source (tracking parameters and
    URL spelling folded); `only` keeps those named by document id or URL."""
    by_url: dict[str, Page] = {}
    for doc in sorted(project.documents.values(), key=lambda d: d.id):
        if not doc.url:
            continue
        last = doc.versions[-1] if doc.versions else None
        archive = last.archive if last else doc.archive
        key = archive or (f"digest:{last.digest}" if last and last.digest else f"url:{doc.url}")
        page = Page(doc.url, doc, [], key, archive, last.digest if last else None)
        by_url.setdefault(_same(doc.url), page)
    for s in sorted(project.snippets.values(), key=lambda s: s.id):
        if not s.source_url:
            continue
        found = by_url.get(_same(s.source_url))
        if found is None:
            clean = sent.clean_url(s.source_url)
            found = by_url[_same(clean)] = Page(clean, None, [], f"url:{clean}", s.archive, None)
        if found.base_archive is None and found.document is None:
            found.base_archive = s.archive
        found.snippets.append(s)
    chosen = list(by_url.values())
    wanted = list(only)
    if not wanted:
        return chosen
    names = {p.document.id: p for p in chosen if p.document}
    out = []
    for name in wanted:
        named = names.get(name) or by_url.get(_same(name))
        if named is None:
            from ..diagnostics import did_you_mean

            raise UnknownTarget(
                f"`{name}` is neither a document id nor a watched URL{did_you_mean(name, names)}"
            )
        if named not in out:
            out.append(named)
    return out


def _same(url: str) -> str:
    return urls.normalize(sent.clean_url(url))


# What is kept between runs -----------------------------------------------------------------


class Kept:
    """`.toolkit/watch/`: small JSON files named by the hash of their key. Anything that
    does not read back as what was written is a miss (the next run fetches again)."""

    def __init__(self, root: Path):
        self.dir = root / ".toolkit" / "watch"

    def _path(self, kind: str, key: str) -> Path:
        return self.dir / kind / (hashlib.sha256(key.encode()).hexdigest()[:40] + ".json")

    def _get(self, kind: str, key: str) -> dict | None:
        try:
            data = json.loads(self._path(kind, key).read_bytes())
        except (OSError, ValueError):
            return None
        ok = isinstance(data, dict) and data.get("key") == key
        ok = ok and isinstance(data.get("sentences"), list)
        ok = ok and all(isinstance(s, str) for s in data["sentences"])
        return data if ok else None

    def _put(self, kind: str, key: str, value: dict) -> None:
        data = json.dumps({"key": key, **value}, ensure_ascii=False).encode()
        with contextlib.suppress(OSError):  # an unwritable cache only costs requests
            write_file(self._path(kind, key), data)

    def live(self, url: str) -> dict | None:
        return self._get("live", url)

    def put_live(self, url: str, etag: str, modified: str, sentences: list[str]) -> None:
        self._put("live", url, {"etag": etag, "modified": modified, "sentences": sentences})

    def base(self, key: str) -> list[str] | None:
        found = self._get("base", key)
        return found["sentences"] if found else None

    def put_base(self, key: str, sentences: list[str]) -> None:
        self._put("base", key, {"sentences": sentences})


# Watching -------------------------------------------------------------------------------


@dataclass
class Watcher:
    project: Project
    fetcher: Fetcher
    kept: Kept

    def __post_init__(self) -> None:
        self.wayback = Wayback(self.project.config.wayback_url, self.fetcher)

    def live(self, page: Page) -> tuple[Fetched, list[str] | None]:
        """The live answer, and its sentences (from what was kept, on a 304)."""
        kept = self.kept.live(page.url)
        headers = {}
        if kept and kept.get("etag"):
            headers["If-None-Match"] = str(kept["etag"])
        if kept and kept.get("modified"):
            headers["If-Modified-Since"] = str(kept["modified"])
        got = self.fetcher.fetch(page.url, headers=headers)
        if got.status == 304 and kept:
            return got, kept["sentences"]
        if got.ok and not got.error:
            found = sent.page_sentences(got.body, got.header("content-type"), page.url)
            etag, modified = got.header("etag"), got.header("last-modified")
            if etag or modified:
                self.kept.put_live(page.url, etag, modified, found)
            return got, found
        return got, None

    def base(self, page: Page, live: list[str] | None) -> tuple[list[str] | None, str]:
        """The last known version's sentences, and a note when there is none to compare."""
        found = self.kept.base(page.base_key)
        if found is not None:
            return found, ""
        if page.base_archive:
            snap = urls.try_snapshot(page.base_archive, self.project.config.wayback_url)
            if snap is not None and snap.timestamp and snap.original:
                got = self.wayback.raw(snap)
                if got.ok and not got.error:
                    found = sent.page_sentences(got.body, got.header("content-type"), snap.original)
                    self.kept.put_base(page.base_key, found)
                    return found, ""
            return None, f"its archived copy could not be read ({page.base_archive})"
        if live is not None:  # nothing recorded: what we see now is the first version
            self.kept.put_base(page.base_key, live)
            return live, "first seen: kept as the version to compare with next time"
        return None, ""

    def watch(self, page: Page) -> Report:
        doc_id = page.document.id if page.document else None
        got, live = self.live(page)
        report = Report(page.url, doc_id, _status(got, page.url), http_status=got.status)
        report.final_url = got.final_url if got.final_url != page.url else None
        report.sentences = live
        if got.error:
            report.note = got.error
        if live is None:
            if report.status == "gone":
                report.snippets = [s.id for s in page.snippets if s.quote]
            return report
        if page.base_digest is not None and sent.digest(live) == page.base_digest:
            base: list[str] | None = None  # the recorded version, exactly: nothing to diff
        else:
            base, note = self.base(page, live)
            report.note = note or report.note
        if base is not None:
            report.removed, report.added = sent.diff(base, live)
            if (report.removed or report.added) and report.status == "unchanged":
                report.status = "changed"
        text = " ".join(live)
        report.snippets = [
            s.id for s in page.snippets if s.quote and not find_quote(s.quote, text).found
        ]
        return report


def _status(got: Fetched, url: str) -> str:
    if got.error == "dns":
        return "gone"
    if got.error or got.status is None:
        return "unreachable"
    if got.status in BLOCKED or bot_wall(got.header):
        return "blocked"
    if got.status in GONE:
        return "gone"
    if got.status >= 500:
        return "unreachable"
    if got.status >= 400:
        return "gone"
    final = got.final_url or url
    if _same(final) != _same(url):
        if urls.host(final) == urls.host(url) and final.split("//", 1)[-1].count("/") <= 1:
            return "gone"  # sent to the home page: the page itself is no more
        return "moved"
    return "unchanged"


def run(
    checked: Checked,
    root: Path,
    *,
    only: Iterable[str] = (),
    limits: Limits,
    fetcher: Fetcher | None = None,
) -> tuple[list[Report], Fetcher]:
    """Watch every page (or those `only` names); reports in the order of `pages`."""
    project = checked.project
    chosen = pages(project, only)
    fetcher = fetcher or Fetcher(
        limits, archive_hosts=urls.archive_netlocs(project.config.wayback_url)
    )
    watcher = Watcher(project, fetcher, Kept(root))
    workers = max(1, min(limits.connections, len(chosen)))
    with ThreadPoolExecutor(workers) as pool:
        reports = list(pool.map(watcher.watch, chosen))
    citing = _citing(checked)
    for report in reports:
        report.posts = sorted({p for sid in report.snippets for p in citing.get(sid, ())})
    return reports, fetcher


def _citing(checked: Checked) -> dict[str, set[str]]:
    """Snippet id -> the published posts that rely on it (listed, or cited in the text)."""
    out: dict[str, set[str]] = {}
    for post in checked.posts():
        parsed = checked.parsed.get(post.path)
        for sid in checks.relies_on(post, parsed) if parsed else post.claims:
            out.setdefault(sid, set()).add(post.path)
    return out


# Recording a new version (--archive) ------------------------------------------------------


def record(
    reports: list[Report],
    project: Project,
    root: Path,
    env: Mapping[str, str],
    *,
    today: dt.date,
    poll_every: float = 5.0,
    fetcher: Fetcher | None = None,
) -> None:
    """Ask Save Page Now for a capture of every changed page, and record it: a document
    gets a new item in `versions:`; any page becomes the version the next run compares
    with. Notes on each report say what could not be done."""
    from .archiver import ACCESS_ENV, SECRET_ENV, save_page_now

    base = project.config.wayback_url
    fetcher = fetcher or Fetcher()
    # One clock for the fetcher and Save Page Now's polling (a test's, in tests).
    saver = save_page_now(base, env, poll_every, fetcher.clock)
    wayback = Wayback(base, fetcher)
    kept = Kept(root)
    stopped = ""
    for report in reports:
        if report.status != "changed" or report.sentences is None:
            continue
        snapshot = None
        if saver is None:
            report.note = f"no snapshot: set ${ACCESS_ENV} and ${SECRET_ENV} to have one made"
        elif stopped:
            report.note = stopped
        else:
            try:
                result = saver.save(report.url, pdf=report.url.lower().endswith(".pdf"))
            except ArchiveError as e:
                stopped = report.note = f"no snapshot: {e}"
                result = None
            if result is not None and result.status == "saved" and result.timestamp:
                capture = Capture(result.timestamp, result.original or report.url, 200, "")
                snapshot = wayback.snapshot_url(capture)
            elif result is not None:
                report.note = f"no snapshot: {result.message or result.status}"
        digest = sent.digest(report.sentences)
        if report.document is not None:
            try:
                document_register.append_version(
                    root / project.documents_path,
                    report.document,
                    today,
                    snapshot,
                    digest,
                    report.summary,
                )
            except document_register.CannotEdit as e:  # as `archive` does: say what to add
                shown = f"; its snapshot is {snapshot}" if snapshot else ""
                report.note = f"not recorded: {e}{shown}; add the version by hand"
                continue
        key = snapshot or (f"digest:{digest}" if report.document else f"url:{report.url}")
        kept.put_base(key, report.sentences)
        report.archive = snapshot


# Showing -----------------------------------------------------------------------------------


def as_text(reports: list[Report], project: Project) -> str:
    lines = []
    for r in reports:
        head = f"{r.status:<11} {r.url}"
        if r.document:
            head += f" ({r.document})"
        if r.final_url and r.status == "moved":
            head += f" -> {r.final_url}"
        lines.append(head)
        lines += [f"  - {s}" for s in r.removed]
        lines += [f"  + {s}" for s in r.added]
        for sid in r.snippets:
            lines.append(f"  quote gone: {project.snippets[sid].path} ({sid})")
        lines += [f"  cited by: {p}" for p in r.posts]
        if r.archive:
            lines.append(f"  recorded: {r.archive}")
        if r.note:
            lines.append(f"  note: {r.note}")
    counts: dict[str, int] = {}
    for r in reports:
        counts[r.status] = counts.get(r.status, 0) + 1
    each = ", ".join(
        f"{n} {s}" for s, n in sorted(counts.items(), key=lambda x: STATUSES.index(x[0]))
    )
    gone = sum(len(r.snippets) for r in reports)
    tail = f"{_n(len(reports), 'page')}: {each or 'none'}."
    if gone:
        tail += f" {_n(gone, 'quoted passage')} gone."
    return "\n".join(lines + [tail])


def quotes_gone(reports: list[Report]) -> bool:
    return any(r.snippets for r in reports)
