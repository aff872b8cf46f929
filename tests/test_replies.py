"""Replies and edits of published items on a forum (issue 13, item 4).

`reply_to:` makes a shortform a reply in a thread (createComment with the thread's postId
and the parentCommentId); a quick take published on the site is changed only with
`--force`, and the table says a published item changed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import post
from servers.lesswrong import LessWrongServer

from toolkit.cli import cli
from toolkit.publish.lesswrong import parse_comment_ref

TOKEN = "3b3c9a1e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d2f4d"
UTC = dt.timezone.utc


@pytest.fixture
def forum():
    with LessWrongServer(token=TOKEN, shortform_feed_id="feedWriter1234") as lw:
        other = lw.add_user("c" * 64, username="carol")
        lw.parent = lw.seed_quick_take(
            other, "Carol's quick take on evals.\n", posted_at=dt.datetime(2025, 1, 5, tzinfo=UTC)
        )
        yield lw
        assert lw.handler_errors == []
        assert not lw.anything_published


def _project(root: Path, url: str) -> None:
    (root / "posts").mkdir()
    (root / "snippets").mkdir()
    (root / "snippets/labs.yaml").write_text("openai:\n  name: OpenAI\n")
    (root / "toolkit.toml").write_text(
        f'[site]\ntitle = "T"\nbase_url = "https://example.org"\n'
        f'[lesswrong]\ngraphql_url = "{url}"\n'
    )


def _reply(root: Path, name: str, reply_to: str, text: str = "I agree, with one caveat.") -> None:
    (root / f"posts/{name}.md").write_text(
        post(
            f"title: {name}\nkind: shortform\nstatus: published\ndate: 2025-02-01\n"
            f"targets: [lesswrong]\nreply_to: {reply_to!r}\n",
            text + "\n",
        )
    )


def _publish(root: Path, *extra: str):
    return CliRunner().invoke(
        cli,
        ["--root", str(root), "publish", "--to", "lesswrong", *extra],
        env={"LESSWRONG_TOKEN": TOKEN},
    )


def _row(output: str, slug: str) -> str:
    (row,) = [line for line in output.splitlines() if line.startswith(slug + " ")]
    return row


def test_a_reply_by_url_lands_under_its_parent(tmp_path, forum):
    _project(tmp_path, forum.graphql_url)
    parent = forum.parent
    thread = forum.posts[parent["postId"]]
    url = f"https://www.lesswrong.com/posts/{thread['_id']}/{thread['slug']}?commentId={parent['_id']}"
    _reply(tmp_path, "caveat", url)
    result = _publish(tmp_path)
    assert result.exit_code == 0, result.output
    assert _row(result.output, "caveat").split()[2] == "created"
    (mine,) = [c for c in forum.comments.values() if c["userId"] == forum.user["_id"]]
    assert mine["parentCommentId"] == parent["_id"]
    assert mine["postId"] == parent["postId"]
    assert mine["draft"] is True
    assert forum.latest(mine["_id"])["markdown"].startswith("I agree")


def test_a_reply_by_bare_id_looks_the_thread_up(tmp_path, forum):
    _project(tmp_path, forum.graphql_url)
    _reply(tmp_path, "caveat", forum.parent["_id"])
    result = _publish(tmp_path)
    assert result.exit_code == 0, result.output
    (mine,) = [c for c in forum.comments.values() if c["userId"] == forum.user["_id"]]
    assert (mine["postId"], mine["parentCommentId"]) == (
        forum.parent["postId"],
        forum.parent["_id"],
    )
    looked_up = [
        r for r in forum.requests_to("POST", "/graphql") if r.json["operationName"] == "ReplyParent"
    ]
    assert len(looked_up) == 1
    # Pushed again after an edit: the same reply is updated, not a second one made.
    path = tmp_path / "posts/caveat.md"
    path.write_text(path.read_text().replace("one caveat", "two caveats"))
    again = _publish(tmp_path)
    assert _row(again.output, "caveat").split()[2] == "updated"
    assert len([c for c in forum.comments.values() if c["userId"] == forum.user["_id"]]) == 1
    assert "two caveats" in forum.latest(mine["_id"])["markdown"]


@pytest.mark.parametrize(
    ("reply_to", "message"),
    [
        ("not a comment at all", "neither a comment's URL"),
        ("NoSuchComment1234", "LessWrong: app.missing_document"),
    ],
)
def test_a_reply_to_nothing_is_refused_and_nothing_created(tmp_path, forum, reply_to, message):
    _project(tmp_path, forum.graphql_url)
    _reply(tmp_path, "caveat", reply_to)
    result = _publish(tmp_path)
    assert result.exit_code == 1
    assert message in _row(result.output, "caveat")
    assert [c for c in forum.comments.values() if c["userId"] == forum.user["_id"]] == []


def test_reply_to_is_declared_front_matter(tmp_path, forum):
    _project(tmp_path, forum.graphql_url)
    _reply(tmp_path, "caveat", forum.parent["_id"])
    result = CliRunner().invoke(cli, ["--root", str(tmp_path), "check"])
    assert result.exit_code == 0, result.output
    assert "F005" not in result.output and "unknown" not in result.output


def test_comment_refs():
    assert parse_comment_ref("https://forum.example/posts/abcDEF123/a-slug?commentId=XYZ98765") == (
        "abcDEF123",
        "XYZ98765",
    )
    assert parse_comment_ref("https://x.org/posts/abcDEF123/s?foo=1&commentId=XYZ98765#top") == (
        "abcDEF123",
        "XYZ98765",
    )
    assert parse_comment_ref("XYZ98765abc") == (None, "XYZ98765abc")
    assert parse_comment_ref("https://x.org/posts/abcDEF123/s") is None
    assert parse_comment_ref("two words") is None


def _published_on_the_site(forum: LessWrongServer, comment_id: str) -> None:
    """The writer pressed "publish" on the site (not through the API)."""
    with forum.lock:
        forum.comments[comment_id]["draft"] = False


def test_a_published_quick_take_changes_only_with_force(tmp_path, forum):
    _project(tmp_path, forum.graphql_url)
    path = tmp_path / "posts/take.md"
    path.write_text(
        post(
            "title: Take\nkind: shortform\nstatus: published\ndate: 2025-02-01\n"
            "targets: [lesswrong]\n",
            "Labs promised evals before release.\n",
        )
    )
    assert _publish(tmp_path).exit_code == 0
    (mine,) = [c for c in forum.comments.values() if c["userId"] == forum.user["_id"]]
    _published_on_the_site(forum, mine["_id"])
    path.write_text(path.read_text().replace("before release", "before every release"))

    refused = _publish(tmp_path)
    assert refused.exit_code == 1
    row = _row(refused.output, "take")
    assert row.split()[2] == "refused"
    assert "published on LessWrong; publish --force" in row
    assert "every release" not in forum.latest(mine["_id"])["markdown"]

    forced = _publish(tmp_path, "--force")
    assert forced.exit_code == 0, forced.output
    row = _row(forced.output, "take")
    assert row.split()[2] == "updated"
    assert "changed the published quick take" in row
    assert "every release" in forum.latest(mine["_id"])["markdown"]
    updates = [
        r.json
        for r in forum.requests_to("POST", "/graphql")
        if r.json["operationName"] == "UpdateQuickTake"
    ]
    assert len(updates) == 1 and "draft" not in updates[0]["variables"]["data"]

    # Forced once is not consent for ever: the next change needs --force again.
    path.write_text(path.read_text().replace("every release", "each release"))
    assert _row(_publish(tmp_path).output, "take").split()[2] == "refused"
