"""The one retry policy (toolkit.retry), alone and as the checker and publishing use it.

Waits go through a fake clock that records them and lets no time pass, so the schedule
(1, 2, 4 s of backoff; a `Retry-After` sat out) is checked to the second without a test
sleeping for it. The clients still speak real HTTP to stand-ins on 127.0.0.1.
"""

from __future__ import annotations

import email.utils
import threading

import pytest
from click.testing import CliRunner
from conftest import online_project

from toolkit.cli import cli
from toolkit.online.fetch import Fetcher, Limits
from toolkit.publish.http import Http, ServiceError, default_policy
from toolkit.retry import RetryPolicy, retry_after


class FakeClock:
    """A clock whose sleeps are recorded and pass no real time."""

    def __init__(self) -> None:
        self.monotonic = 1000.0
        self.epoch = 1_750_000_000.0  # the wall clock at monotonic 0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        return self.monotonic

    def wall(self) -> float:
        return self.epoch + self.monotonic

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.monotonic += max(0.0, seconds)


def exact(clock: FakeClock, **changes) -> RetryPolicy:
    """The default policy with jitter pinned to its middle (each wait exactly its base)."""
    return RetryPolicy(clock=clock, random=lambda: 0.5, **changes)


# The policy alone -------------------------------------------------------------------------


def test_backoff_doubles_and_jitter_stays_within_half_either_way():
    policy = RetryPolicy(random=lambda: 0.5)
    assert [policy.wait_before(n) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    low, high = RetryPolicy(random=lambda: 0.0), RetryPolicy(random=lambda: 0.999999)
    assert low.wait_before(3) == 2.0 and 5.99 < high.wait_before(3) < 6.0


def test_retry_after_is_read_as_seconds_or_an_http_date():
    assert retry_after("7") == 7.0 and retry_after(" 0 ") == 0.0
    when = email.utils.formatdate(1_750_000_090, usegmt=True)
    assert retry_after(when, now=1_750_000_000) == 90.0
    assert retry_after(when, now=1_750_000_500) == 0.0  # a date gone by: at once
    assert retry_after(None) is None and retry_after("soon") is None
    assert retry_after("-3") is None and retry_after("Mon, 99 Foo 2025") is None


@pytest.mark.parametrize(
    "outcome,wait",
    [
        ({"status": 503}, 1.0),
        ({"status": 502}, 1.0),
        ({"error": "timeout"}, 1.0),
        ({"error": "connection"}, 1.0),
        ({"status": 404}, None),  # asked again, still a 404
        ({"status": 501}, None),
        ({"error": "dns"}, None),
        ({"status": 429, "headers": {"retry-after": "30"}}, 30.0),
        ({"status": 503, "headers": {"retry-after": "0"}}, 0.0),
        ({"status": 429, "headers": {"retry-after": "61"}}, None),  # beyond max_wait
        ({"status": 429, "headers": {"cf-mitigated": "challenge"}}, None),  # a bot wall
        ({"status": 503, "headers": {"x-vercel-mitigated": "challenge"}}, None),
    ],
)
def test_what_is_retried_and_after_how_long(outcome, wait):
    headers = outcome.pop("headers", {})
    policy = RetryPolicy(random=lambda: 0.5)
    assert policy.next_wait(0, header=headers.get, **outcome) == wait
    assert policy.next_wait(policy.retries, header=headers.get, **outcome) is None


def test_publishings_policy_retries_429_only_when_told_when_and_never_a_refusal():
    policy = default_policy()
    assert policy.retries == 2
    assert policy.next_wait(0, status=429, header={}.get) is None
    assert policy.next_wait(0, status=429, header={"retry-after": "5"}.get) == 5.0
    assert policy.next_wait(0, error="connection") is None
    assert policy.next_wait(0, error="timeout") is not None


def test_the_environment_sets_backoff_and_rejects_nonsense(monkeypatch):
    monkeypatch.setenv("TOOLKIT_RETRY_BACKOFF", "0.25")
    assert RetryPolicy().with_environment().backoff == 0.25
    assert Limits.from_settings({"timeout": 2}).policy.backoff == 0.25
    monkeypatch.setenv("TOOLKIT_HTTP_TIMEOUT", "0.5")
    assert Limits.from_settings({"timeout": 2}).timeout == 0.5  # the environment wins
    assert Http("Substack").timeout == 0.5
    monkeypatch.delenv("TOOLKIT_HTTP_TIMEOUT")
    assert Limits.from_settings({"timeout": 2}).timeout == 2


@pytest.mark.parametrize("name", ["TOOLKIT_RETRY_BACKOFF", "TOOLKIT_HTTP_TIMEOUT"])
@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
def test_a_bad_value_in_the_environment_is_a_usage_error(tmp_path, wayback, name, value):
    online_project(tmp_path, wayback.url)
    result = CliRunner().invoke(
        cli, ["--root", str(tmp_path), "check", "--online"], env={name: value}
    )
    assert result.exit_code == 2, result.output
    assert f"${name} is `{value}`; it must be a number of seconds" in result.output
    assert "Traceback" not in result.output and wayback.requests == []


# The link checker ------------------------------------------------------------------------


def test_the_checker_backs_off_1_2_4_seconds_then_gives_up(origin):
    clock = FakeClock()
    origin.unavailable("/down", times=10)
    fetcher = Fetcher(Limits(policy=exact(clock)))
    result = fetcher.fetch(origin.url_for("/down"))
    assert result.status == 503
    assert len(origin.requests_to("GET", "/down")) == 4  # the first try and three retries
    assert clock.sleeps == [1.0, 2.0, 4.0]


def test_a_retry_after_holds_back_the_whole_host_not_just_the_url(origin):
    clock = FakeClock()
    origin.rate_limited("/a", retry_after=30, times=1)
    origin.page("/a", "<title>A</title>")
    origin.page("/b", "<title>B</title>")
    fetcher = Fetcher(Limits(policy=exact(clock)))
    assert fetcher.fetch(origin.url_for("/a")).status == 200
    assert clock.sleeps == [30.0]  # the server's word, not the 1 s backoff
    origin.rate_limited("/a", retry_after=20, times=1)
    assert fetcher.fetch(origin.url_for("/a"), retries=0).status == 429
    assert fetcher.fetch(origin.url_for("/b")).status == 200  # another URL, same host
    assert clock.sleeps == [30.0, 20.0]


def test_a_retry_after_beyond_the_longest_wait_is_given_up_at_once(origin):
    clock = FakeClock()
    origin.rate_limited("/a", retry_after=3600, times=5)
    fetcher = Fetcher(Limits(policy=exact(clock)))
    assert fetcher.fetch(origin.url_for("/a")).error == "retry-after"
    assert len(origin.requests_to("GET", "/a")) == 1 and clock.sleeps == []


def test_a_bot_wall_is_never_retried_by_the_checker(origin):
    clock = FakeClock()
    origin.bot_wall("/walled", status=429)
    fetcher = Fetcher(Limits(policy=exact(clock)))
    assert fetcher.fetch(origin.url_for("/walled")).status == 429
    assert len(origin.requests_to("GET", "/walled")) == 1 and clock.sleeps == []


def test_the_deadline_is_read_on_the_policys_clock(origin):
    clock = FakeClock()
    origin.unavailable("/down", times=10)
    fetcher = Fetcher(Limits(deadline=2.5, policy=exact(clock)))
    assert fetcher.fetch(origin.url_for("/down")).error == "deadline"
    assert len(origin.requests_to("GET", "/down")) == 2 and clock.sleeps == [1.0, 2.0]


# Publishing ------------------------------------------------------------------------------


def test_publishing_backs_off_on_5xx_and_sits_out_retry_after(origin):
    clock = FakeClock()
    http = Http("Substack", timeout=5, policy=exact(clock, retries=2))
    origin.unavailable("/x", times=1)
    origin.rate_limited("/x", retry_after=7, times=1)
    origin.page("/x", "fine")
    assert http.send("GET", origin.url_for("/x"), retry=True).status_code == 200
    assert clock.sleeps == [1.0, 7.0]
    assert len(origin.requests_to("GET", "/x")) == 3


def test_publishing_never_retries_a_create_or_a_bot_wall(origin):
    clock = FakeClock()
    http = Http("Substack", timeout=5, policy=exact(clock, retries=2))
    origin.unavailable("/create", times=1)
    with pytest.raises(ServiceError, match=r"server error \(503\)"):
        http.send("POST", origin.url_for("/create"), retry=False)
    origin.bot_wall("/walled", status=429)
    with pytest.raises(ServiceError, match="bot protection"):
        http.send("GET", origin.url_for("/walled"), retry=True)
    assert len(origin.requests_to("POST", "/create")) == 1
    assert len(origin.requests_to("GET", "/walled")) == 1 and clock.sleeps == []


def test_publishing_says_how_long_a_limit_asks_to_wait(origin):
    clock = FakeClock()
    http = Http("Substack", timeout=5, policy=exact(clock, retries=2))
    origin.rate_limited("/x", retry_after=600, times=1)
    with pytest.raises(ServiceError, match=r"limiting requests \(429\); wait 600 s"):
        http.send("GET", origin.url_for("/x"), retry=True)
    assert clock.sleeps == []
