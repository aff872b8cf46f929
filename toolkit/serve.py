"""`toolkit serve`: preview the site on 127.0.0.1, rebuild on every save, reload the browser.

The preview is built into `.toolkit/preview/`, never into `site/`: it shows drafts, and
site/ is what a deploy publishes. Every answer says `X-Robots-Tag: noindex`, and every
page served gets `<meta name="robots" content="noindex">` and a few lines of script that
listen on `/__toolkit/events` (server-sent events) and reload the page when it changed.
Both are added as the page is served: the files on disk stay exactly what `toolkit build`
writes, and the built site has no JavaScript.

The preview is built even when the check finds problems: they are printed in the
terminal and shown in a banner on every page, so a typo never stops the preview.

Saves are noticed by the operating system's file-change notification (`watchfiles`),
or by polling where there is none (or with $TOOLKIT_WATCH_POLL: network drives, some
containers). An edit to posts alone is shown at once: the edited posts' pages are
rendered on their own, as the build would render them, from the project as last loaded,
and served from memory while the whole preview is rebuilt behind them (the index, tag
pages and feeds that list them). The browser is told twice: first that those pages
changed, then which other pages the rebuild may have changed.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import http.server
import io
import json
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from . import build, content, environment, lock, output, pipeline, site
from . import diagnostics as dg
from .diagnostics import Diagnostic
from .incremental import store as cachelib
from .model import ArchiveIndex, Project

WATCHED = ("posts", "snippets")
WATCHED_FILES = ("toolkit.toml", "archives.yaml", "documents.yaml")
EVENTS = "/__toolkit/events"
STEP_MS = 50  # a save is taken as done after this long without another change
POLL_MS = 200  # between scans of the inputs when polling

NOINDEX = b'<meta name="robots" content="noindex">\n'
# Reload when an event names this page, or says it changed everything but a list of
# pages that do not include it. `since` replays what happened between serving the page
# and the stream connecting, so no rebuild is missed.
RELOAD_SCRIPT = """\
<script>
(function () {
  var since = %d, here = location.pathname.replace(/index\\.html$/, "");
  var events = new EventSource("%s?since=" + since);
  events.addEventListener("reload", function (e) {
    var d = JSON.parse(e.data);
    if (d.only ? d.only.indexOf(here) >= 0 : d.except.indexOf(here) < 0) {
      events.close();
      location.reload();
    }
  });
})();
</script>
"""


def preview_dir(root: Path) -> Path:
    """The tree the preview server shows."""
    return output.destination(root, output.PREVIEW)


def preview(root: Path, drafts: bool = True, banner: Banner | None = None) -> list[Diagnostic]:
    """Build the preview, even with problems; the check's diagnostics. The
    banner changes before the pages do, so a new page never shows an old banner."""
    return build.build(
        root, drafts=drafts, preview=True, on_checked=banner.show if banner else None
    ).diagnostics


class Banner:
    """The problems banner the server puts on every page (empty when all is well)."""

    def __init__(self) -> None:
        self.html = b""

    def show(self, problems: list[Diagnostic]) -> None:
        from .site import problems_html

        self.html = problems_html(problems) if problems else b""


class Events:
    """Rebuilds the browser must hear of, numbered; each stream waits here for the next.

    A few recent events are kept, so a page can ask for what happened since it was
    served. Closing wakes every stream so it ends, and the server can stop."""

    KEEP = 64

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._recent: collections.deque[tuple[int, dict]] = collections.deque(maxlen=self.KEEP)
        self.last = 0
        self.closed = False

    def publish(self, only: Iterable[str] | None = None, unchanged: Iterable[str] = ()) -> None:
        """Pages at the URL paths `only` changed; or (None) every page but `unchanged`."""
        data = {"only": sorted(only)} if only is not None else {"except": sorted(unchanged)}
        with self._cond:
            self.last += 1
            self._recent.append((self.last, data))
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def after(self, since: int, timeout: float) -> list[tuple[int, dict]] | None:
        """The events after number `since`, waiting up to `timeout` for one; None once
        closed. Events too old to be kept any more come back as one "everything"."""
        with self._cond:
            self._cond.wait_for(lambda: self.closed or self.last != since, timeout)
            if self.closed:
                return None
            # Older than what is kept, or served by an earlier run of the server.
            if since < self.last - len(self._recent) or since > self.last:
                return [(self.last, {"except": []})]
            return [(n, data) for n, data in self._recent if n > since]


class _Handler(http.server.SimpleHTTPRequestHandler):
    banner: Banner
    events: Events
    overlay: dict[str, bytes]  # pages rendered ahead of the rebuild, by path in the tree
    keepalive = 15.0  # seconds between comments on an idle stream (a gone client shows)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base's name
        pass  # the terminal is for the writer's problems, not request logs

    def end_headers(self) -> None:
        # The preview holds drafts: no search engine may keep it, even if it is reachable.
        self.send_header("X-Robots-Tag", "noindex")
        super().end_headers()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """A missing page gets the site's own 404.html (with the banner), as a host would
        serve it; any other error, and a preview without that page, the base's answer."""
        page_404 = os.path.join(self.directory, "404.html")
        if code != HTTPStatus.NOT_FOUND or not os.path.isfile(page_404):
            super().send_error(code, message, explain)
            return
        with open(page_404, "rb") as f:
            page = f.read()
        if self.banner.html:
            page = page.replace(b"<body>\n", b"<body>\n" + self.banner.html, 1)
        self.send_response(code, message)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(page)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == EVENTS:
            self._stream(parse_qs(url.query).get("since", [""])[0])
        else:
            super().do_GET()

    def _stream(self, since_text: str) -> None:
        """Server-sent events: a `reload` event for each rebuild, until the server stops."""
        # A reconnecting EventSource says where it was in Last-Event-ID.
        since_text = self.headers.get("Last-Event-ID") or since_text
        since = int(since_text) if since_text.isdigit() else self.events.last
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.close_connection = True
        try:
            self.wfile.write(b"retry: 500\n\n")
            self.wfile.flush()
            while True:
                found = self.events.after(since, self.keepalive)
                if found is None:
                    return
                message = b": keepalive\n\n"
                if found:
                    message = b"".join(
                        f"id: {n}\nevent: reload\ndata: {json.dumps(data)}\n\n".encode()
                        for n, data in found
                    )
                    since = found[-1][0]
                self.wfile.write(message)
                self.wfile.flush()
        except OSError:  # the page went away
            return

    def send_head(self):
        """HTML pages get the noindex tag, the banner right after <body> and the reload
        script; everything else as it is. The files on disk stay exactly what
        `toolkit build` writes."""
        path = self.translate_path(self.path)
        if "\0" in path:  # `/%00`: no file is named so, and open() would raise
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        if os.path.isdir(path) or path.endswith(os.sep):
            path = os.path.join(path, "index.html")
        if not path.endswith(".html"):
            return super().send_head()
        if not urlsplit(self.path).path.endswith(("/", ".html")):
            return super().send_head()  # let the base redirect /dir to /dir/
        generation = self.events.last  # before reading: a change after it is replayed
        page = self.overlay.get(os.path.relpath(path, self.directory))
        if page is None:
            if not os.path.isfile(path):
                return super().send_head()
            with open(path, "rb") as f:
                page = f.read()
        page = inject(page, self.banner.html, generation)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        return io.BytesIO(page)


def inject(page: bytes, banner: bytes, generation: int) -> bytes:
    """A page as the preview serves it: noindex, the banner, the reload script."""
    script = (RELOAD_SCRIPT % (generation, EVENTS)).encode()
    page = page.replace(b"<head>\n", b"<head>\n" + NOINDEX, 1)
    page = page.replace(b"<body>\n", b"<body>\n" + banner, 1)
    at = page.rfind(b"</body>")
    return page[:at] + script + page[at:] if at >= 0 else page + script


def make_server(
    root: Path,
    port: int,
    banner: Banner,
    events: Events | None = None,
    overlay: dict[str, bytes] | None = None,
) -> http.server.ThreadingHTTPServer:
    """The preview's server; `events` and `overlay` are the Preview's (see there)."""
    attributes = {
        "banner": banner,
        "events": events or Events(),
        "overlay": overlay if overlay is not None else {},
    }
    handler_class = type("Handler", (_Handler,), attributes)
    handler = functools.partial(handler_class, directory=str(preview_dir(root)))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True  # an open event stream never holds up the exit
    return server


# --- Watching ------------------------------------------------------------------------------


def is_input(root: Path, path: str) -> bool:
    """Whether a changed path is something the preview is built from."""
    try:
        parts = Path(path).relative_to(root).parts
    except ValueError:
        return False
    if not parts or any(p.startswith((".", "#")) for p in parts) or parts[-1].endswith("~"):
        return False  # editors' swap and backup files, .git, .toolkit
    if len(parts) == 1:
        return parts[0] in WATCHED_FILES or parts[0] in WATCHED
    return parts[0] in WATCHED


def watch(
    root: Path,
    changed: Callable[[set[Path]], None],
    stop: threading.Event,
    poll: bool | None = None,
    on_fallback: Callable[[str], None] | None = None,
    ready: threading.Event | None = None,
) -> None:
    """Call `changed` with the input files changed, after each burst of saves, until
    `stop` is set; `ready` is set once saves are being watched. Native notification
    unless `poll` (default: $TOOLKIT_WATCH_POLL, or on WSL, whose Windows drives send
    none); if it cannot be had (no inotify, its limit reached), polling, after
    `on_fallback`."""
    import platform

    import watchfiles

    if poll is None:
        poll = environment.read("TOOLKIT_WATCH_POLL") or "microsoft" in platform.release().lower()
    missed: set[Path] = set()
    while not stop.is_set() and not poll:
        # The folders are watched recursively, the project's own folder only for its
        # files (not .toolkit/, whose every build would wake the watcher).
        folders = watched_folders(root)
        # Ends these watchers (not the next ones) when they are replaced, or on `stop`.
        done = _Either(stop, threading.Event())
        watchers = [
            watchfiles.watch(
                *paths,
                watch_filter=lambda _change, path: is_input(root, path),
                step=STEP_MS,
                stop_event=done,
                # An empty answer at least this often: the first says it is watching.
                rust_timeout=100,
                yield_on_timeout=True,
                raise_interrupt=False,
                force_polling=False,  # its polling sees whole seconds only: ours is below
                recursive=recursive,
                # A folder removed and made again mid-walk is not a reason to stop.
                ignore_permission_denied=True,
            )
            for paths, recursive in (([root], False), ([p for p, _ in folders], True))
            if paths
        ]
        try:
            _drain(root, watchers, folders, changed, stop, ready, missed)
        except FileNotFoundError:
            continue  # a watched folder went as the watch began: look again
        except (OSError, RuntimeError) as e:  # e.g. "OS file watch limit reached"
            poll = True
            if on_fallback is not None:
                on_fallback(str(e))
        finally:
            done.mine.set()
        # A save between these watchers and the next is seen by neither: look again.
        missed = {p for p, _ in folders + watched_folders(root)}
    if not stop.is_set():
        _poll(root, changed, stop, ready)


def watched_folders(root: Path) -> list[tuple[Path, int]]:
    """The input folders there are, each with its inode (a folder removed and made
    again is another folder, which a watcher of the old one never sees into)."""
    found = []
    for name in WATCHED:
        with contextlib.suppress(OSError):
            st = os.stat(root / name)
            if stat.S_ISDIR(st.st_mode):
                found.append((root / name, st.st_ino))
    return found


@dataclass
class _Either:
    """Set when either event is: the whole watch's, or this round of watchers' own."""

    all: threading.Event
    mine: threading.Event

    def is_set(self) -> bool:
        return self.all.is_set() or self.mine.is_set()


def scan(root: Path) -> dict[str, tuple[int, int, int]]:
    """(mtime in ns, size, inode) of every input file: any difference is a save. (The
    nanoseconds matter: two saves within a second are two saves.)"""
    found: dict[str, tuple[int, int, int]] = {}
    pending = [str(root / d) for d in WATCHED]
    for name in WATCHED_FILES:
        with contextlib.suppress(OSError):
            st = os.stat(root / name)
            found[str(root / name)] = (st.st_mtime_ns, st.st_size, st.st_ino)
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith((".", "#")) or entry.name.endswith("~"):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                else:
                    st = entry.stat()
                    found[entry.path] = (st.st_mtime_ns, st.st_size, st.st_ino)
            except OSError:
                continue
    return found


def _poll(
    root: Path,
    changed: Callable[[set[Path]], None],
    stop: threading.Event,
    ready: threading.Event | None,
) -> None:
    """Watching by looking: every input file's stat, compared every POLL_MS."""
    last = scan(root)
    if ready is not None:
        ready.set()
    while not stop.wait(POLL_MS / 1000):
        current = scan(root)
        if current == last:
            continue
        paths = {p for p in current.keys() | last.keys() if current.get(p) != last.get(p)}
        last = current
        changed({Path(p) for p in paths})


def _drain(root, watchers, folders, changed, stop, ready, missed) -> None:
    """Merge the watchers' changes; return to start again when a watched folder comes
    or goes (a watcher holds on to the folder it was given). `missed`: paths to take as
    changed once all are watching."""
    queue: collections.deque = collections.deque()
    tops = {root / d for d in WATCHED}
    wake = threading.Condition()
    failed: list[BaseException] = []
    started: set[int] = set()

    def pump(w) -> None:
        try:
            for found in w:
                with wake:
                    if len(started) < len(watchers) and len(started | {id(w)}) == len(watchers):
                        # Every watcher has answered once: all are watching from now on.
                        if missed:
                            queue.append({(None, str(p)) for p in missed})
                            wake.notify()
                        if ready is not None:
                            ready.set()
                    started.add(id(w))
                    if found:
                        queue.append(found)
                        wake.notify()
        except BaseException as e:  # noqa: BLE001 - handed to the thread that waits
            with wake:
                failed.append(e)
                wake.notify()

    threads = [threading.Thread(target=pump, args=(w,), daemon=True) for w in watchers]
    for t in threads:
        t.start()
    while not stop.is_set():
        with wake:
            wake.wait_for(lambda: queue or failed or stop.is_set(), 0.5)
            if failed:
                raise failed[0]
            events = [event for found in queue for event in found]
            queue.clear()
        if not events:
            continue
        # Each watcher has waited STEP_MS for a burst of saves to end (a checkout, an
        # editor's rename); saves made during the rebuild come together next time.
        changed({Path(path) for _, path in events})
        # A watched folder itself came or went (perhaps made again at once, perhaps on
        # the inode it had): the watchers must start again on what is there now.
        if watched_folders(root) != folders or any(
            change is not None and Path(path) in tops for change, path in events
        ):
            return


# --- Rebuilding ----------------------------------------------------------------------------


@dataclass
class Update:
    """What one save led to, for the terminal."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None


class Preview:
    """The preview's state between saves: the banner, the pages served ahead of the
    rebuild, the events the browser listens to, and the project as last loaded (to
    render an edited post alone)."""

    def __init__(self, root: Path, drafts: bool = True) -> None:
        self.root = root
        self.drafts = drafts
        self.banner = Banner()
        self.events = Events()
        self.overlay: dict[str, bytes] = {}
        self.project: Project | None = None
        self.archives: ArchiveIndex | None = None
        self.diagnostics: list[Diagnostic] = []

    def rebuild(self) -> Update:
        """Build the whole preview; tell the browser once it is on disk."""
        start = time.perf_counter()
        shown = dict(self.overlay)
        old_banner = self.banner.html
        try:
            report = build.build(
                self.root, drafts=self.drafts, preview=True, on_checked=self.banner.show
            )
        except Exception as e:  # noqa: BLE001 - keep serving the last good preview
            self.overlay.clear()
            self.events.publish()
            return Update(error=f"{type(e).__name__}: {e}")
        self.banner.show(report.diagnostics)  # also when the build stopped before writing
        self.diagnostics = report.diagnostics
        # The pages shown ahead are now on disk as they were rendered (the same renderer,
        # the same inputs): a page showing one need not reload, unless the banner changed.
        unchanged = []
        if self.banner.html == old_banner:
            for rel, page in shown.items():
                if _read(preview_dir(self.root) / rel) == page:
                    unchanged.append(url_path(rel))
        self.overlay.clear()
        self.events.publish(unchanged=unchanged)
        return Update(diagnostics=report.diagnostics, seconds=time.perf_counter() - start)

    def load(self) -> None:
        """Load the project (without posts) for rendering posts alone; a project with
        loading problems is left to the full rebuild."""
        # With the build's memo of loaded files, as the build loads it (and as fast).
        self.project = None
        try:
            with lock.exclusive(self.root):
                memo = cachelib.Cache(self.root / ".toolkit" / "cache.sqlite")
                try:
                    project = content.load_project(self.root, posts=False, memo=memo)
                finally:
                    memo.close()
        except Exception:  # noqa: BLE001 - the rebuilds say what is wrong; none is quick
            return
        if project.diagnostics:
            return
        self.archives = project.archive_index()
        project.derived.archive_index = self.archives
        self.project = project

    def quick(self, changed: set[Path]) -> list[str]:
        """Render the edited posts' pages alone and show them at once; the posts shown
        (none when the change is not to posts alone, or a post cannot be shown so)."""
        posts = self.root / "posts"
        if self.project is None or any(posts not in p.parents for p in changed):
            return []  # the project changed: only the build can say what that does
        # A deleted post, a folder, an editor's scratch file: left to the rebuild.
        edited = sorted(p for p in changed if p.suffix == ".md" and p.is_file())
        if not edited:
            return []
        pages: dict[str, bytes] = {}
        diagnostics: dict[str, list[Diagnostic]] = {}
        for path in edited:
            rendered = self._render(path)
            if rendered is None:
                return []
            rel, page, diags = rendered
            pages[rel] = page
            diagnostics[content.rel(self.root, path)] = diags
        # The banner: the last build's problems, with these posts' own replaced.
        problems = [d for d in self.diagnostics if d.path not in diagnostics]
        problems += [d for diags in diagnostics.values() for d in diags]
        self.banner.show(sorted(problems, key=lambda d: (d.path, d.line, d.column)))
        self.overlay.update(pages)
        self.events.publish(only=[url_path(rel) for rel in pages])
        return sorted(diagnostics)

    def _render(self, path: Path) -> tuple[str, bytes, list[Diagnostic]] | None:
        """(the page's path in the tree, its bytes, the post's problems), as the build
        would make them; None if the build alone can say (an error, a draft not shown, a
        page that moved)."""
        project, archives = self.project, self.archives
        assert project is not None and archives is not None  # loaded together
        try:
            data = content.slurp(path)
        except OSError:
            return None
        result = pipeline.compute(path, data, project, archives, {"site": site.render_post})
        post = result.post
        if post is None or not (post.published or self.drafts):
            return None
        if any(d.severity == dg.ERROR for d in result.diagnostics):
            return None
        page = result.outputs["site"]
        rel = page.path + "index.html"
        shown = _read(preview_dir(self.root) / rel)
        if shown is None:
            return None  # a new post or a new slug: the index must show it first
        assert page.page is not None
        # Its older and newer posts are as the page shown says (only the rebuild, with
        # every post loaded, can tell whether an edit moved it among them).
        start = page.nav_span[0]
        return rel, page.page[:start] + site.nav_of(shown) + page.page[start:], result.diagnostics


def url_path(rel: str) -> str:
    """The URL path a page in the tree is served at (`posts/a/index.html` -> `/posts/a/`)."""
    return "/" + re.sub(r"(^|/)index\.html$", r"\1", rel)


def _read(path: Path) -> bytes | None:
    try:
        return content.slurp(path)
    except OSError:
        return None
