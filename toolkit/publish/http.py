"""HTTP for the publishing clients: one place for timeouts, retries and failure messages.

Rules (the retry decisions are `toolkit.retry`'s, with the publishing policy below):
- Reads and updates (GET, PUT, an `updatePost`) may be retried: on 429 only after the
  server's `Retry-After`, on transient 5xx and timeouts after a short backoff. A create is
  never retried: a second attempt could make a second draft.
- A refused connection is not retried either: with no network or the host down, every
  later request would fail the same way, so the run stops at once.
- Every failure becomes a `ServiceError` whose message is one line saying what happened
  and what to do, and never contains a credential.
- A bot wall (the edge's `x-vercel-mitigated` or `cf-mitigated` header) is never retried,
  whatever the status: the challenge wants a browser, and asking again only prolongs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from .. import __version__, environment
from ..retry import RetryPolicy, bot_wall

USER_AGENT = f"toolkit/{__version__} (newsletter publishing; +https://pypi.org/project/toolkit/)"
PUBLISH_TIMEOUT = 30.0  # seconds, unless $TOOLKIT_HTTP_TIMEOUT says otherwise
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
    return environment.read("TOOLKIT_HTTP_TIMEOUT") or PUBLISH_TIMEOUT


def default_policy() -> RetryPolicy:
    """Two retries; timeouts but not refused connections; 429 only when told when."""
    return RetryPolicy(
        retries=2, errors=frozenset({"timeout"}), needs_retry_after=frozenset({429})
    ).with_environment()


@dataclass
class Http:
    """A requests session with our User-Agent, a timeout, and the retry rules above."""

    service: str  # "Substack" or "LessWrong", for messages
    timeout: float = field(default_factory=default_timeout)
    policy: RetryPolicy = field(default_factory=default_policy)

    def __post_init__(self) -> None:
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    def send(self, method: str, url: str, *, retry: bool, **kwargs) -> requests.Response:
        """`retry=False` for a create: it is sent once, whatever happens."""
        host = urlsplit(url).netloc
        policy, attempt = self.policy, 0
        while True:
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.Timeout:
                wait = policy.next_wait(attempt, error="timeout") if retry else None
                if wait is not None:
                    attempt += 1
                    policy.clock.sleep(wait)
                    continue
                raise ServiceError(
                    f"{self.service} ({host}) did not answer within {self.timeout:g} s; "
                    + ("nothing was sent twice; " if not retry else "")
                    + "try again later"
                ) from None
            except requests.ConnectionError:
                raise ServiceError(
                    f"cannot reach {self.service} ({host}): no network, or the "
                    "host is down; check your connection and run the command again",
                    fatal=True,
                ) from None
            # Before the retry rules: waiting and retrying cannot pass a bot wall.
            if bot_wall(response.headers.get):
                raise bot_wall_error(self.service)
            status = response.status_code
            wait = (
                policy.next_wait(attempt, status=status, header=response.headers.get)
                if retry
                else None
            )
            if wait is not None:
                attempt += 1
                policy.clock.sleep(wait)
                continue
            if status == 429:
                asked = policy.server_wait(status, response.headers.get("Retry-After"))
                when = f"wait {asked:.0f} s" if asked is not None else "wait a while"
                raise ServiceError(
                    f"{self.service} is limiting requests (429); {when} and run the command again",
                    fatal=True,
                )
            if status >= 500:
                raise ServiceError(f"{self.service} had a server error ({status}); try again later")
            return response
