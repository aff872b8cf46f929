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
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .. import checks, content, urls
from ..model import Snippet
from ..output import write_file
from ..pipeline import Checked
from .citations import post_links
from .fetch import Fetcher, Limits
from .wayback import ArchiveError, Capture, SavePageNow, Wayback

ACCESS_ENV, SECRET_ENV = "WAYBACK_ACCESS_KEY", "WAYBACK_SECRET_KEY"
ARCHIVES_HEADER = ("# yaml-language-server: $schema=schemas/archives.schema.json\n"
                   "# Archived copies of links in posts: URL -> {archive: snapshot URL}.\n"
                   "# Written by `toolkit archive`; edit freely.\n")


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


def wants(checked: Checked) -> list[_Want]:
    """What lacks an archived copy, each URL once."""
    project = checked.project
    found: dict[str, _Want] = {}
    for s in sorted(project.snippets.values(), key=lambda s: s.path):
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
    return list(found.values())


def archive(checked: Checked, root: Path, *, dry_run: bool, env: Mapping[str, str],
            limits: Limits, poll_every: float = 5.0) -> Iterator[Outcome]:
    """Find or request a capture for everything `wants` lists, writing each back as it comes."""
    project = checked.project
    base = project.config.wayback_url
    fetcher = Fetcher(limits, archive_hosts=urls.archive_netlocs(base))
    wayback = Wayback(base, fetcher)
    access, secret = env.get(ACCESS_ENV, "").strip(), env.get(SECRET_ENV, "").strip()
    saver = (SavePageNow(base, access, secret, poll_every=poll_every)
             if access and secret else None)
    stopped = ""
    for want in wants(checked):
        shown = ", ".join([s.path for s in want.snippets] + want.in_posts)
        if stopped:
            yield Outcome(want.url, shown, "stopped", None, stopped)
            continue
        page, hash_, fragment = want.url.partition("#")  # the archive keeps pages, not parts
        try:
            capture = wayback.near(page, want.accessed.strftime("%Y%m%d")
                                   if want.accessed else None)
        except ArchiveError as e:  # the archive is down or limiting us: ask no more
            stopped = "not tried: the archive stopped the run (see above)"
            yield Outcome(want.url, shown, "stopped", None, str(e))
            continue
        action, note = "found", ""
        if capture is None:
            if saver is None:
                yield Outcome(want.url, shown, "not found", None,
                              f"no capture yet; set ${ACCESS_ENV} and ${SECRET_ENV} "
                              "to have one made")
                continue
            if dry_run:
                yield Outcome(want.url, shown, "would save", None,
                              "no capture yet; would ask Save Page Now")
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
        if want.in_posts:
            append_archives(root / project.archives_path, {want.url: snapshot})
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


def _yaml_scalar(text: str) -> str:
    """Plain if YAML reads it back unchanged, else double-quoted."""
    if re.search(r"(: |\s#|^[\s'\"&*!|>%@`{\[\]},?-])|\s$", text):
        return json.dumps(text)
    return text


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def write_snippet_archive(path: Path, snapshot: str) -> None:
    """Add `archive: <snapshot>` to a snippet's front matter, changing nothing else.

    An empty `archive:` line is filled in; otherwise the line goes after the `source:`
    block (or, without one, at the end of the front matter).
    """
    data = path.read_bytes()
    text = data.decode("utf-8").removeprefix("\ufeff")
    bom = "\ufeff" if data.startswith(b"\xef\xbb\xbf") else ""
    nl = _newline(text)
    lines = text.split(nl)
    split = content.split_front_matter(text)
    if split is None:
        raise ValueError(f"{path.name} has no front matter")
    _, before, _, body_line = split
    close = body_line - 2  # index of the closing `---` line
    value = _yaml_scalar(snapshot)
    for i in range(before, close):
        m = re.match(r"^archive:\s*(?:(?:''|\"\"|~|null)\s*)?(#.*)?$", lines[i])
        if m:
            comment = f"  {m.group(1)}" if m.group(1) else ""
            lines[i] = f"archive: {value}{comment}"
            break
    else:
        insert_at = close
        for i in range(before, close):
            if re.match(r"^source:", lines[i]):
                insert_at = i + 1
                while insert_at < close and (lines[insert_at].startswith((" ", "\t"))
                                             or not lines[insert_at].strip()):
                    insert_at += 1
                break
        lines.insert(insert_at, f"archive: {value}")
    write_file(path, (bom + nl.join(lines)).encode("utf-8"))


def append_archives(path: Path, entries: dict[str, str]) -> None:
    """Append `URL:\\n  archive: SNAPSHOT` entries to archives.yaml, in its own style."""
    text = path.read_text(encoding="utf-8") if path.exists() else ARCHIVES_HEADER
    nl = _newline(text)
    indent = "  "
    m = re.search(r"^(\s+)archive:", text, re.M)
    if m:
        indent = m.group(1).lstrip("\r\n")
    if text and not text.endswith(("\n", "\r\n")):
        text += nl
    for url, snapshot in entries.items():
        text += f"{_yaml_scalar(url)}:{nl}{indent}archive: {_yaml_scalar(snapshot)}{nl}"
    write_file(path, text.encode("utf-8"))
