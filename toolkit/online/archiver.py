"""`toolkit archive`: find or make an archived copy of every source and link that lacks one.

For each snippet without `archive:` and each external link in a post without an
archives.yaml entry: look for an existing good capture near the snippet's `accessed`
date (CDX), else ask Save Page Now 2 for a new one (with the account's keys), and write
the snapshot URL back. archive.today is never submitted to (it has no API and guards
against automation); add its links by hand if you like them.

Writing back touches nothing else: one `archive:` line goes into the snippet's front
matter, entries are appended to archives.yaml, and every other byte of both files stays
as it was (comments, key order, quoting, line endings). Each file is replaced atomically,
so a run stopped half-way leaves every file either as it was or fully updated.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .. import checks, content, document_register, urls
from ..model import Snippet
from ..pipeline import Checked
from ..retry import Clock
from ..yamledit import Text, fill_archive, scalar
from .citations import post_links
from .fetch import Fetcher, Limits
from .wayback import ArchiveError, Capture, SavePageNow, Wayback

ACCESS_ENV, SECRET_ENV = "WAYBACK_ACCESS_KEY", "WAYBACK_SECRET_KEY"
ARCHIVES_HEADER = (
    "# yaml-language-server: $schema=schemas/archives.schema.json\n"
    "# Archived copies of links in posts: URL -> {archive: snapshot URL}.\n"
    "# Written by `toolkit archive`; edit freely.\n"
)


@dataclass
class Outcome:
    url: str
    file: str  # the files that cite it, comma-separated
    action: str  # found | saved | would write | would save | not found | failed | stopped
    archive: str | None = None
    note: str = ""

    @property
    def line(self) -> str:
        detail = f"-> {self.archive}" if self.archive else ""
        if self.note:
            detail = f"{detail} ({self.note})" if detail else f"({self.note})"
        return f"{self.file}: {self.action} {self.url} {detail}".rstrip()


def summary(outcomes: list[Outcome]) -> str:
    """How many URLs had each result."""
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.action] = counts.get(o.action, 0) + 1
    each = ", ".join(f"{n} {action}" for action, n in counts.items())
    return f"{len(outcomes)} URL{'s' if len(outcomes) != 1 else ''}: {each}."


@dataclass
class _Want:
    url: str
    accessed: dt.date | None
    snippets: list[Snippet]
    in_posts: list[str]  # post files that link to it (needs an archives.yaml entry)
    entry_line: int | None = None  # its archives.yaml entry, there but with no archive
    documents: list[str] = field(default_factory=list)  # documents.yaml ids to give it


def wants(checked: Checked) -> list[_Want]:
    """What lacks an archived copy, each URL once."""
    project = checked.project
    found: dict[str, _Want] = {}
    for doc in sorted(project.documents.values(), key=lambda d: d.id):
        if doc.url and not doc.archive:
            want = found.setdefault(doc.url, _Want(doc.url, None, [], []))
            want.documents.append(doc.id)
    for s in sorted(project.snippets.values(), key=lambda s: s.path):
        if s.document in project.documents:
            continue  # its copy is its document's
        # An `archive:` the writer filled in, even wrongly, is theirs: `check` reports it.
        if s.source_url and not s.archive and not (s.loaded.value or {}).get("archive"):
            want = found.setdefault(s.source_url, _Want(s.source_url, s.accessed, [], []))
            want.snippets.append(s)
            want.accessed = want.accessed or s.accessed
    index = project.archive_index()
    for url, sites in post_links(checked).items():
        if not checks.needs_archive_copy(url, project.config):
            continue
        entry = index.get(url)
        if entry is None or not entry.archive:
            want = found.setdefault(url, _Want(url, None, [], []))
            want.in_posts += sorted({site.path for site in sites})
            want.entry_line = entry.line if entry is not None else None
    return list(found.values())


def save_page_now(
    base: str, env: Mapping[str, str], poll_every: float, clock: Clock
) -> SavePageNow | None:
    """Save Page Now with the user's keys from the environment; None without both."""
    access, secret = env.get(ACCESS_ENV, "").strip(), env.get(SECRET_ENV, "").strip()
    if not (access and secret):
        return None
    return SavePageNow(base, access, secret, poll_every=poll_every, clock=clock)


def archive(
    checked: Checked,
    root: Path,
    *,
    dry_run: bool,
    env: Mapping[str, str],
    limits: Limits,
    poll_every: float = 5.0,
) -> Iterator[Outcome]:
    """Find or request a capture for everything `wants` lists, writing each back as it comes."""
    project = checked.project
    base = project.config.wayback_url
    fetcher = Fetcher(limits, archive_hosts=urls.archive_netlocs(base))
    wayback = Wayback(base, fetcher)
    saver = save_page_now(base, env, poll_every, limits.policy.clock)
    stopped = ""
    for want in wants(checked):
        shown = ", ".join(
            [f"{project.documents_path} ({d})" for d in want.documents]
            + [s.path for s in want.snippets]
            + want.in_posts
        )
        if stopped:
            yield Outcome(want.url, shown, "stopped", None, stopped)
            continue
        page, hash_, fragment = want.url.partition("#")  # the archive keeps pages, not parts
        try:
            capture = wayback.near(
                page, want.accessed.strftime("%Y%m%d") if want.accessed else None
            )
        except ArchiveError as e:  # the archive is down or limiting us: ask no more
            stopped = "not tried: the archive stopped the run (see above)"
            yield Outcome(want.url, shown, "stopped", None, str(e))
            continue
        action, note = "found", ""
        if capture is None:
            if saver is None:
                yield Outcome(
                    want.url,
                    shown,
                    "not found",
                    None,
                    f"no capture yet; set ${ACCESS_ENV} and ${SECRET_ENV} to have one made",
                )
                continue
            if dry_run:
                yield Outcome(
                    want.url, shown, "would save", None, "no capture yet; would ask Save Page Now"
                )
                continue
            capture, action, note = _save(saver, wayback, page)
            if capture is None:
                if action == "stopped":
                    stopped = "not tried: the archive stopped the run (see above)"
                yield Outcome(want.url, shown, action, None, note)
                continue
        snapshot = wayback.snapshot_url(capture) + hash_ + fragment
        if dry_run:
            yield Outcome(want.url, shown, "would write", snapshot)
            continue
        for s in want.snippets:
            write_snippet_archive(root / s.path, snapshot)
        try:
            for doc_id in want.documents:
                document_register.set_archive(root / project.documents_path, doc_id, snapshot)
        except document_register.CannotEdit as e:
            yield Outcome(want.url, shown, "failed", None, f"{e}; add `archive: {snapshot}`")
            continue
        if want.in_posts and not write_archives_entry(
            root / project.archives_path, want.url, snapshot, want.entry_line
        ):
            yield Outcome(
                want.url,
                shown,
                "failed",
                None,
                f"{project.archives_path}:{want.entry_line} lists it in a form "
                f"this cannot edit; add `archive: {snapshot}` there by hand",
            )
            continue
        yield Outcome(want.url, shown, action, snapshot, note)


def _save(saver: SavePageNow, wayback: Wayback, url: str) -> tuple[Capture | None, str, str]:
    """Ask Save Page Now for a capture: (capture, action, note)."""
    try:
        if saver.available() == 0:
            return None, "stopped", "Save Page Now allows no more captures right now"
        result = saver.save(url, pdf=url.lower().split("?")[0].endswith(".pdf"))
    except ArchiveError as e:
        return None, "stopped", str(e)
    if result.status == "saved" and result.timestamp:
        return Capture(result.timestamp, result.original or url, 200, ""), "saved", ""
    if result.status == "archived-today":  # the archive already has today's capture
        try:
            capture = wayback.near(url, None)
        except ArchiveError as e:
            return None, "failed", str(e)
        if capture is not None:
            return capture, "found", "captured earlier today"
        return None, "failed", "captured today already, but not listed yet; try later"
    if result.status == "stop":
        return None, "stopped", result.message
    return None, "failed", result.message


# Writing back, byte-exactly -------------------------------------------------------------


def write_snippet_archive(path: Path, snapshot: str) -> None:
    """Add `archive: <snapshot>` to a snippet's front matter, changing nothing else.

    An empty `archive:` line is filled in; otherwise the line goes after the `source:`
    block (or, without one, at the end of the front matter).
    """
    file = Text.read(path)
    lines = file.lines()
    split = content.split_front_matter(file.text)
    if split is None:
        raise ValueError(f"{path.name} has no front matter")
    _, before, _, body_line = split
    close = body_line - 2  # index of the closing `---` line
    for i in range(before, close):
        if fill_archive(lines, i, snapshot):
            break
    else:
        insert_at = close
        for i in range(before, close):
            if re.match(r"^source:", lines[i]):
                insert_at = i + 1
                while insert_at < close and (
                    lines[insert_at].startswith((" ", "\t")) or not lines[insert_at].strip()
                ):
                    insert_at += 1
                break
        lines.insert(insert_at, f"archive: {scalar(snapshot)}")
    file.write(path, lines)


def write_archives_entry(path: Path, url: str, snapshot: str, line: int | None) -> bool:
    """Give `url` its archived copy in archives.yaml, in the file's own style, changing
    nothing else: the entry at `line` (there, with no copy yet) gets its `archive:`
    filled in or added; without one, `URL:\\n  archive: SNAPSHOT` is appended. False if
    the entry is not in a form this can edit (a flow mapping on the key's line)."""
    file = Text.read(path, ARCHIVES_HEADER)
    text, nl = file.text, file.newline
    value = scalar(snapshot)
    m = re.search(r"^([ \t]+)archive:", text, re.M)
    indent = m.group(1) if m else "  "
    if line is not None:
        lines = file.lines()
        key = line - 1
        if not re.search(r":\s*(#.*)?$", lines[key]):
            return False
        end = key + 1
        while end < len(lines) and (lines[end][:1] in (" ", "\t") or not lines[end].strip()):
            if fill_archive(lines, end, snapshot):
                break
            end += 1
        else:
            children = [x for x in lines[key + 1 : end] if x.strip()]
            first = children[0] if children else ""  # indented: the loop stops at others
            own = first[: len(first) - len(first.lstrip(" \t"))] if children else indent
            lines.insert(key + 1, f"{own}archive: {value}")
        file.write(path, lines)
        return True
    if text and not text.endswith(("\n", "\r\n")):
        text += nl
    file.write(path, text + f"{scalar(url)}:{nl}{indent}archive: {value}{nl}")
    return True
