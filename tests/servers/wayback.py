"""A stand-in for web.archive.org: the CDX search API, replay, and Save Page Now 2.

The archive is the citation checker's source of truth, so its client must be tested against
the behaviours the real service has (see shared/reference/archive-linkcheck.md, section 1):
CDX's header row, folded URL variants and inclusive 1-14 digit ``from``/``to``; replay's 302
to the closest capture for any timestamp that is not exactly a stored one, and 404 when there
is none; ``id_`` raw bytes versus toolbar-wrapped replay; SPN2's keys, asynchronous jobs,
errors reported with HTTP 200, and index lag. Point the client's base URL at ``server.url``;
all paths are the real ones.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

from .base import RecordedRequest, Response, StandInServer, html_response

__all__ = [
    "CDX_FIELDS",
    "Capture",
    "LivePage",
    "SaveJob",
    "WaybackServer",
    "digest_of",
    "parse_timedelta",
    "urlkey",
]

CDX_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")

NOT_ARCHIVED_HTML = """<!DOCTYPE html>
<html><head><title>Wayback Machine</title></head>
<body><p>Hrm.</p><p>The Wayback Machine has not archived that URL.</p></body></html>
"""

_JSON_TYPE = "application/json"

LOGIN_REQUIRED = "You need to be logged in to use Save Page Now."

_DEFAULT_MESSAGES = {
    "error:too-many-daily-captures": (
        "This URL has been already captured 10 times today. Please try again tomorrow. "
        'Please email us at "info@archive.org" if you would like to discuss this more.'
    ),
    "error:user-session-limit": (
        "You have already reached the limit of active sessions. "
        "Please wait a few minutes and try again."
    ),
    "error:invalid-host-resolution": "Couldn't resolve host for {url}.",
    "error:not-found": "The server cannot find the requested resource {url} (HTTP status=404).",
    "error:no-access": "Access to {url} is forbidden (HTTP status=403).",
}

# How SPN reports a target's own HTTP error when capture_all is off.
_TARGET_ERRORS = {
    401: "error:unauthorized",
    403: "error:no-access",
    404: "error:not-found",
    405: "error:method-not-allowed",
    410: "error:not-found",
    429: "error:too-many-requests",
    501: "error:not-implemented",
    502: "error:bad-gateway",
    503: "error:service-unavailable",
    504: "error:gateway-timeout",
}


def digest_of(body: bytes) -> str:
    """The CDX ``digest``: base32 of the SHA-1 of the payload as archived."""
    return base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def urlkey(url: str, *, fold_slash: bool = True) -> str:
    """The SURT-style key the CDX server sorts and matches by.

    It folds the variants the real index folds (scheme, default port, ``www.``, case, query
    order) and, with ``fold_slash``, a trailing slash: ``https://www.Example.com/a/?b=1&a=2``
    and ``http://example.com/a?a=2&b=1`` share the key ``com,example)/a?a=2&b=1``.
    """
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url.strip())
    host = re.sub(r"^www\d*\.", "", (parts.hostname or "").lower().rstrip("."))
    port = parts.port
    key = ",".join(reversed(host.split(".")))
    if port not in (None, 80, 443):
        key += f":{port}"
    path = parts.path or "/"
    if fold_slash:
        path = path.rstrip("/") or "/"
    key += ")" + path.lower()
    if parts.query:
        key += "?" + "&".join(sorted(parts.query.lower().split("&")))
    return key


_TIMEDELTA_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1, "": 1}


def parse_timedelta(text: str) -> dt.timedelta:
    """SPN2's ``if_not_archived_within`` duration: ``"3d 5h 20m"``, ``"1d"``, ``"120"`` (s)."""
    tokens = re.findall(r"(\d+)\s*([dhms]?)", text.lower())
    return dt.timedelta(seconds=sum(int(n) * _TIMEDELTA_UNITS[unit] for n, unit in tokens))


def _ts(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y%m%d%H%M%S")


def _pad(ts: str) -> str:
    """A 1-14 digit timestamp as 14 digits at the end of its period (pywb's convention).

    ``2024`` means the end of 2024 and ``9999`` the latest capture.
    """
    return ts + "29991231235959"[len(ts) :]


def _to_datetime(ts: str) -> dt.datetime:
    """A 14-digit timestamp as a UTC datetime, clamping impossible fields (``20240231``)."""
    ts = _pad(ts)
    year, month = max(1, int(ts[0:4])), min(max(1, int(ts[4:6])), 12)
    first_of_next = dt.date(year + month // 12, month % 12 + 1, 1) if year < 9999 else None
    last_day = (first_of_next - dt.timedelta(days=1)).day if first_of_next else 31
    return dt.datetime(
        year,
        month,
        min(max(1, int(ts[6:8])), last_day),
        min(int(ts[8:10]), 23),
        min(int(ts[10:12]), 59),
        min(int(ts[12:14]), 59),
        tzinfo=dt.timezone.utc,
    )


@dataclass
class Capture:
    """One archived capture, as the CDX index and replay see it."""

    original: str
    timestamp: str
    body: bytes
    mimetype: str = "text/html"
    status: int = 200
    redirect_to: str | None = None
    visible: bool = True  # False while "pending index" (SPN success, not yet in CDX/replay)

    @property
    def digest(self) -> str:
        return digest_of(self.body)

    @property
    def length(self) -> int:
        return len(self.body)

    @property
    def urlkey(self) -> str:
        return urlkey(self.original)

    @property
    def moment(self) -> dt.datetime:
        return _to_datetime(self.timestamp)

    def field(self, name: str) -> str:
        """A CDX field's value; CDX reports every field as a string."""
        if name == "statuscode":
            return str(self.status)
        return str(getattr(self, name))


@dataclass
class LivePage:
    """What SPN2 finds when it fetches a URL; ``final_url`` models redirects it followed."""

    body: bytes
    mimetype: str = "text/html"
    status: int = 200
    final_url: str | None = None


@dataclass
class SaveJob:
    """An SPN2 job; kept on ``server.jobs`` so tests can assert on what the client asked."""

    job_id: str
    url: str
    options: dict[str, str]
    created: dt.datetime  # by the server's clock
    pending_polls: int
    started: float = field(default_factory=time.monotonic)
    polls: int = 0
    result: dict[str, object] | None = None  # the final status payload, once known
    scripted_error: tuple[str, str | None] | None = None  # (status_ext, message)
    reuse: Capture | None = None  # a recent capture that if_not_archived_within returns

    def flag(self, name: str) -> bool:
        """Whether an option is on; SPN2 counts only ``1`` and ``on`` (not ``True``, ``01``)."""
        return self.options.get(name) in ("1", "on")

    @property
    def status(self) -> str:
        return "pending" if self.result is None else str(self.result["status"])


@dataclass
class _SaveFailure:
    status_ext: str | None
    http_status: int
    message: str | None
    retry_after: int | None


_REPLAY = re.compile(r"^/web/(?:(?P<ts>\d{1,14})(?P<flag>[a-z]{2}_)?/)?(?P<url>.+)$")
_CALENDAR = re.compile(r"^/web/\d{0,14}\*/")


class WaybackServer(StandInServer):
    """web.archive.org on 127.0.0.1: CDX, replay and SPN2 over one shared capture store.

    ``keys`` are the valid SPN2 ``(access, secret)`` pairs; ``auth_header`` gives the header
    for the first. A job answers ``pending`` for its first ``pending_polls`` status polls, then
    finishes (capturing the body registered with :meth:`set_live`, or returned by
    ``live_fetcher``). ``clock`` supplies "now" for new capture timestamps,
    ``if_not_archived_within`` and the daily counters. With ``index_lag = True``, SPN
    captures stay invisible to CDX and replay until :meth:`flush_index`, as observed right after
    a real ``success``.
    """

    server_header = "nginx"

    def __init__(
        self,
        *,
        keys: Iterable[tuple[str, str]] = (("test-access", "test-secret"),),
        pending_polls: int = 1,
        max_sessions: int = 5,
        daily_captures_limit: int = 100_000,
        per_url_daily_limit: int | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency=latency)
        self.keys = list(keys)
        self.pending_polls = pending_polls
        self.max_sessions = max_sessions
        self.daily_captures = 0
        self.daily_captures_limit = daily_captures_limit
        self.per_url_daily_limit = per_url_daily_limit
        self.clock: Callable[[], dt.datetime] = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.index_lag = False
        self.reuse_job_ids = True  # the same URL resubmitted within 1 h gets the same job back
        self.live_fetcher: Callable[[str], LivePage | None] | None = None
        self.jobs: dict[str, SaveJob] = {}
        self._captures: list[Capture] = []
        self._live: dict[str, LivePage] = {}
        self._save_failures: deque[_SaveFailure] = deque()
        self._job_failures: deque[tuple[str, str | None]] = deque()
        self._job_counter = 0

    # -- test set-up -------------------------------------------------------------------------

    @property
    def auth_header(self) -> str:
        """An ``Authorization`` value the server accepts."""
        access, secret = self.keys[0]
        return f"LOW {access}:{secret}"

    def add_capture(
        self,
        original_url: str,
        timestamp14: str,
        body: bytes | str,
        mimetype: str = "text/html",
        status: int = 200,
        redirect_to: str | None = None,
    ) -> Capture:
        """Store a capture (replacing one of the same URL and timestamp) and return it."""
        if not re.fullmatch(r"\d{14}", timestamp14):
            raise ValueError(f"capture timestamps are 14 digits, not {timestamp14!r}")
        if isinstance(body, str):
            body = body.encode("utf-8")
        capture = Capture(original_url, timestamp14, body, mimetype, status, redirect_to)
        with self.lock:
            self._captures = [
                c
                for c in self._captures
                if (c.original, c.timestamp) != (original_url, timestamp14)
            ]
            self._captures.append(capture)
        return capture

    def captures(self, url: str | None = None, *, include_hidden: bool = False) -> list[Capture]:
        """Stored captures (of ``url``'s folded variants, if given), oldest first."""
        key = urlkey(url) if url is not None else None
        with self.lock:
            found = [
                c
                for c in self._captures
                if (include_hidden or c.visible) and (key is None or c.urlkey == key)
            ]
        return sorted(found, key=lambda c: (c.urlkey, c.timestamp))

    def flush_index(self) -> None:
        """Make every pending-index capture visible to CDX and replay."""
        with self.lock:
            for capture in self._captures:
                capture.visible = True

    def set_live(
        self,
        url: str,
        body: bytes | str,
        mimetype: str = "text/html",
        status: int = 200,
        final_url: str | None = None,
    ) -> None:
        """What SPN2 will capture when asked to save ``url`` (or a folded variant of it)."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        with self.lock:
            self._live[urlkey(url)] = LivePage(body, mimetype, status, final_url)

    def fail_next_save(
        self,
        status_ext: str | None = "error:too-many-daily-captures",
        *,
        http_status: int = 200,
        message: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` ``POST /save`` calls fail before a job exists.

        With a ``status_ext`` the answer is JSON ``{"status": "error", "status_ext", "message"}``
        and no ``job_id`` (HTTP 200 by default, as observed in 2026). With ``status_ext=None``
        it is a bare HTTP ``http_status`` (e.g. 429 with ``retry_after``).
        """
        with self.lock:
            self._save_failures.extend(
                [_SaveFailure(status_ext, http_status, message, retry_after)] * times
            )

    def fail_next_job(
        self,
        status_ext: str = "error:invalid-host-resolution",
        *,
        message: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` jobs created end in ``status: error`` at status-poll time."""
        with self.lock:
            self._job_failures.extend([(status_ext, message)] * times)

    def snapshot_url(self, timestamp: str, original: str, flag: str = "") -> str:
        """``<server>/web/<timestamp><flag>/<original>``."""
        return f"{self.url}/web/{timestamp}{flag}/{original}"

    # -- dispatch ----------------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Response:
        path = request.route
        if path == "/cdx/search/cdx":
            return self._cdx(request)
        if path.startswith("/web/"):
            return self._replay(request)
        if path == "/save" and request.method == "POST":
            return self._save(request)
        if path == "/save/status/user":
            return self._user_status(request)
        if path == "/save/status/system":
            return _json({"status": "ok"})
        if path == "/save/status" and request.method == "POST":
            ids = ",".join(request.form().get("job_ids", []))
            return _json([self._poll(job_id) for job_id in ids.split(",") if job_id])
        if path.startswith("/save/status/"):
            return self._job_status(path.removeprefix("/save/status/"))
        if path.startswith("/save/"):  # the browser form: observed to 429 even with keys
            return html_response("<h1>Too Many Requests</h1>", 429)
        return html_response(NOT_ARCHIVED_HTML, 404)

    # -- CDX ---------------------------------------------------------------------------------

    def _cdx(self, request: RecordedRequest) -> Response:
        query = request.query

        def first(name: str, default: str = "") -> str:
            return query.get(name, [default])[0]

        url = first("url")
        if not url:
            return Response(400, "Missing required parameter: url")
        match_type = first("matchType", "exact")
        if url.endswith("*"):
            url, match_type = url.rstrip("*"), "prefix"
        if url.startswith("*."):
            url, match_type = url[2:], "domain"
        fields = [f for f in first("fl").split(",") if f] or list(CDX_FIELDS)
        unknown = [f for f in fields if f not in CDX_FIELDS]
        unknown += [
            f.lstrip("!").split(":")[0]
            for f in query.get("filter", [])
            if f.lstrip("!").split(":")[0] not in CDX_FIELDS
        ]
        if unknown:
            return Response(400, f"Unknown field(s): {','.join(unknown)}")
        try:
            filters = [
                (f.startswith("!"), *f.lstrip("!").split(":", 1)) for f in query.get("filter", [])
            ]
            patterns = [(negate, name, re.compile(rx)) for negate, name, rx in filters]
        except (TypeError, ValueError, re.error) as exc:
            return Response(400, f"Bad filter: {exc}")

        rows = [c for c in self.captures() if _matches(c, url, match_type)]
        low, high = first("from"), first("to")
        if low:
            rows = [c for c in rows if c.timestamp >= low.ljust(14, "0")]
        if high:
            rows = [c for c in rows if c.timestamp <= high.ljust(14, "9")]
        for negate, name, pattern in patterns:  # real CDX uses Java's matches(): whole value
            rows = [c for c in rows if bool(pattern.fullmatch(c.field(name))) != negate]
        for spec in query.get("collapse", []):
            rows = _collapse(rows, spec)
        closest = first("closest")
        if closest and first("sort") == "closest":
            target = _to_datetime(closest)
            rows.sort(key=lambda c: abs((c.moment - target).total_seconds()))
        rows = rows[int(first("offset", "0") or 0) :]
        limit = int(first("limit", "0") or 0)
        if limit > 0:
            rows = rows[:limit]
        elif limit < 0:
            rows = rows[limit:]

        table = [[c.field(f) for f in fields] for c in rows]
        if first("output") == "json":
            if not table:
                return _json([])
            body = "[" + ",\n".join(json.dumps(row) for row in [fields, *table]) + "]\n"
            return Response(200, body.encode(), {"Content-Type": _JSON_TYPE})
        return Response(200, "".join(" ".join(row) + "\n" for row in table))

    # -- replay ------------------------------------------------------------------------------

    def _replay(self, request: RecordedRequest) -> Response:
        if _CALENDAR.match(request.path):
            return html_response("<html><body>Wayback Machine calendar</body></html>")
        match = _REPLAY.match(request.path)
        if match is None:
            return html_response(NOT_ARCHIVED_HTML, 404)
        ts, flag = match["ts"], match["flag"] or ""
        url = re.sub(r"^(https?):/(?!/)", r"\1://", match["url"])  # "https:/x" from proxies
        captures = self.captures(url)
        if not captures:
            return html_response(NOT_ARCHIVED_HTML, 404)
        if ts is None:  # /web/<url>: a Memento TimeGate, latest unless Accept-Datetime says
            wanted = request.headers.get("Accept-Datetime")
            ts = _ts(parsedate_to_datetime(wanted)) if wanted else "9999"
        exact = [c for c in captures if c.timestamp == ts]
        if not exact:
            nearest = self._closest(captures, ts)
            return _redirect(
                f"/web/{nearest.timestamp}{flag}/{nearest.original}", {"Vary": "accept-datetime"}
            )
        capture = next((c for c in exact if c.original == url), exact[0])
        memento = {
            "Memento-Datetime": format_datetime(capture.moment, usegmt=True),
            "Link": f'<{capture.original}>; rel="original", '
            f'<{self.url}/web/{capture.original}>; rel="timegate"',
        }
        if 300 <= capture.status < 400 and capture.redirect_to:
            target = urljoin(capture.original, capture.redirect_to)
            landing = self.captures(target)
            where = self._closest(landing, ts) if landing else None
            location = (
                f"/web/{where.timestamp}{flag}/{where.original}"
                if where
                else f"/web/{ts}{flag}/{target}"
            )
            return _redirect(location, memento)
        headers = {"Content-Type": capture.mimetype, **memento}
        if flag == "id_" or not capture.mimetype.startswith("text/html"):
            return Response(capture.status, capture.body, headers)
        return Response(capture.status, self._with_toolbar(capture), headers)

    @staticmethod
    def _closest(captures: list[Capture], ts: str) -> Capture:
        target = _to_datetime(ts)
        return min(captures, key=lambda c: (abs((c.moment - target).total_seconds()), c.timestamp))

    def _with_toolbar(self, capture: Capture) -> bytes:
        """The capture as a browser sees it: links rewritten, a toolbar injected."""
        html = capture.body.decode("utf-8", "replace")
        html = re.sub(r'((?:href|src)=["\'])(https?://)', rf"\1/web/{capture.timestamp}/\2", html)
        toolbar = (
            f'<script src="/_static/js/wombat.js"></script>\n'
            f"<!-- BEGIN WAYBACK TOOLBAR INSERT -->\n"
            f'<div id="wm-ipp-base">Wayback Machine: captured {capture.timestamp} '
            f"from {capture.original}</div>\n<!-- END WAYBACK TOOLBAR INSERT -->\n"
        )
        body_tag = re.search(r"<body[^>]*>", html, re.IGNORECASE)
        at = body_tag.end() if body_tag else 0
        return (html[:at] + toolbar + html[at:]).encode("utf-8")

    # -- Save Page Now 2 ---------------------------------------------------------------------

    def _authorised(self, request: RecordedRequest) -> bool:
        match = re.fullmatch(
            r"LOW\s+([^:\s]+):(\S+)", (request.headers.get("Authorization") or "").strip()
        )
        return match is not None and (match[1], match[2]) in self.keys

    def _save(self, request: RecordedRequest) -> Response:
        if not self._authorised(request):
            return Response(401, LOGIN_REQUIRED)
        form = {k: v[-1] for k, v in request.form().items()}
        url = form.pop("url", "").strip()
        if self._save_failures:
            return _failure_response(self._save_failures.popleft(), url)
        if not url:
            return _error_json("error:invalid-url-syntax", "Invalid URL syntax.")
        if "://" not in url:
            url = "http://" + url
        if self._processing() >= self.max_sessions:
            return _error_json(
                "error:user-session-limit", _DEFAULT_MESSAGES["error:user-session-limit"], 429
            )
        now = self.clock()
        if self.per_url_daily_limit is not None:
            today = [c for c in self.captures(url) if c.moment.date() == now.date()]
            if len(today) >= self.per_url_daily_limit:
                return _error_json(
                    "error:too-many-daily-captures",
                    _DEFAULT_MESSAGES["error:too-many-daily-captures"],
                )
        job = self._job_for(url, form, now)
        payload: dict[str, object] = {"url": url, "job_id": job.job_id}
        if job.reuse is not None:
            minutes = int((now - job.reuse.moment).total_seconds() // 60)
            payload["message"] = (
                f"The same snapshot had been made {minutes} minutes ago. "
                "You can make new capture of this URL after 1 hour."
            )
        if "application/json" not in (request.headers.get("Accept") or ""):
            page = (
                f'<html><body><p>Saving page {url}</p><script>spn.watchJob("{job.job_id}",'
                f' "/_static/",6000);</script></body></html>'
            )
            return html_response(page)
        return _json(payload)

    def _job_for(self, url: str, options: dict[str, str], now: dt.datetime) -> SaveJob:
        """The job for a submission; the same URL within an hour gets the same job back."""
        key = urlkey(url)
        for job in self.jobs.values() if self.reuse_job_ids else ():
            if (
                urlkey(job.url) == key
                and job.status != "error"
                and now - job.created < dt.timedelta(hours=1)
            ):
                return job
        self._job_counter += 1
        job_id = "spn2-" + hashlib.sha1(f"{url} {self._job_counter}".encode()).hexdigest()
        job = SaveJob(job_id, url, options, now, self.pending_polls)
        if self._job_failures:
            job.scripted_error = self._job_failures.popleft()
        window = parse_timedelta(options.get("if_not_archived_within", "1h").split(",")[0])
        recent = [c for c in self.captures(url, include_hidden=True) if now - c.moment < window]
        if recent:
            job.reuse = recent[-1]
        self.jobs[job_id] = job
        return job

    def _job_status(self, job_id: str) -> Response:
        payload = self._poll(job_id)
        return _json(payload, 404 if payload.get("status_ext") == "error:job-not-found" else 200)

    def _poll(self, job_id: str) -> dict[str, object]:
        job = self.jobs.get(job_id)
        if job is None:
            return {
                "status": "error",
                "status_ext": "error:job-not-found",
                "job_id": job_id,
                "message": f"Job {job_id} not found.",
                "resources": [],
            }
        job.polls += 1
        if job.result is None and job.polls > job.pending_polls:
            job.result = self._finish(job)
        if job.result is None:
            return {"status": "pending", "job_id": job_id, "resources": []}
        return dict(job.result)

    def _finish(self, job: SaveJob) -> dict[str, object]:
        """Run the capture: scripted error, reused recent capture, or a new capture."""
        duration = round(time.monotonic() - job.started, 3)
        if job.scripted_error is not None:
            status_ext, message = job.scripted_error
            return _error_payload(status_ext, message, job)
        if job.reuse is not None:
            return {
                "status": "success",
                "job_id": job.job_id,
                "original_url": job.reuse.original,
                "timestamp": job.reuse.timestamp,
                "duration_sec": duration,
                "resources": [],
                "http_status": job.reuse.status,
            }
        live = self.live_fetcher(job.url) if self.live_fetcher else self._live.get(urlkey(job.url))
        if live is None:
            return _error_payload(
                "error:invalid-host-resolution",
                None,
                job,
                exception="[Errno -2] Name or service not known",
            )
        if live.status >= 400 and not job.flag("capture_all"):
            return _error_payload(_TARGET_ERRORS.get(live.status, "error:bad-gateway"), None, job)
        original = live.final_url or job.url
        timestamp = _ts(self.clock())
        taken = {c.timestamp for c in self.captures(original, include_hidden=True)}
        while timestamp in taken:  # two saves within a second: keep both captures
            timestamp = _ts(_to_datetime(timestamp) + dt.timedelta(seconds=1))
        capture = self.add_capture(original, timestamp, live.body, live.mimetype, live.status)
        capture.visible = not (self.index_lag or job.flag("delay_wb_availability"))
        self.daily_captures += 1
        return {
            "status": "success",
            "job_id": job.job_id,
            "original_url": original,
            "timestamp": timestamp,
            "duration_sec": duration,
            "resources": [],
            "http_status": live.status,
        }

    def _processing(self) -> int:
        return sum(1 for job in self.jobs.values() if job.result is None)

    def _user_status(self, request: RecordedRequest) -> Response:
        if not self._authorised(request):
            return Response(401, LOGIN_REQUIRED)
        processing = self._processing()
        return _json(
            {
                "available": max(0, self.max_sessions - processing),
                "processing": processing,
                "daily_captures": self.daily_captures,
                "daily_captures_limit": self.daily_captures_limit,
            }
        )


def _matches(capture: Capture, url: str, match_type: str) -> bool:
    """CDX ``matchType``: exact (folded variants), prefix, host or domain."""
    if match_type == "exact":
        return capture.urlkey == urlkey(url)
    if match_type == "prefix":
        return urlkey(capture.original, fold_slash=False).startswith(urlkey(url, fold_slash=False))
    host = urlkey(url).split(")")[0]
    captured_host = capture.urlkey.split(")")[0]
    if match_type == "host":
        return captured_host == host
    return captured_host == host or captured_host.startswith(host + ",")  # domain


def _collapse(rows: list[Capture], spec: str) -> list[Capture]:
    """``collapse=field[:N]``: drop rows whose field (first N chars) equals the previous row's."""
    name, _, chars = spec.partition(":")
    width = int(chars) if chars else None
    kept: list[Capture] = []
    previous: str | None = None
    for capture in rows:
        value = capture.field(name)[:width]
        if value != previous:
            kept.append(capture)
        previous = value
    return kept


def _redirect(location: str, headers: dict[str, str]) -> Response:
    return Response(302, b"", {"Location": location, **headers})


def _json(payload: object, status: int = 200) -> Response:
    """JSON as web.archive.org sends it: ``application/json``, no charset."""
    return Response(status, json.dumps(payload).encode("utf-8"), {"Content-Type": _JSON_TYPE})


def _error_json(status_ext: str, message: str, http_status: int = 200) -> Response:
    return _json({"status": "error", "status_ext": status_ext, "message": message}, http_status)


def _failure_response(failure: _SaveFailure, url: str) -> Response:
    if failure.status_ext is None:
        response = html_response(
            f"<html><body><h1>HTTP {failure.http_status}</h1></body></html>", failure.http_status
        )
    else:
        message = failure.message or _DEFAULT_MESSAGES.get(
            failure.status_ext, f"Stand-in error {failure.status_ext}."
        ).format(url=url)
        response = _error_json(failure.status_ext, message, failure.http_status)
    if failure.retry_after:
        response.headers["Retry-After"] = str(failure.retry_after)
    return response


def _error_payload(
    status_ext: str, message: str | None, job: SaveJob, exception: str | None = None
) -> dict[str, object]:
    text = message or _DEFAULT_MESSAGES.get(
        status_ext, f"Stand-in error {status_ext} for {{url}}."
    ).format(url=job.url)
    payload: dict[str, object] = {
        "status": "error",
        "status_ext": status_ext,
        "job_id": job.job_id,
        "message": text,
        "resources": [],
    }
    if exception or status_ext == "error:invalid-host-resolution":
        payload["exception"] = exception or "[Errno -2] Name or service not known"
    return payload
