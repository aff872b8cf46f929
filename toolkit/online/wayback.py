"""The Wayback Machine: CDX lookups, raw captures, and Save Page Now 2.

Every path hangs off `[archive] wayback_url` (https://web.archive.org by default):
- `GET /cdx/search/cdx?url=...&output=json&fl=...`: captures of a URL (JSON rows, the
  first row a header). An exact capture is looked up with `from` = `to` = its timestamp.
- `GET /web/<timestamp>id_/<url>`: a capture's original bytes, with no replay toolbar.
- `POST /save` (`Authorization: LOW <access>:<secret>`) starts a capture job and
  `GET /save/status/<job_id>` reports on it; `GET /save/status/user` says how many
  captures the account may start now. Errors can arrive with HTTP 200, so the JSON
  `status` is read at every step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import requests

from .. import fields, urls
from ..answers import Maybe, UnexpectedAnswer, expect, parse_json
from ..diagnostics import printable
from ..retry import SYSTEM_CLOCK, Clock
from .fetch import Fetched, Fetcher

CDX_FIELDS = "timestamp,original,statuscode,mimetype,digest"


@dataclass(frozen=True)
class Capture:
    timestamp: str
    original: str
    status: int | None  # the HTTP status the archive saw, or None ("-" for revisits)
    mimetype: str


class ArchiveError(Exception):
    """The archive could not be asked (down, limiting, refusing): a message to show."""


CDX = "The archive's CDX server"
# Save Page Now's answers, as far as we read them (errors can come with HTTP 200).
_SPN_STATUS = {"status": Maybe(str), "status_ext": Maybe(object), "message": Maybe(object)}
_TIMESTAMP = re.compile(r"[0-9]{14}")


def _rows(data: bytes) -> list[Capture]:
    """The captures in a CDX answer: a list of rows of text, the first the header."""
    try:
        table = expect(parse_json(data or b"[]", CDX), [[(str, int)]], CDX)
    except UnexpectedAnswer as e:
        raise ArchiveError(str(e)) from None
    if not table:
        return []
    header, rows = table[0], table[1:]
    out = []
    for row in rows:
        if not row:
            continue
        values = {k: str(v) for k, v in zip(header, row, strict=False)}
        status = values.get("statuscode", "")
        out.append(
            Capture(
                values.get("timestamp", ""),
                values.get("original", ""),
                int(status) if status.isdigit() else None,
                values.get("mimetype", ""),
            )
        )
    return out


class Wayback:
    def __init__(self, base: str, fetcher: Fetcher):
        self.base = base.rstrip("/")
        self.fetcher = fetcher

    def cdx(self, url: str, **params: str) -> list[Capture]:
        query = urlencode({"url": url, "output": "json", "fl": CDX_FIELDS, **params})
        result = self.fetcher.fetch(f"{self.base}/cdx/search/cdx?{query}")
        if result.error or not result.ok:
            why = {
                "dns": "no such host; no network?",
                "connection": "could not connect",
                "timeout": "timed out",
                "retry-after": "it asks us to wait",
                "deadline": "the run's time ran out",
            }.get(result.error or "", f"HTTP {result.status}")
            raise ArchiveError(f"the archive's CDX server did not answer ({why})")
        return _rows(result.body)

    def exact(self, snapshot: urls.Snapshot) -> Capture | None:
        """The capture a snapshot URL names, if the archive has it."""
        assert snapshot.timestamp and snapshot.original
        for capture in self.cdx(
            snapshot.original, **{"from": snapshot.timestamp, "to": snapshot.timestamp}
        ):
            if capture.timestamp == snapshot.timestamp:
                return capture
        return None

    def raw(self, snapshot: urls.Snapshot):
        """The capture's original bytes (a Fetched; redirects not followed)."""
        url = snapshot.raw_url(self.base)
        if url is None:  # not a Wayback capture: it has no `id_` URL to ask
            return Fetched(snapshot.url, "GET", error="not a Wayback Machine capture")
        return self.fetcher.fetch(url, follow=False)

    def near(self, url: str, when: str | None) -> Capture | None:
        """A good (2xx) capture of `url`: the last on or before `when` (YYYYMMDD...),
        else the first after it; with no date, the latest."""
        good = {"filter": "statuscode:2.."}
        if when:
            before = self.cdx(url, to=when, limit="-1", **good)
            if before:
                return before[-1]
            after = self.cdx(url, **{"from": when}, limit="1", **good)
            return after[0] if after else None
        latest = self.cdx(url, limit="-1", **good)
        return latest[-1] if latest else None

    def snapshot_url(self, capture: Capture) -> str:
        return urls.wayback_url(self.base, capture.timestamp, capture.original)


# Save Page Now 2 ------------------------------------------------------------------------

TRANSIENT = {
    "bad-gateway",
    "gateway-timeout",
    "service-unavailable",
    "read-timeout",
    "protocol-error",
    "invalid-server-response",
    "too-many-requests",
    "browsing-timeout",
    "soft-time-limit-exceeded",
    "cannot-fetch",
    "celery",
    "job-failed",
    "no-browsers-available",
    "proxy-error",
    "capture-location-error",
    "internal-server-error",
}
STOP = {
    "user-session-limit",
    "max-daily-bandwidth",
    "max-daily-bandwidth-from-ip",
    "max-daily-bandwidth-host",
    "blocked-client-ip",
}


@dataclass
class SaveResult:
    status: str  # "saved" | "archived-today" | "failed" | "stop"
    timestamp: str | None = None
    original: str | None = None
    message: str = ""


class SavePageNow:
    """Requests new captures. Sends keys only to the configured archive."""

    def __init__(
        self,
        base: str,
        access: str,
        secret: str,
        *,
        poll_every: float = 5.0,
        poll_for: float = 180.0,
        timeout: float = 30.0,
        clock: Clock = SYSTEM_CLOCK,
    ):
        self.base = base.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"LOW {access}:{secret}", "Accept": "application/json"}
        )
        self.poll_every, self.poll_for, self.timeout = poll_every, poll_for, timeout
        self.clock = clock

    def _json(self, method: str, path: str, **kwargs) -> dict:
        try:
            response = self.session.request(
                method, f"{self.base}{path}", timeout=self.timeout, **kwargs
            )
        except requests.RequestException as e:
            raise ArchiveError(f"Save Page Now did not answer ({type(e).__name__})") from None
        if response.status_code == 401:
            raise ArchiveError(
                "Save Page Now refused the keys (401): check "
                "$WAYBACK_ACCESS_KEY and $WAYBACK_SECRET_KEY "
                "(https://archive.org/account/s3.php)"
            )
        unreadable: UnexpectedAnswer | None = None
        try:
            data = parse_json(response.content, "Save Page Now")
        except UnexpectedAnswer as e:
            data, unreadable = None, e
        if response.status_code == 429 or response.status_code >= 500:
            # Limits and outages stop the run; the JSON, when there is some, says which.
            said = ""
            if isinstance(data, dict) and data.get("status_ext"):
                code = str(data["status_ext"]).removeprefix("error:")
                said = printable(f" ({code}: {data.get('message') or code})")
            raise ArchiveError(
                f"Save Page Now answered HTTP {response.status_code}{said}; try later"
            )
        if unreadable is not None:
            raise ArchiveError(str(unreadable))
        try:
            return expect(data, _SPN_STATUS, "Save Page Now")
        except UnexpectedAnswer as e:
            raise ArchiveError(str(e)) from None

    def available(self) -> int | None:
        """How many captures this account may start now (None if it will not say)."""
        data = self._json("GET", f"/save/status/user?_t={int(self.clock.wall())}")
        value = data.get("available")
        return int(value) if isinstance(value, (int, float)) else None

    def save(self, url: str, pdf: bool = False) -> SaveResult:
        form = {"url": url, "skip_first_archive": "1", "if_not_archived_within": "30d"}
        if pdf:
            form["force_get"] = "1"
        started = self._json("POST", "/save", data=form)
        failure = _failure(started)
        if failure or not started.get("job_id"):
            return failure or SaveResult("failed", message=started.get("message", "no job"))
        job = quote(str(started["job_id"]), safe="")
        deadline = self.clock.now() + self.poll_for
        while self.clock.now() < deadline:
            status = self._json("GET", f"/save/status/{job}")
            if status.get("status") == "success":
                return _saved(status, url)
            failure = _failure(status)
            if failure:
                return failure
            self.clock.sleep(self.poll_every)
        return SaveResult(
            "failed",
            message=f"the capture was still pending after "
            f"{self.poll_for:.0f} s; run `toolkit archive` again later",
        )


def _saved(status: dict, url: str) -> SaveResult:
    """A finished job's capture; its timestamp and URL go into the writer's files, so
    anything but 14 digits and an http(s) URL is refused, not recorded."""
    timestamp, original = status.get("timestamp"), status.get("original_url") or url
    if not (isinstance(timestamp, str) and _TIMESTAMP.fullmatch(timestamp)):
        raise ArchiveError(str(UnexpectedAnswer("Save Page Now", "a capture without its time")))
    if not (isinstance(original, str) and fields.is_http_url(original)):
        raise ArchiveError(str(UnexpectedAnswer("Save Page Now", "a capture of no URL")))
    return SaveResult("saved", timestamp, original)


def _failure(data: dict) -> SaveResult | None:
    if data.get("status") != "error":
        return None
    code = printable(str(data.get("status_ext", "")).removeprefix("error:"))
    message = printable(str(data.get("message") or code))
    if code == "too-many-daily-captures":
        return SaveResult("archived-today", message=message)
    if code in STOP:
        return SaveResult("stop", message=f"{code}: {message}")
    kind = "for now" if code in TRANSIENT else ""
    return SaveResult("failed", message=f"{code}: {message}" + (f" ({kind})" if kind else ""))
