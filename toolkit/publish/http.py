"""HTTP for the publishing clients: one place for timeouts, retries and failure messages.

Rules:
- Reads and updates (GET, PUT, an `updatePost`) may be retried: on 429 after the server's
  `Retry-After`, on 5xx and timeouts after a short backoff. A create is never retried: a
  second attempt could make a second draft.
- Every failure becomes a `ServiceError` whose message is one line saying what happened
  and what to do, and never contains a credential.
- A bot wall (the edge's `x-vercel-mitigated` or `cf-mitigated` header) is never retried,
  whatever the status: the challenge wants a browser, and asking again only prolongs it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from .. import __version__, environment
from ..online.fetch import bot_wall, retry_after

USER_AGENT = f"toolkit/{__version__} (newsletter publishing; +https://pypi.org/project/toolkit/)"
MAX_WAIT = 60.0  # the longest Retry-After we sit out; beyond it we stop and say when to retry
PASTE_READY = {"Substack": "drafts/substack/<slug>.html", "LessWrong": "drafts/lesswrong/<slug>.md"}


class ServiceError(Exception):
    """A failure to report to the writer as is (one line, no secrets)."""

    def __init__(self, message: str, fatal: bool = False):
        super().__init__(message)
        self.fatal = fatal  # True: every further request would fail the same way


def bot_wall_error(service: str) -> ServiceError:
    paste = PASTE_READY.get(service, "the file under drafts/")
    return ServiceError(
        f"{service}'s edge is challenging scripts right now (bot protection); "
        f"try later, or paste {paste} into the editor",
        fatal=True,
    )


def default_timeout() -> float:
    """Seconds to wait for an answer: $TOOLKIT_HTTP_TIMEOUT, else 30."""
    return environment.read("TOOLKIT_HTTP_TIMEOUT")


@dataclass
class Http:
    """A requests session with our User-Agent, a timeout, and the retry rules above."""

    service: str  # "Substack" or "LessWrong", for messages
    timeout: float = field(default_factory=default_timeout)
    retries: int = 2
    backoff: float = 1.0

    def __post_init__(self) -> None:
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    def send(self, method: str, url: str, *, retry: bool, **kwargs) -> requests.Response:
        host = urlsplit(url).netloc
        attempt = 0
        while True:
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.Timeout:
                if retry and attempt < self.retries:
                    attempt += 1
                    time.sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                raise ServiceError(
                    f"{self.service} ({host}) did not answer within {self.timeout:.0f} s; "
                    + ("nothing was sent twice; " if not retry else "")
                    + "try again later"
                ) from None
            except requests.ConnectionError:
                raise ServiceError(
                    f"cannot reach {self.service} ({host}): no network, or the "
                    "host is down; check your connection and run publish again",
                    fatal=True,
                ) from None
            # Before the 429 rules: waiting and retrying cannot pass a bot wall.
            if bot_wall(response.headers.get):
                raise bot_wall_error(self.service)
            if response.status_code == 429:
                wait = retry_after(response.headers.get("Retry-After"))
                if retry and attempt < self.retries and wait is not None and wait <= MAX_WAIT:
                    attempt += 1
                    time.sleep(wait)
                    continue
                when = f"wait {wait:.0f} s" if wait is not None else "wait a while"
                raise ServiceError(
                    f"{self.service} is limiting requests (429); {when} and run publish again",
                    fatal=True,
                )
            if response.status_code >= 500:
                if retry and attempt < self.retries:
                    attempt += 1
                    time.sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                raise ServiceError(
                    f"{self.service} had a server error ({response.status_code}); try again later"
                )
            return response
