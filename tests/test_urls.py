from __future__ import annotations

import pytest

from toolkit import fields, urls


@pytest.mark.parametrize(
    "a,b,expected",
    [
        (
            "https://www.openai.com/preparedness/",
            "http://openai.com/preparedness",
            "openai.com/preparedness",
        ),
        ("https://openai.com/a#section", "https://openai.com/a/", "openai.com/a"),
        ("https://OpenAI.com:443/a", "https://openai.com/a", "openai.com/a"),
        ("https://WWW.LessWrong.com:443/", "http://lesswrong.com", "lesswrong.com"),
    ],
)
def test_normalize_equates_trivial_variants(a, b, expected):
    assert urls.normalize(a) == urls.normalize(b)
    assert urls.normalize(a) == expected
    assert urls.normalize(b) == expected


def test_normalize_keeps_a_non_default_port_and_the_query():
    assert urls.normalize("http://openai.com:8080/a/?x=1#f") == "openai.com:8080/a?x=1"


@pytest.mark.parametrize(
    "a,b",
    [
        ("https://openai.com/a", "https://openai.com/b"),
        ("https://openai.com/a?x=1", "https://openai.com/a?x=2"),
        ("https://openai.com/a", "https://openai.org/a"),
    ],
)
def test_normalize_keeps_real_differences(a, b):
    assert urls.normalize(a) != urls.normalize(b)


def test_wayback_snapshot_parts():
    snap = urls.parse_snapshot(
        "https://web.archive.org/web/20240603125126/https://openai.com/preparedness/"
    )
    assert snap.service == "wayback"
    assert snap.original == "https://openai.com/preparedness/"
    assert snap.date_iso == "2024-06-03T12:51:26Z"
    assert snap.raw_url() == (
        "https://web.archive.org/web/20240603125126id_/https://openai.com/preparedness/"
    )


def test_wayback_flag_and_schemeless_original():
    snap = urls.parse_snapshot("https://web.archive.org/web/20240603125126id_/openai.com/x")
    assert snap.original == "http://openai.com/x" and snap.timestamp == "20240603125126"


@pytest.mark.parametrize(
    "url",
    [
        "https://archive.ph/x2vQs",
        "https://archive.today/20240101000000/https://example.com/",
    ],
)
def test_archive_today_forms(url):
    assert urls.parse_snapshot(url).service == "archive.today"


@pytest.mark.parametrize(
    "url,reason",
    [
        ("https://web.archive.org/save/https://x.com", "/save/"),
        ("https://web.archive.org/web/*/https://x.com", "calendar"),
        ("https://archive.ph/newest/https://x.com", "moves over time"),
        ("https://perma.example/ABC", "not a web archive we know"),
    ],
)
def test_not_snapshots_say_why(url, reason):
    with pytest.raises(urls.NotASnapshot, match=reason):
        urls.parse_snapshot(url)


def test_configured_wayback_host_is_recognised():
    snap = urls.parse_snapshot(
        "http://127.0.0.1:9000/web/20240101000000/https://x.com/", "http://127.0.0.1:9000"
    )
    assert snap.service == "wayback"
    with pytest.raises(urls.NotASnapshot):
        urls.parse_snapshot(
            "http://127.0.0.1:9001/web/20240101000000/https://x.com/", "http://127.0.0.1:9000"
        )


def test_host_matching_covers_subdomains_only():
    assert urls.host("https://www.LessWrong.com/posts/x") == "lesswrong.com"
    assert urls.host("https://WWW.lesswrong.com:443/") == "lesswrong.com"
    assert urls.host_matches("lesswrong.com", ["lesswrong.com"])
    assert urls.host_matches("lesswrong.com", ["www.lesswrong.com"])
    assert urls.host_matches("forum.lesswrong.com", ["lesswrong.com"])
    assert not urls.host_matches("notlesswrong.com", ["lesswrong.com"])


@pytest.mark.parametrize(
    "rest",
    [
        "20240101000000/https://x.org/a",
        "20240101000000/https://x.org/a#section",
        "20240101000000id_/https://x.org/a?q=1",
        "20240101000000/https:/x.org/a",
        "20240101000000/x.org/a",
    ],
)
def test_the_usual_wayback_form_reads_as_the_general_parser_reads_it(rest):
    # web.archive.org URLs in the usual form take a fast path; the upper-case host sends
    # the same snapshot through the general parser. Both must give the same snapshot.
    fast = urls.parse_snapshot(f"https://web.archive.org/web/{rest}")
    general = urls.parse_snapshot(f"https://WEB.archive.org/web/{rest}")
    assert (fast.service, fast.original, fast.timestamp, fast.time) == (
        general.service,
        general.original,
        general.timestamp,
        general.time,
    )


@pytest.mark.parametrize(
    "value, ok",
    [
        ("https://x.org", True),
        ("http://x.org/a?b=c#d", True),
        ("HTTPS://X.ORG/", True),
        ("https://x.org/a\n", False),
        ("https://x.org/a b", False),
        ("ftp://x.org/", False),
        ("https://", False),
        ("x.org/a", False),
    ],
)
def test_an_http_url_is_absolute_with_a_host_and_no_space(value, ok):
    from toolkit import fields

    assert fields.is_http_url(value) is ok


@pytest.mark.parametrize(
    "url",
    [
        "https://[::1/x",  # an IPv6 host never closed
        "https://example.org:99999/",  # no such port
        "https://example.org/\x01x",  # a control character
        "https://example.org/a\x7f",
    ],
)
def test_what_urllib_cannot_take_apart_is_not_a_url(url):
    assert not fields.is_http_url(url)


@pytest.mark.parametrize("url", ["https://[::1]/x", "http://localhost:8080/a?b#c"])
def test_what_urllib_can_take_apart_is_a_url(url):
    assert fields.is_http_url(url)
