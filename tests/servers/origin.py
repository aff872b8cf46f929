"""A stand-in company website, on the shared `StandInServer` base.

Live-page checks must classify real HTTP behaviour (redirect chains, 410, Cloudflare challenges,
429 + Retry-After, servers that refuse HEAD, soft 404s, PDFs) without touching the network, so
tests run them against ``OriginServer``: a real HTTP server on 127.0.0.1 whose routes the test
registers. The base also meters how many requests overlap, because politeness (per-host
concurrency caps) is part of what the checker promises.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from .base import RecordedRequest, Response, StandInServer, html_response

__all__ = [
    "NOT_FOUND_HTML",
    "OriginServer",
    "make_pdf",
]


# --------------------------------------------------------------------------------------------
# The origin website.

NOT_FOUND_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Page not found</title></head>
<body><main><h1>404</h1><p>Sorry, the page you are looking for could not be found.</p>
<p><a href="/">Back to the home page</a></p></main></body></html>
"""

BOT_WALL_HTML = """<!DOCTYPE html>
<html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<meta name="robots" content="noindex,nofollow"></head>
<body><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">Verifying you are human. This may take a few seconds.</h1>
<noscript>Enable JavaScript and cookies to continue</noscript>
</div></div></body></html>
"""


@dataclass
class _Route:
    """A registered path: its lasting answer plus modifiers layered on top of it."""

    answer: Response | None = None  # None: fall back to the unknown-path answer
    transient: deque[Response] = field(default_factory=deque)  # served (and used up) first
    delay: float = 0.0
    head_allowed: bool = True


class OriginServer(StandInServer):
    """A company website whose routes the test registers; unknown paths answer 404.

    Registering methods can be combined on one path in any order: ``page()``, ``redirect()``,
    ``gone()``, ``soft404()`` and ``bot_wall()`` set what the path lastingly answers, while
    ``rate_limited()``/``unavailable()`` queue failures served first, and ``slow()``/``no_head()``
    modify it. A query string is part of the route only if it was registered with one.

    With ``soft_404=True`` unknown paths answer 200 with the not-found page, like sites whose
    single-page app renders its own "Page not found".
    """

    def __init__(self, *, soft_404: bool = False, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.soft_404 = soft_404
        self._routes: dict[str, _Route] = {}

    def url_for(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return self.url + path

    # -- registering routes ------------------------------------------------------------------

    def page(
        self,
        path: str,
        body: bytes | str,
        mimetype: str = "text/html",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Serve ``body``. A str body is sent as UTF-8 and says so in Content-Type.

        If ``headers`` carries an ETag or Last-Modified, a matching If-None-Match or
        If-Modified-Since gets 304, so conditional re-checks can be tested.
        """
        if isinstance(body, str):
            body = body.encode("utf-8")
            if "charset" not in mimetype:
                mimetype += "; charset=utf-8"
        self._set(path, Response(status, body, {"Content-Type": mimetype, **(headers or {})}))

    def pdf(self, path: str, text: str) -> bytes:
        """Serve a PDF whose extracted text contains ``text``; returns the PDF bytes."""
        data = make_pdf(text)
        self.page(path, data, "application/pdf")
        return data

    def redirect(self, path: str, to: str, status: int = 301) -> None:
        """Redirect ``path`` to ``to`` (absolute or relative); chain calls to build chains."""
        body = f'<html><body>Moved to <a href="{to}">{to}</a></body></html>'
        self._set(path, html_response(body, status, Location=to))

    def gone(self, path: str, status: int = 410) -> None:
        """Answer ``status`` (410 Gone by default) with a short error page."""
        self._set(path, html_response("<html><body><h1>Gone</h1></body></html>", status))

    def soft404(self, path: str) -> None:
        """Answer 200 with the site's "Page not found" page: a soft 404."""
        self._set(path, html_response(NOT_FOUND_HTML))

    def bot_wall(self, path: str, status: int = 403) -> None:
        """Answer like a Cloudflare managed challenge (what openai.com pages return to bots)."""
        headers = {
            "Content-Type": "text/html; charset=UTF-8",
            "Server": "cloudflare",
            "cf-mitigated": "challenge",
            "cf-ray": "8f3a1b2c3d4e5f60-AMS",
            "Cache-Control": "private, max-age=0, no-store, no-cache, must-revalidate",
            "Set-Cookie": "__cf_bm=stand-in-token; path=/; HttpOnly; SameSite=None",
        }
        self._set(path, Response(status, BOT_WALL_HTML.encode("utf-8"), headers))

    def rate_limited(self, path: str, retry_after: int | str | None = 2, times: int = 1) -> None:
        """Answer 429 (with Retry-After, seconds or an HTTP-date) ``times`` times, then normally."""
        self._queue(path, _failure(429, "Too Many Requests", retry_after), times)

    def unavailable(self, path: str, times: int = 1, retry_after: int | str | None = None) -> None:
        """Answer 503 ``times`` times, then normally."""
        self._queue(path, _failure(503, "Service Unavailable", retry_after), times)

    def slow(self, path: str, seconds: float) -> None:
        """Sleep ``seconds`` before answering ``path`` (still counted as in flight)."""
        with self.lock:
            self._route(path).delay = seconds

    def no_head(self, path: str) -> None:
        """Answer HEAD with 405 Method Not Allowed; GET keeps working."""
        with self.lock:
            self._route(path).head_allowed = False

    # -- answering ---------------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Response:
        route = self._routes.get(request.path) or self._routes.get(request.route)
        if route is None:
            return self._unknown()
        if request.method == "HEAD" and not route.head_allowed:
            answer: Response | None = Response(
                405, b"Method Not Allowed", {"Allow": "GET", "Content-Type": "text/plain"}
            )
        elif route.transient:
            answer = route.transient.popleft()
        else:
            answer = route.answer
        if answer is None:
            answer = self._unknown()
        elif request.method in ("GET", "HEAD") and _not_modified(request, answer):
            kept = {
                k: v for k, v in answer.headers.items() if k.lower() in ("etag", "last-modified")
            }
            answer = Response(304, b"", kept)
        return dataclasses.replace(answer, delay=route.delay)

    def _unknown(self) -> Response:
        return html_response(NOT_FOUND_HTML, 200 if self.soft_404 else 404)

    def _route(self, path: str) -> _Route:
        """The route registered at ``path`` (created if new); call with ``self.lock`` held."""
        if not path.startswith("/"):
            raise ValueError(f"routes are paths starting with '/', not {path!r}")
        return self._routes.setdefault(path, _Route())

    def _set(self, path: str, answer: Response) -> None:
        with self.lock:
            self._route(path).answer = answer

    def _queue(self, path: str, answer: Response, times: int) -> None:
        with self.lock:
            self._route(path).transient.extend([answer] * times)


def _failure(status: int, text: str, retry_after: int | str | None) -> Response:
    """A plain-text error answer, with Retry-After if given."""
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return Response(status, text, headers)


def _not_modified(request: RecordedRequest, answer: Response) -> bool:
    """Whether a conditional GET matches the answer's validators (RFC 9110 section 13)."""
    if answer.status != 200:
        return False
    etag, modified = answer.header("ETag"), answer.header("Last-Modified")
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        return etag is not None and (
            if_none_match.strip() == "*" or etag in [t.strip() for t in if_none_match.split(",")]
        )
    if_modified_since = request.headers.get("If-Modified-Since")
    return modified is not None and if_modified_since == modified


# --------------------------------------------------------------------------------------------
# PDFs.

_PDF_LINES_PER_PAGE = 50


def make_pdf(text: str, width: int = 80) -> bytes:
    """A small valid PDF whose text, as pypdf extracts it, contains ``text``.

    Written by hand so tests need nothing beyond pypdf to read it back. Paragraphs (lines of
    ``text``) are wrapped at ``width`` characters, one PDF text line each, so extraction yields
    line breaks where a long quote wraps, as in real PDFs. Helvetica with WinAnsiEncoding
    covers Latin-1 plus curly quotes and dashes; other characters become '?'. More than 50
    lines spill onto further pages.
    """
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(paragraph, width) or [""])
    pages = [lines[i : i + _PDF_LINES_PER_PAGE] for i in range(0, len(lines), _PDF_LINES_PER_PAGE)]

    # Objects: 1 catalog, 2 page tree, 3 font, then a (page, content stream) pair per page.
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, page_lines in enumerate(pages):
        shown = b"".join(b"(" + _pdf_string(line) + b") Tj T*\n" for line in page_lines)
        stream = b"BT\n/F1 11 Tf\n14 TL\n72 740 Td\n" + shown + b"ET"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _pdf_string(line: str) -> bytes:
    """``line`` as the inside of a PDF literal string in WinAnsiEncoding (cp1252)."""
    raw = line.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
