"""How `check --online` hands links to its threads, and what its lean send keeps of requests'
session: cookies across a redirect and between links."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from werkzeug import Request, Response

from toolkit.online.citations import _run_per_host
from toolkit.online.fetch import Fetcher


def _tasks(hosts: dict[str, int]) -> list[tuple[str, str, bool]]:
    return [
        ("live", f"http://{host}/page/{i}", False) for host, n in hosts.items() for i in range(n)
    ]


def test_every_task_runs_once_and_no_host_exceeds_its_limit():
    # More slots than links on one host, fewer on another, and a host with a limit of its own.
    tasks = _tasks({"a.test": 1, "b.test": 9, "archive.test": 5})
    ran: Counter = Counter()
    in_flight: Counter = Counter()
    most: Counter = Counter()
    lock = threading.Lock()

    def work(task):
        host = task[1].split("/")[2]
        with lock:
            ran[task] += 1
            in_flight[host] += 1
            most[host] = max(most[host], in_flight[host])
        time.sleep(0.01)  # let the others pile up, so a broken limit would show
        with lock:
            in_flight[host] -= 1

    _run_per_host(tasks, work, lambda host: 1 if host == "archive.test" else 3, connections=64)
    assert sorted(ran) == sorted(tasks) and set(ran.values()) == {1}
    assert most["b.test"] <= 3 and most["archive.test"] == 1


def test_an_error_in_a_worker_reaches_the_caller():
    def work(task):
        if task[1].endswith("/3"):
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        _run_per_host(_tasks({"a.test": 6}), work, lambda host: 2, connections=4)


def test_cookies_follow_a_redirect_and_later_links_on_the_site(httpserver):
    """A site that sets a cookie on a redirect and turns away requests without it."""

    def gate(request: Request) -> Response:
        return Response(status=302, headers={"Location": "/page", "Set-Cookie": "ok=1; Path=/"})

    def page(request: Request) -> Response:
        return Response("<title>Page</title>", 200 if request.cookies.get("ok") else 403)

    httpserver.expect_request("/gate").respond_with_handler(gate)
    httpserver.expect_request("/page").respond_with_handler(page)
    httpserver.expect_request("/other").respond_with_handler(page)
    fetcher = Fetcher()
    first = fetcher.fetch(httpserver.url_for("/gate"), "HEAD", want_body=False)
    assert (first.status, first.final_url) == (200, httpserver.url_for("/page"))
    assert fetcher.fetch(httpserver.url_for("/other"), "GET").status == 200
    assert Fetcher().fetch(httpserver.url_for("/other"), "GET").status == 403  # no cookie yet
