"""`toolkit check --online`: every citation checked against its archived copy and the web.

For each snippet: the cited capture exists (an exact CDX lookup) and is not a redirect or
an error page; the snippet's quote is in the capture's text (HTML or PDF); the live source
is ok, moved, gone, blocked, a soft 404 or unreachable; and if the quote is archived but no
longer on the live page, that is drift. For each plain link in posts: the live page, and
its archives.yaml copy. The archive checks are errors (they are deterministic and the
writer can fix them); live problems are warnings (they change from run to run).

Each URL is fetched once however many files cite it, through the polite `Fetcher`, and
results are kept in `.toolkit/online.sqlite` (see `store`).
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .. import checks, urls
from .. import diagnostics as dg
from ..diagnostics import Diagnostic
from ..markdown import Locator
from ..pipeline import Checked
from ..retry import bot_wall
from . import heads
from . import text as textlib
from .fetch import Fetched, Fetcher, Limits
from .store import OnlineStore, key
from .wayback import ArchiveError, Wayback

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
_NOT_FOUND = re.compile(
    r"\b(404|not found|page not found|page doesn.t exist|no longer "
    r"available|could not be found)\b",
    re.I,
)
_BOT_WALL = (
    b"just a moment...",
    b"verifying you are human",
    b"attention required",
    b"vercel security checkpoint",
    b"checking your browser",
)


# What we learn about URLs -------------------------------------------------------------


@dataclass
class Live:
    kind: str  # ok | moved | gone | blocked | soft404 | unreachable
    detail: str = ""
    text: str | None = None  # visible text, when fetched with its body

    @property
    def failed(self) -> bool:
        """Not an answer from the site: could be our network as much as theirs."""
        return self.kind == "unreachable" or self.detail == "no such host"

    @property
    def keepable(self) -> bool:
        return not self.failed  # failures are never kept


@dataclass
class CaptureResult:
    kind: str  # ok | missing | redirect | error | unchecked
    detail: str = ""
    text: str | None = None
    later: bool = True  # unchecked: would a later run do better?

    @property
    def keepable(self) -> bool:
        return self.kind in ("ok", "redirect", "error")  # a capture never changes


def classify(f: Fetched, original: str) -> Live:
    """What happened to a live URL, from what the fetcher saw."""
    if f.error == "dns":
        return Live("gone", "no such host")
    if f.error:
        return Live(
            "unreachable",
            {
                "timeout": "timed out",
                "retry-after": "asked us to wait longer than we will",
                "deadline": "not reached before the run's deadline",
            }.get(f.error, "could not connect"),
        )
    head = f.body[:20000].lower()
    wall = bot_wall(f.header) or any(marker in head for marker in _BOT_WALL)
    if wall:
        return Live("blocked", f"a bot wall (HTTP {f.status})")
    if f.status in (401, 403, 429):
        return Live("blocked", f"HTTP {f.status}")
    if f.status in (404, 410):
        return Live("gone", f"HTTP {f.status}")
    if f.status is not None and f.status >= 500:
        return Live("unreachable", f"HTTP {f.status}")
    if not f.ok:
        return Live("unreachable", f"HTTP {f.status}")
    final = f.final_url or original
    if urls.normalize(final) != urls.normalize(original):
        final_path = final.split("://", 1)[-1].partition("/")[2].strip("/")
        original_path = original.split("://", 1)[-1].partition("/")[2].strip("/")
        if not final_path and original_path:
            return Live("soft404", f"redirects to the site's home page ({final})")
        return Live("moved", final)
    title = _TITLE.search(f.body[:20000])
    if title and _NOT_FOUND.search(title.group(1).decode("utf-8", "replace")):
        return Live("soft404", "the page says it was not found")
    return Live("ok")


@dataclass
class _Site:
    """One place a URL is cited, to report against."""

    path: str
    line: int
    column: int


def post_links(checked: Checked) -> dict[str, list[_Site]]:
    """External links in posts (not to an archive or our own site), where they are."""
    project = checked.project
    found: dict[str, list[_Site]] = defaultdict(list)
    for post in project.posts:
        parsed = checked.parsed.get(post.path)
        if parsed is None:
            continue
        loc = Locator(post.body, post.body_line)
        for tok in parsed.every_token():
            url = checks.link_url(tok)
            if url and checks.external_link(url, project.config):
                where = loc.find(url)
                found[url].append(_Site(post.path, where[0], where[1]))
        if post.link and checks.external_link(post.link, project.config):
            line, column = post.loaded.at(("link",))  # a link post's page, in front matter
            found[post.link].append(_Site(post.path, line, column))
    return found


# The checker ----------------------------------------------------------------------------


@dataclass
class Options:
    limits: Limits
    live_days: float = 7.0
    refresh: bool = False
    progress: Callable[[int, int], None] | None = None  # (done, total)


class OnlineCheck:
    def __init__(self, checked: Checked, options: Options, store: OnlineStore):
        self.checked = checked
        self.project = checked.project
        self.options = options
        self.store = store
        base = self.project.config.wayback_url
        # The archives are shared by everyone: each has a limit of its own.
        self.fetcher = Fetcher(options.limits, archive_hosts=urls.archive_netlocs(base))
        self.wayback = Wayback(base, self.fetcher)
        self.live: dict[str, Live] = {}
        self.captures: dict[str, CaptureResult] = {}

    # tasks ------------------------------------------------------------------------------

    def kept(self, kind: str, url: str, want_text: bool) -> Live | CaptureResult | None:
        return self.store.get(key(kind, url, str(want_text)))

    def live_result(self, url: str, want_text: bool, head: Fetched | None = None) -> Live:
        """The link's state: from `head` (its HEAD's answer) when that settles it."""
        fetched = self.fetcher.check(url, want_body=want_text, head=head)
        result = classify(fetched, url)
        if result.kind == "ok" and want_text:
            result.text = textlib.visible_text(
                fetched.body, fetched.header("content-type"), fetched.final_url or url
            )
        if result.keepable:
            self.store.put_live(key("live", url, str(want_text)), result)
        return result

    def capture_result(self, archive: str, want_text: bool) -> CaptureResult:
        result = self._capture(archive, want_text)
        if result.keepable:
            self.store.put(key("capture", archive, str(want_text)), result)
        return result

    def _capture(self, archive: str, want_text: bool) -> CaptureResult:
        snapshot = urls.try_snapshot(archive, self.project.config.wayback_url)
        if snapshot is None:
            return CaptureResult("unchecked", "not a snapshot URL")
        if snapshot.service == "archive.today" or not snapshot.timestamp:
            fetched = self.fetcher.fetch(archive)
            if not fetched.ok:  # it turns away most automated readers
                return CaptureResult(
                    "unchecked",
                    f"archive.today did not let us read it "
                    f"({fetched.error or f'HTTP {fetched.status}'}); open it "
                    "in a browser to confirm the quote is there",
                    later=False,
                )
            return CaptureResult(
                "ok",
                text=textlib.visible_text(fetched.body, fetched.header("content-type"))
                if want_text
                else None,
            )
        try:
            capture = self.wayback.exact(snapshot)
        except ArchiveError as e:
            return CaptureResult("unchecked", str(e))
        if capture is None:
            return CaptureResult("missing", self._nearest(snapshot))
        if capture.status is not None and 300 <= capture.status < 400:
            return CaptureResult("redirect", self._redirect_target(snapshot))
        if capture.status is not None and capture.status >= 400:
            return CaptureResult("error", f"HTTP {capture.status}")
        if not want_text:
            return CaptureResult("ok")
        raw = self.wayback.raw(snapshot)
        if not raw.ok:
            return CaptureResult(
                "unchecked", f"the capture's bytes could not be fetched ({raw.error or raw.status})"
            )
        cut = (
            f"only its first {self.options.limits.max_bytes:,} bytes were read"
            if raw.truncated
            else ""
        )
        return CaptureResult(
            "ok",
            cut,
            textlib.visible_text(raw.body, raw.header("content-type"), snapshot.original or ""),
        )

    def _nearest(self, snapshot: urls.Snapshot) -> str:
        try:
            near = self.wayback.near(snapshot.original or "", snapshot.timestamp)
        except ArchiveError:
            return ""
        return self.wayback.snapshot_url(near) if near else ""

    def _redirect_target(self, snapshot: urls.Snapshot) -> str:
        raw = self.wayback.raw(snapshot)
        location = raw.header("location")
        if location and location.startswith("/"):
            location = self.project.config.wayback_url.rstrip("/") + location
        return location.replace("id_/", "/") if location else ""

    # the run --------------------------------------------------------------------------

    def run(self) -> list[Diagnostic]:
        live_wanted: dict[str, bool] = {}  # url -> want text
        capture_wanted: dict[str, bool] = {}
        for s in self.project.snippets.values():
            if s.source_url:
                live_wanted[s.source_url] = live_wanted.get(s.source_url, False) or bool(s.quote)
            if s.archive:
                capture_wanted[s.archive] = capture_wanted.get(s.archive, False) or bool(s.quote)
        links = post_links(self.checked)
        for url in links:
            live_wanted.setdefault(url, False)
        for entry in self.project.archives.values():
            if entry.archive:
                capture_wanted.setdefault(entry.archive, False)

        tasks = [("capture", u, w) for u, w in capture_wanted.items()] + [
            ("live", u, w) for u, w in live_wanted.items()
        ]
        total, done = len(tasks), 0
        to_fetch = []
        for kind, url, want in tasks:  # what earlier runs learned needs no thread
            kept = self.kept(kind, url, want)
            if kept is None:
                to_fetch.append((kind, url, want))
                continue
            if isinstance(kept, Live):
                self.live[url] = kept
            else:
                self.captures[url] = kept
            done += 1
        if self.options.progress and done:
            self.options.progress(done, total)

        # The plain links first, all at once from this thread (see toolkit.online.heads):
        # a HEAD that settles a link settles it here; the rest go on with their answer.
        plain = [
            u for k, u, w in to_fetch if k == "live" and not w and heads.suits(u, self.fetcher)
        ]
        answered = heads.heads(self.fetcher, plain) if plain else {}
        rest = []
        for kind, url, want in to_fetch:
            head = answered.get(url) if kind == "live" and not want else None
            if head is not None and self.fetcher.settles(head):
                self.live[url] = self.live_result(url, want, head)
                done += 1
            else:
                rest.append((kind, url, want))
        if self.options.progress and answered:
            self.options.progress(done, total)

        def work(task: tuple[str, str, bool]) -> None:
            nonlocal done
            kind, url, want = task
            if kind == "live":
                self.live[url] = self.live_result(url, want, answered.get(url))
            else:
                self.captures[url] = self.capture_result(url, want)
            if self.options.progress:
                with progress_lock:
                    done += 1
                    self.options.progress(done, total)

        progress_lock = threading.Lock()
        _run_per_host(rest, work, self.fetcher.host_limit, self.options.limits.connections)
        return self.report(links)

    @property
    def offline(self) -> bool:
        """Requests were sent and not one was answered: there is no network."""
        return self.fetcher.requests_sent > 0 and self.fetcher.answers == 0

    # diagnostics ----------------------------------------------------------------------

    def report(self, links: dict[str, list[_Site]]) -> list[Diagnostic]:
        if self.offline:  # what we could not reach says nothing about the pages
            self.live = {u: r for u, r in self.live.items() if not r.failed}
            self.captures = {u: r for u, r in self.captures.items() if r.kind != "unchecked"}
        out: list[Diagnostic] = []
        for s in self.project.snippets.values():
            line = s.loaded.line
            capture = self.captures.get(s.archive) if s.archive else None
            if capture is not None and s.archive:
                out += self.capture_diagnostics(capture, s.archive, s.path, line(("archive",)))
                if capture.kind == "ok" and s.quote and capture.text is not None:
                    out += self.quote_diagnostics(s, capture)
            if s.source_url and s.source_url in self.live:
                live = self.live[s.source_url]
                out += self.live_diagnostics(
                    live, s.source_url, s.path, line(("source",)), has_archive=bool(s.archive)
                )
                if (
                    live.kind == "ok"
                    and s.quote
                    and live.text is not None
                    and capture is not None
                    and capture.kind == "ok"
                    and capture.text is not None
                    and self.archived_match(s, capture).found
                    and not textlib.find_quote(s.quote, live.text).found
                ):
                    snap = urls.try_snapshot(s.archive, self.project.config.wayback_url)
                    when = (
                        f" (the copy of {snap.time.day} {snap.time:%B %Y} has it)"
                        if snap and snap.time
                        else ""
                    )
                    out.append(
                        dg.make(
                            "L012",
                            s.path,
                            line(("quote",)),
                            f"the quote is no longer on the live page{when}; "
                            "the company may have changed its wording: check it, "
                            "and consider a new snippet",
                        )
                    )
        for url, sites in links.items():
            page = self.live.get(url)
            entry = self.project.archive_index().get(url)
            for site in sites:
                if page is not None:
                    out += self.live_diagnostics(
                        page,
                        url,
                        site.path,
                        site.line,
                        has_archive=bool(entry and entry.archive),
                        column=site.column,
                    )
        for entry in self.project.archives.values():
            capture = self.captures.get(entry.archive) if entry.archive else None
            if capture is not None and entry.archive:
                out += self.capture_diagnostics(
                    capture, entry.archive, self.project.archives_path, entry.line
                )
        return out

    def capture_diagnostics(
        self, capture: CaptureResult, archive: str, path: str, line: int
    ) -> list[Diagnostic]:
        if capture.kind == "missing":
            near = f"; the nearest capture is {capture.detail}" if capture.detail else ""
            return [
                dg.make(
                    "L001",
                    path,
                    line,
                    f"the archive has no capture at {archive}"
                    f"{near}; cite a capture that exists, or run `toolkit archive`",
                )
            ]
        if capture.kind == "redirect":
            instead = (
                f"; cite {capture.detail} instead"
                if capture.detail
                else "; cite the capture of the page it redirects to"
            )
            return [
                dg.make("L002", path, line, f"the capture {archive} is itself a redirect{instead}")
            ]
        if capture.kind == "error":
            return [
                dg.make(
                    "L003",
                    path,
                    line,
                    f"the capture {archive} is of an error "
                    f"page ({capture.detail}); cite a capture of the real page",
                )
            ]
        if capture.kind == "unchecked":
            advice = "; run the check again later" if capture.later else ""
            return [
                dg.make("L006", path, line, f"could not check {archive}: {capture.detail}{advice}")
            ]
        return []

    def archived_match(self, s, capture: CaptureResult):
        """Where the snippet's quote is in its archived copy (kept: the copy never
        changes, and a fuzzy search of a long page is the costly part of a check)."""
        k = key("quote", s.archive, s.quote)
        match = self.store.get(k)
        if match is None:
            match = textlib.find_quote(s.quote, capture.text or "")
            self.store.put(k, match)
        return match

    def quote_diagnostics(self, s, capture: CaptureResult) -> list[Diagnostic]:
        match = self.archived_match(s, capture)
        line = s.loaded.line(("quote",))
        if match.exact:
            return []
        if match.found:
            return [
                dg.make(
                    "L005",
                    s.path,
                    line,
                    f"the quote is in the archived copy only approximately (score "
                    f'{match.score:.0f}/100): "{_cut(match.passage)}"; copy the '
                    "exact words",
                )
            ]
        closest = (
            f'; the closest passage (score {match.score:.0f}/100) is "{_cut(match.passage)}"'
            if match.passage
            else "; the copy has no text to search (an image or a script-built page?)"
        )
        cut = f" ({capture.detail})" if capture.detail else ""
        return [
            dg.make(
                "L004",
                s.path,
                line,
                f"the quote is not in the archived copy {s.archive}{cut}{closest}",
            )
        ]

    def live_diagnostics(
        self, live: Live, url: str, path: str, line: int, has_archive: bool, column: int = 1
    ) -> list[Diagnostic]:
        record = "; the archived copy is now the citation of record" if has_archive else ""
        if live.kind == "moved":
            return [
                dg.make(
                    "L007",
                    path,
                    line,
                    f"{url} now redirects to {live.detail}"
                    f"{record or '; archive it while you can (`toolkit archive`)'}",
                    column,
                )
            ]
        lost = record or "; look for an older capture (`toolkit archive`), or cite another source"
        if live.kind == "gone":
            return [dg.make("L008", path, line, f"{url} is gone ({live.detail}){lost}", column)]
        if live.kind == "blocked":
            return [
                dg.make(
                    "L009",
                    path,
                    line,
                    f"{url} refused us ({live.detail}), so it could "
                    "not be checked; it is not called dead"
                    f"{record or ': open it in a browser'}",
                    column,
                )
            ]
        if live.kind == "soft404":
            return [dg.make("L010", path, line, f"{url} looks gone: {live.detail}{lost}", column)]
        if live.kind == "unreachable":
            return [
                dg.make(
                    "L011",
                    path,
                    line,
                    f"{url} {live.detail}; it will be checked again next time",
                    column,
                )
            ]
        return []


def _cut(text: str, width: int = 160) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _run_per_host(
    tasks: list[tuple[str, str, bool]],
    work: Callable[[tuple[str, str, bool]], None],
    host_limit: Callable[[str], int],
    connections: int,
) -> None:
    """Run `work` on every task in threads, never more at once on one host than its
    limit, nor more than `connections` in all, and re-raise the first error here.

    A worker only ever takes a task whose host has a free slot (a token per slot, handed
    back when the task is done), so no thread sits blocked on a busy host's semaphore and
    no thread is told of each result: every such wait and wake-up passes the GIL from
    thread to thread, and those handoffs, not the HTTP, were most of our CPU per link.
    The tokens start round-robin over hosts, so the first requests spread out.
    """
    queues: dict[str, deque[tuple[str, str, bool]]] = defaultdict(deque)
    for task in tasks:
        queues[urlsplit(task[1]).netloc.lower()].append(task)
    slots = {host: min(len(queue), max(1, host_limit(host))) for host, queue in queues.items()}
    ready: deque[str] = deque(
        host
        for turn in range(max(slots.values(), default=0))
        for host in slots
        if turn < slots[host]
    )
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        while True:
            with lock:
                while ready and not queues[ready[0]]:
                    ready.popleft()  # a token of a host with nothing left to do
                if not ready or errors:
                    return  # the tokens still out come back to the workers holding them
                host = ready.popleft()
                task = queues[host].popleft()
            try:
                work(task)
            except BaseException as e:  # noqa: BLE001 - raised again by the caller's thread
                with lock:
                    errors.append(e)
                return
            with lock:
                if queues[host]:
                    ready.append(host)

    threads = [
        threading.Thread(target=worker, name=f"check-{n}")
        for n in range(max(1, min(connections, len(ready))))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


@dataclass
class Report:
    diagnostics: list[Diagnostic]
    offline: bool  # nothing answered: only what earlier runs learned is reported


def check_online(checked: Checked, root: Path, options: Options) -> Report:
    store = OnlineStore(root / ".toolkit" / "online.sqlite", options.live_days, options.refresh)
    try:
        check = OnlineCheck(checked, options, store)
        diagnostics = check.run()
        return Report(diagnostics, check.offline)
    finally:
        store.close()
