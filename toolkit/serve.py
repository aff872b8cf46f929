"""`toolkit serve`: preview the site on 127.0.0.1 and rebuild whenever a file is saved.

The preview is built into `.toolkit/preview/`, never into `site/`: it shows drafts, and
site/ is what a deploy publishes. Every answer says `X-Robots-Tag: noindex`.

The preview is built even when the check finds problems: they are printed in the
terminal and shown in a banner on every page, so a typo never stops the preview.
Watching is by polling modification times: no extra dependency, and it works the same on
every filesystem (network drives and containers included).
"""

from __future__ import annotations

import functools
import http.server
import io
import os
import threading
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path

from . import build, output
from .diagnostics import Diagnostic

WATCHED = ("posts", "snippets")
WATCHED_FILES = ("toolkit.toml", "archives.yaml")


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """(mtime, size) of every input file; any difference means "rebuild"."""
    state = {}
    paths = [root / name for name in WATCHED_FILES]
    for directory in WATCHED:
        if (root / directory).is_dir():
            paths += (root / directory).rglob("*")
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        if path.is_file():
            state[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return state


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


class _Handler(http.server.SimpleHTTPRequestHandler):
    banner: Banner

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

    def send_head(self):
        """HTML pages get the banner right after <body>; everything else as it is. The
        files on disk stay exactly what `toolkit build` writes."""
        path = self.translate_path(self.path)
        if "\0" in path:  # `/%00`: no file is named so, and open() would raise
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        if os.path.isdir(path):
            path = os.path.join(path, "index.html")
        if not self.banner.html or not path.endswith(".html") or not os.path.isfile(path):
            return super().send_head()
        if not self.path.split("?", 1)[0].endswith(("/", ".html")):
            return super().send_head()  # let the base redirect /dir to /dir/
        with open(path, "rb") as f:
            page = f.read().replace(b"<body>\n", b"<body>\n" + self.banner.html, 1)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        return io.BytesIO(page)


def make_server(root: Path, port: int, banner: Banner) -> http.server.ThreadingHTTPServer:
    handler_class = type("Handler", (_Handler,), {"banner": banner})
    handler = functools.partial(handler_class, directory=str(preview_dir(root)))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    return server


def watch(
    root: Path, rebuild: Callable[[], None], stop: threading.Event, interval: float = 0.5
) -> None:
    """Call `rebuild` after every change to the inputs, until `stop` is set."""
    last = snapshot(root)
    while not stop.wait(interval):
        current = snapshot(root)
        if current != last:
            last = current
            rebuild()
