"""When to ask a service again, and how long to wait first: one policy for every client.

The link checker (`online.fetch`), the archive's clients and the publishing clients
(`publish.http`) all decide retries here, so the rules are written once:

- **What is transient.** No answer at all (a timeout; for the checker also a refused or
  dropped connection) and the statuses in `RetryPolicy.transient`: 408, 429, 500, 502,
  503 and 504 by default. Nothing else is ever retried: a 404 asked again is still a 404.
- **Never retried, whatever the status:** an answer from an edge's bot protection (the
  `cf-mitigated` or `x-vercel-mitigated` header): the challenge wants a browser, and asking
  again only prolongs it. And a create (the caller says so): a second attempt could make a
  second draft.
- **How many times.** `retries` more after the first attempt (3 for the checker, 2 for
  publishing).
- **Backoff.** Before retry n, `backoff * factor ** (n - 1)` seconds (1, 2, 4... by
  default), each spread at random by +-`jitter` of itself so clients that failed together
  do not come back together.
- **Retry-After.** On 429 and 503 a `Retry-After` (delay-seconds or an HTTP date, RFC 9110
  section 10.2.3) replaces the backoff, when it asks for no more than `max_wait` (60 s);
  longer means "try later", and the client stops and says so. Some statuses
  (`needs_retry_after`; publishing's 429) are retried only when the server says when.
- **Time is injected.** Every wait goes through a `Clock` (`now`, `wall`, `sleep`); the
  default is the system's. Tests pass a clock that records and skips its sleeps, or set
  millisecond values through `$TOOLKIT_RETRY_BACKOFF` and `$TOOLKIT_HTTP_TIMEOUT`
  (declared, with every other variable, in `toolkit.environment`).

Each client keeps what is its own: the checker's HEAD-then-GET rule and its per-host
not-before after a `Retry-After` (see `online.fetch`), publishing's messages (see
`publish.http`).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

from . import environment

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
RETRY_AFTER_STATUSES = frozenset({429, 503})

# Set by Cloudflare's and Vercel's edges when they challenge or block a client: the edge,
# not the site, answered, and its status (often 403 or 429) says nothing about the page.
BOT_WALL_HEADERS = ("cf-mitigated", "x-vercel-mitigated")


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a clock that only goes forward (for intervals and deadlines)."""
        ...

    def wall(self) -> float:
        """Seconds since the epoch (to read a `Retry-After` given as a date)."""
        ...

    def sleep(self, seconds: float) -> None: ...


@dataclass(frozen=True)
class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


def bot_wall(header: Callable[[str], str | None]) -> bool:
    """Whether an answer came from an edge's bot protection (`header` looks one up)."""
    return any((header(name) or "").strip() for name in BOT_WALL_HEADERS)


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value (delay-seconds or an HTTP date), if it
    says; `now` is the wall clock a date is measured from."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    transient: frozenset[int] = TRANSIENT_STATUSES
    errors: frozenset[str] = frozenset({"timeout", "connection"})  # no answer, retried
    retries: int = 3  # after the first attempt
    backoff: float = 1.0  # seconds before the first retry
    factor: float = 2.0  # each later retry waits this many times longer
    jitter: float = 0.5  # each wait is spread at random by this fraction of itself
    max_wait: float = 60.0  # the longest Retry-After sat out
    honours_retry_after: frozenset[int] = RETRY_AFTER_STATUSES
    needs_retry_after: frozenset[int] = frozenset()  # retried only when the server says when
    clock: Clock = field(default=SYSTEM_CLOCK, compare=False)
    random: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def with_environment(self, env: Mapping[str, str] | None = None) -> RetryPolicy:
        """This policy with `$TOOLKIT_RETRY_BACKOFF` applied, when it is set."""
        backoff = environment.read("TOOLKIT_RETRY_BACKOFF", env)
        return self if backoff is None else replace(self, backoff=backoff)

    def wait_before(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1 for the first), with jitter."""
        base = self.backoff * self.factor ** (retry - 1)
        return base * (1 - self.jitter + 2 * self.jitter * self.random())

    def server_wait(self, status: int | None, value: str | None) -> float | None:
        """What the server's `Retry-After` asks of us, if `status` is one we read it on."""
        if status not in self.honours_retry_after:
            return None
        return retry_after(value, self.clock.wall())

    def is_transient(
        self,
        *,
        status: int | None = None,
        error: str | None = None,
        header: Callable[[str], str | None] = lambda name: None,
    ) -> bool:
        """Whether this outcome may be asked again (before counting attempts)."""
        if error is not None:
            return error in self.errors
        return status in self.transient and not bot_wall(header)

    def next_wait(
        self,
        attempt: int,
        *,
        status: int | None = None,
        error: str | None = None,
        header: Callable[[str], str | None] = lambda name: None,
    ) -> float | None:
        """Seconds to wait before asking again after attempt number `attempt` (0 for the
        first) ended this way, or None: do not ask again. A `Retry-After` longer than
        `max_wait` is None too; `server_wait` says how long it was."""
        if attempt >= self.retries or not self.is_transient(
            status=status, error=error, header=header
        ):
            return None
        asked = None if error is not None else self.server_wait(status, header("retry-after"))
        if asked is not None:
            return asked if asked <= self.max_wait else None
        if status in self.needs_retry_after:
            return None
        return self.wait_before(attempt + 1)
