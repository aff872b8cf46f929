"""Link posts (`link:` in front matter): the page a post is about, carried to every
output and target, and kept when a forum's link post is imported. Outputs are read with
html5lib, feedparser and json, and requests as the stand-in forum received them."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner
from conftest import SID, TOKEN
from servers.substack import validate_prosemirror
from test_build import html_doc
from test_publish import PAPER, graphql_calls

from toolkit.cli import cli

LINK = "https://www.anthropic.com/news/announcing-our-updated-responsible-scaling-policy"


def run(root: Path, *args: str):
    env = {"SUBSTACK_SID": SID, "LESSWRONG_TOKEN": TOKEN, "TOOLKIT_HTTP_TIMEOUT": "2"}
    return CliRunner().invoke(cli, ["--root", str(root), *args], env=env)


def make_link_post(site: Path) -> None:
    path = site / "posts" / f"{PAPER}.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("kind: post\n", f"kind: post\nlink: {LINK}\n", 1), "utf-8")


def test_a_link_post_shows_its_page_on_the_site_in_feeds_and_drafts(site):
    make_link_post(site)
    result = run(site, "build")
    assert result.exit_code == 0, result.output
    page = html_doc(site / "site" / "posts" / PAPER / "index.html")
    [line] = page.findall(".//article/header/p[@class='link-post']")
    assert [a.get("href") for a in line.iter("a")] == [LINK]

    feed = feedparser.parse((site / "feeds" / "atom.xml").read_bytes())
    entry = next(e for e in feed.entries if PAPER in e.link)
    content = html_doc(entry.content[0].value.encode())
    assert next(content.iter("a")).get("href") == LINK  # before anything else
    items = json.loads((site / "feeds" / "feed.json").read_text())["items"]
    item = next(i for i in items if PAPER in i["url"])
    assert item["external_url"] == LINK

    request = json.loads((site / "drafts" / "lesswrong" / f"{PAPER}.json").read_text())
    data = request["variables"]["data"]
    assert data["url"] == LINK and data["postCategory"] == "linkpost"
    assert LINK not in data["contents"]["originalContents"]["data"]  # the forum shows it
    substack = json.loads((site / "drafts" / "substack" / f"{PAPER}.json").read_text())
    body = json.loads(substack["draft_body"])
    validate_prosemirror(body)
    first = body["content"][0]
    marks = [m for node in first["content"] for m in node.get("marks", [])]
    assert first["type"] == "paragraph" and {"type": "link", "attrs": {"href": LINK}} in marks
    paste = html_doc(site / "drafts" / "substack" / f"{PAPER}.html")
    assert LINK in [a.get("href") for a in paste.iter("a")][:1]


def test_publish_makes_a_forum_link_post(site, lesswrong):
    make_link_post(site)
    result = run(site, "publish", PAPER, "--to", "lesswrong")
    assert result.exit_code == 0, result.output
    (create,) = graphql_calls(lesswrong, "CreateDraft")
    assert create.json["variables"]["data"]["url"] == LINK
    [post] = [p for p in lesswrong.posts.values() if not p.get("shortform")]
    assert post["url"] == LINK and post["postCategory"] == "linkpost" and post["draft"] is True


@pytest.mark.parametrize("value", ["not a url", "ftp://example.org/x", "[1, 2]"])
def test_a_link_that_is_no_web_address_is_an_error_at_its_line(site, value):
    path = site / "posts" / f"{PAPER}.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("kind: post\n", f"kind: post\nlink: {value}\n", 1), "utf-8")
    result = run(site, "check")
    assert result.exit_code == 1
    line = text.splitlines().index("kind: post") + 2
    assert f"posts/{PAPER}.md:{line}:" in result.output and "link" in result.output


def test_a_link_posts_page_needs_an_archived_copy_and_shows_it(site):
    make_link_post(site)
    text = (site / "posts" / f"{PAPER}.md").read_text().splitlines()
    line = text.index(f"link: {LINK}") + 1
    result = run(site, "check")
    assert (
        f"posts/{PAPER}.md:{line}:1: warning P012 {LINK} (the linked page) has no archived copy"
        in result.output
    )
    snapshot = f"https://web.archive.org/web/20250101000000/{LINK}"
    with (site / "archives.yaml").open("a", encoding="utf-8") as f:
        f.write(f"{LINK}:\n  archive: {snapshot}\n")
    result = run(site, "build")
    assert result.exit_code == 0 and f"P012 {LINK}" not in result.output, result.output
    page = html_doc(site / "site" / "posts" / PAPER / "index.html")
    [line_shown] = page.findall(".//article/header/p[@class='link-post']")
    assert [a.get("href") for a in line_shown.iter("a")] == [LINK, snapshot]


def test_a_quick_take_with_a_link_carries_it_in_its_text(site):
    """A quick take cannot be a forum link post: its link goes first in its text."""
    name = "preparedness-page-redirects"
    path = site / "posts" / f"{name}.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("kind: shortform\n", f"kind: shortform\nlink: {LINK}\n", 1))
    result = run(site, "build")
    assert result.exit_code == 0, result.output
    request = json.loads((site / "drafts" / "lesswrong" / f"{name}.json").read_text())
    data = request["variables"]["data"]
    assert "url" not in data and "postCategory" not in data
    markdown = data["contents"]["originalContents"]["data"]
    assert markdown.startswith(f"Link post: <{LINK}>\n\n")
    assert (site / "drafts" / "lesswrong" / f"{name}.md").read_text().startswith("Link post:")
