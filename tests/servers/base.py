"""A tiny real HTTP server for stand-in services: request log, scripted faults, latency and a
concurrency meter.

Why real HTTP: the toolkit's clients must be tested through their real network code
(timeouts, retries, headers, cookies, connection pooling), so the stand-ins listen on
127.0.0.1 and nothing is mocked. Subclasses implement `handle`; this base does threading,
keep-alive HTTP/1.1, logging, faults, latency and metering.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from requests.structures import CaseInsensitiveDict

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
ServerT = TypeVar("ServerT", bound="StandInServer")


@dataclass
class RecordedRequest:
    """One request as the server received it, kept so tests can assert on what was sent."""

    method: str
    path: str  # with the query string, exactly as sent
    headers: CaseInsensitiveDict[str]
    body: bytes
    json: Any  # the parsed JSON body, or None when the body is empty or not JSON
    time: float  # time.time() when the request arrived
    fault: Fault | None = None  # the scripted fault that answered it, if any
    end: float | None = None  # time.time() as the response was written (or dropped)
    status: int | None = None  # the status answered; None if stopped before answering
    client: tuple[str, int] | None = None  # the peer's (address, port): one per connection

    @property
    def route(self) -> str:
        """The path without its query string."""
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        """The query string, parsed."""
        return parse_qs(urlsplit(self.path).query, keep_blank_values=True)

    def form(self) -> dict[str, list[str]]:
        """The body parsed as `application/x-www-form-urlencoded`."""
        return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)


@dataclass
class Response:
    """What a handler answers; `body` may be bytes, str, or anything JSON-serialisable.

    `delay` is slept after the handler returns and before the response is written, outside
    `StandInServer.lock` (so slow answers overlap) and counted as in flight.
    The server adds Server, Date and Content-Length headers unless given.
    """

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def header(self, name: str) -> str | None:
        """The value of header `name` (case-insensitive), if set."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        """The body as bytes, plus headers with a Content-Type that matches it."""
        headers = dict(self.headers)
        lower = {k.lower() for k in headers}
        if isinstance(self.body, bytes):
            data = self.body
            default_type = "application/octet-stream"
        elif isinstance(self.body, str):
            data = self.body.encode("utf-8")
            default_type = "text/plain; charset=utf-8"
        else:
            data = json.dumps(self.body).encode("utf-8")
            default_type = JSON_TYPE
        if data and "content-type" not in lower:
            headers["Content-Type"] = default_type
        return data, headers


def json_response(body: Any, status: int = 200, **headers: str) -> Response:
    """A JSON response (also for bodies that are str, which Response would send as text)."""
    data = json.dumps(body).encode("utf-8")
    return Response(status, data, {"Content-Type": JSON_TYPE, **headers})


def html_response(body: str, status: int = 200, **headers: str) -> Response:
    """An HTML page, sent as UTF-8."""
    return Response(status, body, {"Content-Type": HTML_TYPE, **headers})


@dataclass
class Hold:
    """A request kept waiting at the server until the test lets it through, so a test can
    act while the request is known to be in flight (kill the client, say) without guessing
    a delay. Every wait on it is the test's to bound."""

    arrived: threading.Event = field(default_factory=threading.Event)  # it came in
    released: threading.Event = field(default_factory=threading.Event)  # set by the test
    handled: threading.Event = field(default_factory=threading.Event)  # its effect happened

    def release(self) -> None:
        self.released.set()

    def wait_for_release(self, stopping: threading.Event) -> bool:
        """Called by the server; False when it stopped instead."""
        self.arrived.set()
        while not self.released.wait(0.05):
            if stopping.is_set():
                return False
        return not stopping.is_set()


@dataclass
class Fault:
    """A one-shot scripted behaviour, used by the first request it matches.

    `status=None` means "only delay (or hold), then answer normally"; otherwise the server
    answers with status/headers/body after the delay and the real handler never runs.
    """

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    method: str | None = None  # match this HTTP method only (case-insensitive)
    path: str | None = None  # match this path (no query); a trailing "*" matches a prefix
    hold: Hold | None = None  # wait for the test's release before answering

    def matches(self, method: str, route: str) -> bool:
        """Whether this fault applies to a request with this method and path."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.path is None:
            return True
        if self.path.endswith("*"):
            return route.startswith(self.path[:-1])
        return route == self.path

    def response(self) -> Response:
        """The canned answer; with no body given, the status's reason phrase as text."""
        assert self.status is not None
        body = self.body
        if body is None:
            try:
                body = HTTPStatus(self.status).phrase
            except ValueError:
                body = ""
        return Response(self.status, body, dict(self.headers))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # bursts of concurrent test clients must not be refused
    stand_in: StandInServer


def _shut_down(httpd: _HTTPServer) -> None:
    """`httpd.shutdown()`, without waiting out the serving loop's poll interval: the loop
    looks at the request only when its select() returns, and a connection makes it return
    now (a suite starts and stops hundreds of these)."""
    asking = threading.Thread(target=httpd.shutdown, daemon=True)
    asking.start()
    while asking.is_alive():
        with contextlib.suppress(OSError):
            socket.create_connection(httpd.server_address[:2], timeout=1).close()
        asking.join(0.005)


class _Handler(BaseHTTPRequestHandler):
    """Hands each request to the owning stand-in, which reads it and writes the answer."""

    protocol_version = "HTTP/1.1"  # keep-alive, like the real services; clients pool connections
    timeout = 30  # idle keep-alive connections must not pin threads forever
    server: _HTTPServer

    def _serve(self) -> None:
        self.server.stand_in._serve(self)

    # CONNECT too: a stand-in proxy must see (and log) the tunnels asked for to https hosts.
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve
    do_CONNECT = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet; the request log is the record."""


class StandInServer:
    """Base class: an HTTP/1.1 server on 127.0.0.1:<free port>, serving from a daemon thread.

    Nothing listens until start(); use as a context manager (`with OriginServer() as server:`)
    or call start()/stop(). Handlers run one at a time under `self.lock`, so subclasses need no
    locking of their own for state they touch only in `handle` and in helpers that also take
    the lock.

    Every request is logged (`requests`, `requests_to`) and metered: it counts as in flight
    from its arrival until its response is written, including `latency`, scripted delays and
    `Response.delay`, so `max_concurrent` is what a real host would have seen. (The books
    close just before the response's bytes go out, so a client holding its answer always
    finds `in_flight`, `end` and `status` up to date.)
    """

    server_header = "StandIn/1.0"  # the Server header, unless a response sets its own

    def __init__(self, *, latency: float = 0.0) -> None:
        self.lock = threading.RLock()
        #: Seconds to sleep before answering every request (counted as in flight).
        self.latency = latency
        #: The most requests in flight at once since construction or the last reset_meter().
        self.max_concurrent = 0
        #: Exceptions raised inside `handle` (answered as 500). Leaving a `with` block that
        #: recorded any fails the test, unless `handler_errors_expected` is set.
        self.handler_errors: list[str] = []
        #: Opt-out for a test that makes `handle` raise on purpose (and then checks
        #: `handler_errors` itself).
        self.handler_errors_expected = False
        self._records = threading.Lock()  # log, faults and meter; never held while handling
        self._idle = threading.Condition(self._records)  # notified when nothing is in flight
        self._log: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._in_flight = 0
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: Set before start() to serve HTTPS with this context (its certificate and key).
        self.tls: ssl.SSLContext | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self: ServerT) -> ServerT:
        """Bind to a free port and serve in a background thread; returns the server."""
        if self._httpd is not None:
            raise RuntimeError("server is already running")
        self._stopping.clear()
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.stand_in = self
        if self.tls is not None:  # each connection's handshake happens at accept()
            self._httpd.socket = self.tls.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            args=(0.05,),
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; wakes any request sleeping in a delay."""
        self._stopping.set()
        if self._httpd is not None:
            _shut_down(self._httpd)
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self: ServerT) -> ServerT:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        """Stop; then, unless an exception is already on its way out, fail if `handle`
        raised (a crashed stand-in answers 500, which a client may well shrug off)."""
        self.stop()
        if exc_type is None and self.handler_errors and not self.handler_errors_expected:
            errors = "\n".join(self.handler_errors)
            raise AssertionError(
                f"{type(self).__name__}.handle raised {len(self.handler_errors)} time(s) "
                f"(set handler_errors_expected = True if the test wants that):\n{errors}"
            )

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._httpd is None:
            raise RuntimeError("server is not running")
        return self._httpd.server_address[1]

    @property
    def host(self) -> str:
        """What a client sends as the Host header, e.g. 127.0.0.1:54321."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (no trailing slash)."""
        return f"{'https' if self.tls else 'http'}://{self.host}"

    # -- request log and concurrency meter ---------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._records:
            return list(self._log)

    def requests_to(
        self, method: str | None = None, path: str | None = None
    ) -> list[RecordedRequest]:
        """Logged requests matching method and path (same matching rules as faults).

        `path` is compared with the route (no query string); a trailing "*" matches a prefix.
        """
        probe = Fault(method=method, path=path)
        return [r for r in self.requests if probe.matches(r.method, r.route)]

    def clear_log(self) -> None:
        """Forget logged requests (not state, not queued faults, not the meter)."""
        with self._records:
            self._log.clear()

    @property
    def in_flight(self) -> int:
        """Requests being handled right now."""
        with self._records:
            return self._in_flight

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is in flight (answered or dropped); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def reset_meter(self) -> None:
        """Start a fresh measurement: forget the log and the recorded maximum.

        Requests in flight stay counted.
        """
        with self._records:
            self._log.clear()
            self.max_concurrent = self._in_flight

    # -- scripted faults ---------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        *,
        method: str | None = None,
        path: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next matching request with this status instead of handling it."""
        self._push(Fault(status, dict(headers or {}), body, delay, method, path))

    def delay_next(
        self, seconds: float, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Sleep before answering the next matching request normally (to trip client timeouts)."""
        self._push(Fault(None, {}, None, seconds, method, path))

    def hold_next(self, *, method: str | None = None, path: str | None = None) -> Hold:
        """Keep the next matching request waiting until `hold.release()`, then answer it
        normally; `hold.arrived` and `hold.handled` tell the test where it is."""
        hold = Hold()
        self._push(Fault(None, {}, None, 0.0, method, path, hold))
        return hold

    def clear_faults(self) -> None:
        """Drop faults that have not fired yet."""
        with self._records:
            self._faults.clear()

    @property
    def pending_faults(self) -> list[Fault]:
        """Faults still waiting for a matching request."""
        with self._records:
            return list(self._faults)

    def _push(self, fault: Fault) -> None:
        with self._records:
            self._faults.append(fault)

    # -- the subclass hook -------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Response:
        """Answer one request; called with `self.lock` held."""
        raise NotImplementedError

    # -- plumbing ----------------------------------------------------------------------

    def _serve(self, h: _Handler) -> None:
        if self._stopping.is_set():  # a kept-alive connection used after stop()
            h.close_connection = True
            return
        with self._records:
            self._in_flight += 1
            self.max_concurrent = max(self.max_concurrent, self._in_flight)
        request: RecordedRequest | None = None
        try:
            request = self._receive(h)
            response = self._answer(request)
            if response is None:  # shutting down mid-delay: drop the connection
                h.close_connection = True
                return
            self._send(h, request, response)
        except OSError:  # the client gave up (e.g. timed out during a delay)
            h.close_connection = True
        finally:
            if request is None or request.end is None:  # not answered: close the books now
                self._done(request, None)

    def _done(self, request: RecordedRequest | None, status: int | None) -> None:
        """Close a request's log entry and take it off the meter.

        Runs just before the response's bytes go out: bookkeeping after the write would race
        with a client that already has its answer and checks `in_flight` or `requests`.
        """
        if request is not None:
            request.status = status
            request.end = time.time()
        with self._records:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.notify_all()

    def _receive(self, h: _Handler) -> RecordedRequest:
        """Read the request, log it, and attach the scripted fault it uses up, if any."""
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length > 0 else b""
        parsed: Any = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        request = RecordedRequest(
            method=h.command,
            path=h.path,
            headers=CaseInsensitiveDict(h.headers.items()),
            body=body,
            json=parsed,
            time=time.time(),
            client=h.client_address[:2],
        )
        with self._records:
            for i, fault in enumerate(self._faults):
                if fault.matches(request.method, request.route):
                    request.fault = self._faults.pop(i)
                    break
            self._log.append(request)
        return request

    def _answer(self, request: RecordedRequest) -> Response | None:
        """The response after latency and delays, or None if the server stopped meanwhile."""
        fault = request.fault
        wait = self.latency + (fault.delay if fault is not None else 0.0)
        if wait > 0 and self._stopping.wait(wait):
            return None
        hold = fault.hold if fault is not None else None
        if hold is not None and not hold.wait_for_release(self._stopping):
            return None
        if fault is not None and fault.status is not None:
            return fault.response()
        with self.lock:
            try:
                response = self.handle(request)
            except Exception as exc:  # a bug in the stand-in: make it loud, not a hang
                self.handler_errors.append(traceback.format_exc())
                response = Response(500, f"stand-in server error: {exc!r}")
        if hold is not None:
            hold.handled.set()
        if response.delay > 0 and self._stopping.wait(response.delay):
            return None
        return response

    def _send(self, h: _Handler, request: RecordedRequest, response: Response) -> None:
        data, headers = response.encoded()
        names = {name.lower() for name in headers}
        h.send_response_only(response.status)
        if "server" not in names:
            h.send_header("Server", self.server_header)
        if "date" not in names:
            h.send_header("Date", h.date_time_string())
        for name, value in headers.items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(data)))  # headers are buffered until end_headers
        self._done(request, response.status)
        h.end_headers()
        if request.method != "HEAD" and response.status not in (204, 304):
            h.wfile.write(data)
        h.wfile.flush()
