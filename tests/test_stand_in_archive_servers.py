"""Tests of the Wayback and origin stand-ins themselves, over real HTTP.

The checker's tests trust these servers to behave like web.archive.org and like hostile or
quirky company websites (shared/reference/archive-linkcheck.md, sections 1 and 3); these tests
pin that behaviour down so a regression in a stand-in cannot pass as a checker bug or fix.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Iterator

import pypdf
import pytest
import requests
from servers.origin import OriginServer, make_pdf
from servers.wayback import WaybackServer, digest_of, parse_timedelta, urlkey

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
POLICY = "https://openai.com/policies/usage-policies/"
PAGE_2024 = b"<html><body><p>We will run evaluations.</p></body></html>"
PAGE_2025 = b"<html><body><p>We may run evaluations.</p></body></html>"


@pytest.fixture
def wayback() -> Iterator[WaybackServer]:
    with WaybackServer(clock=lambda: NOW) as server:
        server.add_capture(POLICY, "20240603125126", PAGE_2024)
        server.add_capture(
            "http://www.openai.com/policies/usage-policies", "20250301000000", PAGE_2025
        )
        server.add_capture(POLICY, "20250401000000", b"Not found", status=404)
        server.add_capture(
            POLICY, "20250501000000", b"%PDF-1.4 not html", mimetype="application/pdf"
        )
        yield server
        assert not server.handler_errors, server.handler_errors


@pytest.fixture
def origin() -> Iterator[OriginServer]:
    with OriginServer() as server:
        yield server
        assert not server.handler_errors, server.handler_errors


def cdx(server: WaybackServer, **params: str | list[str]) -> requests.Response:
    return requests.get(server.url + "/cdx/search/cdx", params=params, timeout=5)


def cdx_json(server: WaybackServer, **params: str | list[str]) -> list[list[str]]:
    response = cdx(server, output="json", **params)
    assert response.status_code == 200
    return response.json()


def get(url: str, headers: dict[str, str] | None = None) -> requests.Response:
    """One GET that does not follow redirects, so tests see the 3xx itself."""
    return requests.get(url, headers=headers, allow_redirects=False, timeout=5)


# --------------------------------------------------------------------------------------------
# CDX


def test_cdx_json_has_the_header_row_first_and_honours_fl(wayback: WaybackServer) -> None:
    rows = cdx_json(wayback, url=POLICY)
    assert rows[0] == [
        "urlkey",
        "timestamp",
        "original",
        "mimetype",
        "statuscode",
        "digest",
        "length",
    ]
    assert rows[1] == [
        "com,openai)/policies/usage-policies",
        "20240603125126",
        POLICY,
        "text/html",
        "200",
        digest_of(PAGE_2024),
        str(len(PAGE_2024)),
    ]
    picked = cdx_json(wayback, url=POLICY, fl="statuscode,timestamp")
    assert picked[0] == ["statuscode", "timestamp"]
    assert picked[1:] == [
        ["200", "20240603125126"],
        ["200", "20250301000000"],
        ["404", "20250401000000"],
        ["200", "20250501000000"],
    ]


def test_cdx_digest_is_base32_sha1_of_the_body() -> None:
    assert digest_of(b"") == "3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ"  # SHA-1 of nothing, base32
    assert len(digest_of(PAGE_2024)) == 32


def test_cdx_folds_variants_but_reports_the_stored_original(wayback: WaybackServer) -> None:
    for variant in (
        "http://openai.com/policies/usage-policies",
        "https://www.openai.com/policies/usage-policies/",
        "openai.com/policies/usage-policies",
    ):
        rows = cdx_json(wayback, url=variant, fl="original")
        assert [r[0] for r in rows[1:]] == [
            POLICY,
            "http://www.openai.com/policies/usage-policies",
            POLICY,
            POLICY,
        ]
    assert urlkey("https://www.Example.com:443/a/?b=1&a=2") == "com,example)/a?a=2&b=1"


def test_cdx_from_and_to_are_inclusive_prefixes(wayback: WaybackServer) -> None:
    def stamps(**params: str) -> list[str]:
        return [r[0] for r in cdx_json(wayback, url=POLICY, fl="timestamp", **params)[1:]]

    assert stamps(**{"from": "2025"}) == ["20250301000000", "20250401000000", "20250501000000"]
    assert stamps(to="2024") == ["20240603125126"]
    assert stamps(**{"from": "202503", "to": "202504"}) == ["20250301000000", "20250401000000"]
    assert stamps(**{"from": "20240603125126", "to": "20240603125126"}) == ["20240603125126"]


def test_cdx_filters_are_anded_whole_value_regexes(wayback: WaybackServer) -> None:
    ok = cdx_json(wayback, url=POLICY, fl="timestamp", filter="statuscode:200")
    assert [r[0] for r in ok[1:]] == ["20240603125126", "20250301000000", "20250501000000"]
    not_html = cdx_json(
        wayback, url=POLICY, fl="timestamp", filter=["statuscode:200", "!mimetype:text/html"]
    )
    assert not_html[1:] == [["20250501000000"]]
    assert cdx_json(wayback, url=POLICY, filter="statuscode:20") == []  # matches(), not find()
    assert cdx(wayback, url=POLICY, filter="nosuchfield:x").status_code == 400


def test_cdx_limit_takes_the_first_or_last_rows(wayback: WaybackServer) -> None:
    first = cdx_json(wayback, url=POLICY, fl="timestamp", limit="1")
    last = cdx_json(wayback, url=POLICY, fl="timestamp", limit="-1")
    assert first == [["timestamp"], ["20240603125126"]]
    assert last == [["timestamp"], ["20250501000000"]]
    # The reference's citation query: last good capture on or before the access date.
    good = cdx_json(
        wayback,
        url=POLICY,
        fl="timestamp,statuscode",
        filter="statuscode:200",
        **{"from": "2025", "to": "20250415"},
        limit="-1",
    )
    assert good == [["timestamp", "statuscode"], ["20250301000000", "200"]]


def test_cdx_empty_json_and_plain_text_output(wayback: WaybackServer) -> None:
    assert cdx_json(wayback, url="https://example.com/never") == []
    text = cdx(wayback, url=POLICY, fl="timestamp,statuscode", limit="2").text
    assert text == "20240603125126 200\n20250301000000 200\n"
    assert cdx(wayback, url="https://example.com/never").text == ""


def test_cdx_collapse_closest_and_match_types(wayback: WaybackServer) -> None:
    wayback.add_capture(POLICY, "20250601000000", b"%PDF-1.4 not html", mimetype="application/pdf")
    collapsed = cdx_json(wayback, url=POLICY, fl="timestamp", collapse="digest")
    assert [r[0] for r in collapsed[1:]] == [
        "20240603125126",
        "20250301000000",
        "20250401000000",
        "20250501000000",
    ]
    nearest = cdx_json(
        wayback, url=POLICY, fl="timestamp", closest="20250410", sort="closest", limit="2"
    )
    assert [r[0] for r in nearest[1:]] == ["20250401000000", "20250501000000"]
    wayback.add_capture("https://openai.com/index/", "20240101000000", b"home")
    wayback.add_capture("https://help.openai.com/x", "20240101000000", b"help")
    assert len(cdx_json(wayback, url="openai.com/policies/*")) == 1 + 5
    assert len(cdx_json(wayback, url="openai.com", matchType="host")) == 1 + 6
    assert len(cdx_json(wayback, url="*.openai.com")) == 1 + 7


# --------------------------------------------------------------------------------------------
# Replay


def test_partial_timestamp_redirects_to_the_closest_full_one(wayback: WaybackServer) -> None:
    response = get(wayback.url + "/web/202406/" + POLICY)
    assert response.status_code == 302
    assert response.headers["Location"] == "/web/20240603125126/" + POLICY
    # A partial timestamp means the end of its period (as in pywb), so "2024" lands on the
    # March 2025 capture, not June 2024: the ts in Location must always be checked.
    year = get(wayback.url + "/web/2024/" + POLICY)
    assert year.headers["Location"] == (
        "/web/20250301000000/http://www.openai.com/policies/usage-policies"
    )
    latest = get(wayback.url + "/web/" + POLICY)
    assert latest.headers["Location"] == "/web/20250501000000/" + POLICY
    assert (
        get(wayback.url + "/web/9999/" + POLICY).headers["Location"] == latest.headers["Location"]
    )


def test_mismatched_full_timestamp_redirects_before_or_after(wayback: WaybackServer) -> None:
    after = get(wayback.url + "/web/20240101000000id_/" + POLICY)
    assert after.status_code == 302
    assert after.headers["Location"] == "/web/20240603125126id_/" + POLICY
    before = get(wayback.url + "/web/20250302000000/" + POLICY)
    assert before.headers["Location"] == (
        "/web/20250301000000/http://www.openai.com/policies/usage-policies"
    )
    followed = requests.get(wayback.url + "/web/20240101000000id_/" + POLICY, timeout=5)
    assert followed.status_code == 200 and followed.content == PAGE_2024


def test_no_capture_at_all_is_404(wayback: WaybackServer) -> None:
    for path in (
        "/web/2024/https://example.com/never",
        "/web/https://example.com/never",
        "/web/20240603125126id_/https://example.com/never",
    ):
        response = get(wayback.url + path)
        assert response.status_code == 404
        assert "has not archived that URL" in response.text


def test_id_flag_returns_the_raw_bytes_and_plain_replay_adds_a_toolbar(
    wayback: WaybackServer,
) -> None:
    raw = get(wayback.snapshot_url("20240603125126", POLICY, "id_"))
    assert raw.status_code == 200
    assert raw.content == PAGE_2024
    assert raw.headers["Content-Type"] == "text/html"
    assert raw.headers["Memento-Datetime"] == "Mon, 03 Jun 2024 12:51:26 GMT"
    replay = get(wayback.snapshot_url("20240603125126", POLICY))
    assert replay.status_code == 200
    assert "wm-ipp-base" in replay.text and "We will run evaluations." in replay.text
    assert replay.content != PAGE_2024
    pdf = get(wayback.snapshot_url("20250501000000", POLICY, "id_"))
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content == b"%PDF-1.4 not html"
    captured_404 = get(wayback.snapshot_url("20250401000000", POLICY, "id_"))
    assert captured_404.status_code == 404 and captured_404.content == b"Not found"


def test_a_captured_redirect_replays_as_302_to_the_targets_closest_capture(
    wayback: WaybackServer,
) -> None:
    wayback.add_capture(
        "https://openai.com/usage-policies",
        "20240601000000",
        b"",
        status=301,
        redirect_to="/policies/usage-policies/",
    )
    response = get(
        wayback.snapshot_url("20240601000000", "https://openai.com/usage-policies", "id_")
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/web/20240603125126id_/" + POLICY
    rows = cdx_json(wayback, url="https://openai.com/usage-policies", fl="statuscode")
    assert rows == [["statuscode"], ["301"]]


def test_timegate_honours_accept_datetime(wayback: WaybackServer) -> None:
    response = get(
        wayback.url + "/web/" + POLICY, headers={"Accept-Datetime": "Mon, 01 Jul 2024 00:00:00 GMT"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/web/20240603125126/" + POLICY


# --------------------------------------------------------------------------------------------
# Save Page Now 2


def save(
    server: WaybackServer, url: str, auth: str | None = None, **options: str
) -> requests.Response:
    headers = {"Accept": "application/json"}
    if auth is not None:
        headers["Authorization"] = auth
    return requests.post(
        server.url + "/save", data={"url": url, **options}, headers=headers, timeout=5
    )


def status(server: WaybackServer, job_id: str) -> dict[str, object]:
    response = requests.get(f"{server.url}/save/status/{job_id}", timeout=5)
    return response.json()


def test_spn2_requires_keys(wayback: WaybackServer) -> None:
    for auth in (None, "LOW test-access:wrong", "Bearer test-access:test-secret"):
        response = save(wayback, "https://example.com/", auth)
        assert response.status_code == 401
        assert "You need to be logged in to use Save Page Now." in response.text
    user = requests.get(wayback.url + "/save/status/user", timeout=5)
    assert user.status_code == 401
    assert wayback.jobs == {}


def test_spn2_job_goes_pending_then_success_and_the_capture_appears(wayback: WaybackServer) -> None:
    url = "https://x.ai/documents/rmf.pdf"
    wayback.pending_polls = 2
    wayback.set_live(url, b"%PDF-1.4 live", "application/pdf")
    response = save(
        wayback,
        url,
        wayback.auth_header,
        skip_first_archive="1",
        if_not_archived_within="30d",
        force_get="1",
        capture_all="True",
    )
    assert response.status_code == 200
    job_id = response.json()["job_id"]
    assert response.json() == {"url": url, "job_id": job_id}
    assert job_id.startswith("spn2-") and len(job_id) == 45
    job = wayback.jobs[job_id]
    assert job.flag("force_get") and job.flag("skip_first_archive")
    assert not job.flag("capture_all")  # only "1" and "on" count as on

    assert status(wayback, job_id)["status"] == "pending"
    assert status(wayback, job_id)["status"] == "pending"
    assert cdx_json(wayback, url=url) == []
    done = status(wayback, job_id)
    assert done["status"] == "success"
    assert done["timestamp"] == "20260102030405" and done["original_url"] == url
    assert done["job_id"] == job_id and done["resources"] == []
    assert isinstance(done["duration_sec"], float)
    assert status(wayback, job_id) == done  # finished jobs keep answering the same

    rows = cdx_json(wayback, url=url, fl="timestamp,mimetype,digest")
    assert rows[1:] == [["20260102030405", "application/pdf", digest_of(b"%PDF-1.4 live")]]
    assert get(wayback.snapshot_url("20260102030405", url, "id_")).content == b"%PDF-1.4 live"


def test_spn2_resubmitting_within_an_hour_returns_the_same_job(wayback: WaybackServer) -> None:
    wayback.set_live("https://example.com/", "<html>live</html>")
    first = save(wayback, "https://example.com/", wayback.auth_header).json()["job_id"]
    again = save(wayback, "https://example.com/", wayback.auth_header).json()["job_id"]
    assert first == again


def test_spn2_if_not_archived_within_returns_the_recent_capture(wayback: WaybackServer) -> None:
    wayback.add_capture("https://example.com/", "20260102000000", b"earlier today")
    wayback.set_live("https://example.com/", b"now")
    response = save(
        wayback, "https://example.com/", wayback.auth_header, if_not_archived_within="1d"
    )
    assert "The same snapshot had been made 184 minutes ago" in response.json()["message"]
    done = status(wayback, response.json()["job_id"])
    done = status(wayback, response.json()["job_id"])
    assert done["status"] == "success" and done["timestamp"] == "20260102000000"
    assert len(wayback.captures("https://example.com/")) == 1
    assert parse_timedelta("3d 5h 20m") == dt.timedelta(days=3, hours=5, minutes=20)
    assert parse_timedelta("120") == dt.timedelta(seconds=120)


def test_spn2_errors_with_http_200_at_capture_time(wayback: WaybackServer) -> None:
    wayback.fail_next_save()  # error:too-many-daily-captures
    response = save(wayback, "https://example.com/", wayback.auth_header)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "error" and body["status_ext"] == "error:too-many-daily-captures"
    assert "job_id" not in body and "captured 10 times today" in body["message"]

    wayback.fail_next_save(None, http_status=429, retry_after=60)
    throttled = save(wayback, "https://example.com/", wayback.auth_header)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "60"


def test_spn2_session_and_per_url_limits(wayback: WaybackServer) -> None:
    wayback.max_sessions = 1
    wayback.set_live("https://example.com/a", b"a")
    assert save(wayback, "https://example.com/a", wayback.auth_header).status_code == 200
    busy = save(wayback, "https://example.com/b", wayback.auth_header)
    assert busy.status_code == 429 and busy.json()["status_ext"] == "error:user-session-limit"

    wayback.max_sessions, wayback.per_url_daily_limit = 5, 1
    wayback.add_capture("https://example.com/c", "20260102010000", b"c")
    capped = save(
        wayback, "https://example.com/c", wayback.auth_header, if_not_archived_within="1s"
    )
    assert capped.status_code == 200
    assert capped.json()["status_ext"] == "error:too-many-daily-captures"


def test_spn2_errors_at_status_time(wayback: WaybackServer) -> None:
    wayback.fail_next_job("error:invalid-host-resolution")
    job_id = save(wayback, "http://example5123.com/", wayback.auth_header).json()["job_id"]
    assert status(wayback, job_id)["status"] == "pending"
    failed = status(wayback, job_id)
    assert failed["status"] == "error" and failed["status_ext"] == "error:invalid-host-resolution"
    assert failed["job_id"] == job_id
    assert failed["message"] == "Couldn't resolve host for http://example5123.com/."
    assert cdx_json(wayback, url="http://example5123.com/") == []

    wayback.pending_polls = 0
    wayback.set_live("https://example.com/gone", b"", status=404)
    job_id = save(wayback, "https://example.com/gone", wayback.auth_header).json()["job_id"]
    assert status(wayback, job_id)["status_ext"] == "error:not-found"


def test_spn2_index_lag_hides_a_successful_capture_until_flushed(wayback: WaybackServer) -> None:
    wayback.index_lag, wayback.pending_polls = True, 0
    wayback.set_live(POLICY, b"<html><body>fresh</body></html>")
    job_id = save(wayback, POLICY, wayback.auth_header, if_not_archived_within="1h").json()[
        "job_id"
    ]
    assert status(wayback, job_id)["status"] == "success"
    latest = get(wayback.url + "/web/20260102030405/" + POLICY)
    assert latest.headers["Location"] == "/web/20250501000000/" + POLICY  # an older capture
    assert cdx_json(wayback, url=POLICY, **{"from": "2026"}) == []
    wayback.flush_index()
    assert get(wayback.url + "/web/20260102030405/" + POLICY).status_code == 200


def test_spn2_user_status_and_non_json_answer(wayback: WaybackServer) -> None:
    wayback.daily_captures_limit = 40_000
    wayback.set_live("https://example.com/", b"x")
    html = requests.post(
        wayback.url + "/save",
        data={"url": "https://example.com/"},
        headers={"Authorization": wayback.auth_header},
        timeout=5,
    )
    assert html.headers["Content-Type"].startswith("text/html") and "watchJob" in html.text
    user = requests.get(
        wayback.url + "/save/status/user",
        params={"_t": "1"},
        headers={"Authorization": wayback.auth_header},
        timeout=5,
    ).json()
    assert user == {
        "available": 4,
        "processing": 1,
        "daily_captures": 0,
        "daily_captures_limit": 40_000,
    }


# --------------------------------------------------------------------------------------------
# Origin


def test_origin_pages_redirect_chains_gone_and_404(origin: OriginServer) -> None:
    origin.page("/c", "<html><title>C</title></html>")
    origin.redirect("/a", "/b")
    origin.redirect("/b", origin.url_for("/c"), status=302)
    origin.gone("/old")
    followed = requests.get(origin.url_for("/a"), timeout=5)
    assert followed.status_code == 200 and followed.url == origin.url_for("/c")
    assert [r.status_code for r in followed.history] == [301, 302]
    assert followed.headers["Content-Type"] == "text/html; charset=utf-8"
    assert get(origin.url_for("/old")).status_code == 410
    missing = get(origin.url_for("/nope"))
    assert missing.status_code == 404 and "Page not found" in missing.text


def test_origin_soft_404(origin: OriginServer) -> None:
    origin.soft404("/moved-away")
    soft = get(origin.url_for("/moved-away"))
    assert soft.status_code == 200 and "<title>Page not found</title>" in soft.text
    assert get(origin.url_for("/unknown")).status_code == 404
    origin.soft_404 = True
    assert get(origin.url_for("/unknown")).status_code == 200


def test_origin_bot_wall_looks_like_a_cloudflare_challenge(origin: OriginServer) -> None:
    origin.bot_wall("/policies/")
    response = get(origin.url_for("/policies/"))
    assert response.status_code == 403
    assert response.headers["cf-mitigated"] == "challenge"
    assert response.headers["server"] == "cloudflare"
    assert "<title>Just a moment...</title>" in response.text
    assert "Verifying you are human" in response.text


def test_origin_rate_limit_then_page(origin: OriginServer) -> None:
    origin.page("/p", "ok")
    origin.rate_limited("/p", retry_after=2, times=2)
    origin.unavailable("/p", times=1)
    first, second = get(origin.url_for("/p")), get(origin.url_for("/p"))
    assert (first.status_code, first.headers["Retry-After"]) == (429, "2")
    assert second.status_code == 429
    assert get(origin.url_for("/p")).status_code == 503
    assert get(origin.url_for("/p")).status_code == 200
    assert len(origin.requests_to(path="/p")) == 4


def test_origin_refuses_head_but_serves_get(origin: OriginServer) -> None:
    origin.page("/doc", "body")
    origin.no_head("/doc")
    head = requests.head(origin.url_for("/doc"), timeout=5)
    assert head.status_code == 405 and head.headers["Allow"] == "GET"
    assert get(origin.url_for("/doc")).text == "body"


def test_origin_conditional_get_and_logged_headers(origin: OriginServer) -> None:
    origin.page("/e", "v1", headers={"ETag": '"abc"'})
    assert get(origin.url_for("/e"), headers={"If-None-Match": '"abc"'}).status_code == 304
    assert get(origin.url_for("/e"), headers={"If-None-Match": '"old"'}).text == "v1"
    get(origin.url_for("/e"), headers={"User-Agent": "citecheck/1 (+mailto:a@b.c)"})
    assert origin.requests[-1].headers["user-agent"] == "citecheck/1 (+mailto:a@b.c)"
    assert origin.requests[-1].method == "GET" and origin.requests[-1].status == 200


def test_make_pdf_round_trips_through_pypdf(origin: OriginServer) -> None:
    quote = (
        "We will “run” evaluations — before (and after) deployment, "
        "and publish the results of every frontier model release."
    )
    data = origin.pdf("/rsp.pdf", quote + "\nA second paragraph.")
    response = get(origin.url_for("/rsp.pdf"))
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.content == data
    text = pypdf.PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    lines = text.splitlines()
    assert len(lines) == 3 and lines[-1] == "A second paragraph."
    assert " ".join(lines[:2]) == quote
    short = pypdf.PdfReader(io.BytesIO(make_pdf("Short (text) \\ here"))).pages[0]
    assert "Short (text) \\ here" in short.extract_text()


def test_origin_log_records_status_end_and_form_and_matches_prefixes(origin: OriginServer) -> None:
    origin.page("/a", "a")
    get(origin.url_for("/a?x=1"))
    requests.post(origin.url_for("/ab"), data={"k": "v w"}, timeout=5)
    get(origin.url_for("/b"))
    first, post, other = origin.requests
    assert (first.status, post.status, other.status) == (200, 404, 404)
    assert all(r.end is not None and r.end >= r.time for r in origin.requests)
    assert first.route == "/a" and first.query == {"x": ["1"]}
    assert post.form() == {"k": ["v w"]}
    assert origin.requests_to(path="/a*") == [first, post]
    assert origin.requests_to("POST", "/a*") == [post]
    assert origin.requests_to(path="/a") == [first]
    origin.clear_log()
    assert origin.requests == []


def test_servers_listen_between_start_and_stop_and_keep_connections_alive() -> None:
    server = OriginServer()
    with pytest.raises(RuntimeError):
        server.url  # noqa: B018
    assert server.start() is server
    assert server.host == f"127.0.0.1:{server.port}" and server.url == f"http://{server.host}"
    server.page("/", "hi")
    with requests.Session() as session:
        first = session.get(server.url_for("/"), timeout=5)
        second = session.get(server.url_for("/"), timeout=5)
    assert first.text == second.text == "hi" and first.raw.version == 11
    assert first.headers["Server"] == "StandIn/1.0"
    server.stop()
    with pytest.raises(RuntimeError):
        server.port  # noqa: B018


# --------------------------------------------------------------------------------------------
# Concurrency meters


def fire(urls: list[str]) -> list[int]:
    """GET every URL at once from its own thread; the status codes, in order."""
    codes = [0] * len(urls)
    start = threading.Barrier(len(urls))

    def one(i: int) -> None:
        start.wait()
        codes[i] = requests.get(urls[i], timeout=10).status_code

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(urls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def test_origin_meter_counts_overlapping_requests(origin: OriginServer) -> None:
    origin.page("/slow", "zzz")
    origin.slow("/slow", 0.5)
    assert fire([origin.url_for("/slow")] * 5) == [200] * 5
    assert origin.max_concurrent == 5
    assert origin.in_flight == 0
    origin.reset_meter()
    origin.slow("/slow", 0)  # one after another: no delay is needed to tell them apart
    for _ in range(3):
        get(origin.url_for("/slow"))
    assert origin.max_concurrent == 1 and len(origin.requests) == 3


def test_wayback_meter_and_latency(wayback: WaybackServer) -> None:
    wayback.latency = 0.3
    url = wayback.url + "/cdx/search/cdx?url=" + POLICY + "&output=json"
    assert fire([url] * 4) == [200] * 4
    assert wayback.max_concurrent == 4
    log = wayback.requests_to(path="/cdx/search/cdx")
    assert len(log) == 4 and all(r.end is not None and r.end - r.time >= 0.3 for r in log)
    assert log[0].query["url"] == [POLICY]
