"""A forum's comment rate limit is respected, not discovered (issue 13, item 3).

ForumMagnum allows one comment per 8 seconds, drafts included, and a quick take is a
comment. The stand-in enforces the same rule; the interval is the target's (so these tests
register a forum whose interval is a fraction of a second, as its stand-in's is).
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from conftest import post
from servers.lesswrong import LessWrongServer

from toolkit import targets
from toolkit.cli import cli
from toolkit.publish.lesswrong import comment_wait

TOKEN = "5f3c9a1e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d2f4b"


def _forum_target(url: str, interval: float) -> targets.Target:
    return targets.register(
        targets.Target(
            name="quickforum",
            kind="forummagnum",
            label="Quick Forum",
            url_key="graphql_url",
            url=url,
            credential="QUICKFORUM_TOKEN",
            credential_doc="its loginToken cookie",
            shows=targets.Shows(tables=True, math=True, images=True, spoilers=True),
            comment_interval=interval,
        )
    )


@pytest.fixture
def forum_project(project):
    """Seven quick takes, all for the test forum."""
    for i in range(7):
        project.write(
            f"posts/take-{i}.md",
            post(
                f"title: Take {i}\nkind: shortform\nstatus: published\n"
                f"date: 2025-03-0{i + 1}\ntargets: [quickforum]\n",
                f"Quick take number {i}: the company said one thing and did another.\n",
            ),
        )
    yield project
    targets.TARGETS.pop("quickforum", None)


def _publish(root, *extra):
    return CliRunner().invoke(
        cli,
        ["--root", str(root), "publish", "--to", "quickforum", *extra],
        env={"QUICKFORUM_TOKEN": TOKEN},
    )


def _refused_creates(server) -> int:
    """Creates the forum refused (for its rate limit: nothing else fails them here)."""
    sent = [
        r
        for r in server.requests_to("POST", "/graphql")
        if (r.json or {}).get("operationName") == "CreateQuickTake"
    ]
    return len(sent) - len(server.comments)


def test_seven_quick_takes_in_one_run_are_spaced_and_all_created(forum_project):
    with LessWrongServer(
        token=TOKEN,
        shortform_feed_id="feedQuick",
        comment_rate_limit_seconds=0.05,
        comment_rate_limit_counts_drafts=True,
    ) as server:
        _forum_target(server.graphql_url, interval=0.05)
        result = _publish(forum_project.root)
        assert result.exit_code == 0, result.output
        rows = result.stdout.splitlines()[1:]
        assert len(rows) == 7 and all(r.split()[2] == "created" for r in rows), rows
        assert len(server.comments) == 7
        assert _refused_creates(server) == 0  # respected, never discovered
        assert "allows one comment per 0.05 s; waiting" in result.stderr
        assert not server.anything_published


def test_a_short_rate_limit_is_waited_out_and_the_create_sent_once_more(forum_project):
    for i in range(2, 7):
        forum_project.remove(f"posts/take-{i}.md")
    with LessWrongServer(
        token=TOKEN,
        shortform_feed_id="feedQuick",
        comment_rate_limit_seconds=0.3,
        comment_rate_limit_counts_drafts=True,
    ) as server:
        _forum_target(server.graphql_url, interval=0)  # we do not know the limit here
        result = _publish(forum_project.root)
        assert result.exit_code == 0, result.output
        assert len(server.comments) == 2  # refused once, then made once: no duplicate
        assert _refused_creates(server) == 1
        assert "asks us to wait" in result.stderr


def test_a_long_rate_limit_stops_the_run_and_says_when_to_come_back(forum_project):
    with LessWrongServer(
        token=TOKEN,
        shortform_feed_id="feedQuick",
        comment_rate_limit_seconds=600,
        comment_rate_limit_counts_drafts=True,
    ) as server:
        _forum_target(server.graphql_url, interval=0)
        result = _publish(forum_project.root)
        assert result.exit_code == 1
        rows = result.stdout.splitlines()[1:]
        assert [r.split()[2] for r in rows] == ["created", "failed"]  # then it stopped
        assert re.search(r"allows no more comments until \d\d:\d\d UTC \(in 10 min\)", rows[1])
        assert len(server.comments) == 1 and _refused_creates(server) == 1


@pytest.mark.parametrize(
    ("message", "now", "expected"),
    [
        (
            "Rate limit: You cannot comment for 5 seconds (until Sat Dec 05 2026 13:55:00 "
            "GMT+0000 (Coordinated Universal Time))",
            1796478895.0,  # 13:54:55 UTC that day
            5.0,
        ),
        ("Rate limit: You cannot comment for a few seconds", None, 10.0),
        ("Rate limit: You cannot comment for 2 minutes", None, 120.0),
        ("Rate limit: You cannot comment for an hour", None, 3600.0),
        ("app.operation_not_allowed", None, None),
    ],
)
def test_the_wait_is_read_from_the_forums_message(message, now, expected):
    assert comment_wait(message, now) == expected
