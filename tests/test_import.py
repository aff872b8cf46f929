"""`toolkit import lesswrong` and `toolkit import substack` (issue 13, items 1, 2 and 5),
and what `publish` then does with what was imported: it updates, never creates.

The forum is the ForumMagnum stand-in holding posts and quick takes written "in the past"
(with footnotes, math, spoilers, links, HTML-only revisions, drafts, and a co-written post
of another user); the Substack export is a zip built here from the shape in docs/design.md.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import html5lib
import pytest
from click.testing import CliRunner
from graphql import build_schema, parse, validate
from servers.lesswrong import SCHEMA_SDL, LessWrongServer
from servers.substack import SubstackServer
from test_servers import needs_real_schema

from toolkit.cli import cli
from toolkit.imports import html as htmlimport
from toolkit.imports import lesswrong as lwimport
from toolkit.ledger import Ledger
from toolkit.publish import lesswrong as lwclient

TOKEN = "9a3c9a1e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d2f4c"
SID = "s%3Aimport-session.Zm9vYmFy"
UTC = dt.timezone.utc

POST_MD = """\
OpenAI [said it would publish](https://openai.com/preparedness/) its evaluations.[^1]
The threshold is $p < 0.05$ and the risk $$R = \\sum_i w_i x_i$$ holds.[^2]

>! The spoiler: it did not.

[^1]: Its Preparedness page, 2023.

[^2]: A second note with [a link](https://example.com/two).
"""
TAKE_MD = "xAI's draft framework names *thresholds* but no dates.[^1]\n\n[^1]: Its draft, 2025.\n"
HTML_ONLY = (
    '<p>Anthropic wrote it down.<span class="footnote-reference" data-footnote-reference="" '
    'data-footnote-index="1" data-footnote-id="k3x9" role="doc-noteref" id="fnrefk3x9">'
    '<sup><a href="#fnk3x9">[1]</a></sup></span> Math <span class="math-tex">\\(x^2\\)</span>.'
    '</p><div class="spoilers"><p>Hidden part.</p></div>'
    '<ol class="footnote-section footnotes" data-footnote-section="" role="doc-endnotes">'
    '<li class="footnote-item" data-footnote-item="" data-footnote-index="1" '
    'data-footnote-id="k3x9" role="doc-endnote" id="fnk3x9"><span class="footnote-back-link" '
    'data-footnote-back-link="" data-footnote-id="k3x9"><sup><strong><a href="#fnrefk3x9">^'
    '</a></strong></sup></span><div class="footnote-content" data-footnote-content="">'
    '<p>The RSP, <a href="https://www.anthropic.com/rsp">linked</a>.</p></div></li></ol>'
)


def _config(root: Path, **urls: str) -> None:
    (root / "posts").mkdir(exist_ok=True)
    (root / "snippets").mkdir(exist_ok=True)
    (root / "snippets/labs.yaml").write_text("openai:\n  name: OpenAI\n")
    text = '[site]\ntitle = "T"\nbase_url = "https://example.org"\n'
    text += '[check]\nno_archive_needed = ["openai.com", "example.com", "anthropic.com"]\n'
    for name, url in urls.items():
        key = "publication_url" if name == "substack" else "graphql_url"
        text += f'[{name}]\n{key} = "{url}"\n'
    (root / "toolkit.toml").write_text(text)


def run(root: Path, *args: str, **env: str):
    return CliRunner().invoke(cli, ["--root", str(root), *args], env=env or None)


@pytest.fixture
def forum():
    with LessWrongServer(token=TOKEN, username="alice", shortform_feed_id="feedAlice123") as lw:
        alice = lw.user
        bob = lw.add_user("b" * 64, username="bob")
        lw.seeded = {
            "post": lw.seed_post(
                alice,
                "Frameworks after the summit",
                markdown=POST_MD,
                posted_at=dt.datetime(2025, 2, 14, 9, tzinfo=UTC),
                tags=("AI Governance", "RSP"),
            ),
            "html": lw.seed_post(
                alice,
                "Written in the docs editor",
                html=HTML_ONLY,
                posted_at=dt.datetime(2025, 3, 1, tzinfo=UTC),
            ),
            "draft": lw.seed_post(
                alice,
                "Unfinished thoughts",
                markdown="Not for anyone yet.\n",
                posted_at=dt.datetime(2025, 3, 2, tzinfo=UTC),
                draft=True,
            ),
            "bobs": lw.seed_post(
                bob,
                "Bob's post that names Alice as co-author",
                markdown="Bob wrote this.\n",
                posted_at=dt.datetime(2025, 3, 3, tzinfo=UTC),
                coauthors=(alice["_id"],),
            ),
            "take": lw.seed_quick_take(
                alice, TAKE_MD, posted_at=dt.datetime(2025, 4, 1, 12, tzinfo=UTC)
            ),
            "draft_take": lw.seed_quick_take(
                alice,
                "A draft quick take.\n",
                posted_at=dt.datetime(2025, 4, 2, tzinfo=UTC),
                draft=True,
            ),
        }
        lw.seeded["reply"] = lw.seed_quick_take(
            alice,
            "A reply of mine in my own thread.\n",
            posted_at=dt.datetime(2025, 4, 3, tzinfo=UTC),
            parent=lw.seeded["take"],
        )
        lw.seeded["bobs_take"] = lw.seed_quick_take(
            bob, "Bob's quick take.\n", posted_at=dt.datetime(2025, 4, 4, tzinfo=UTC)
        )
        yield lw
        assert lw.handler_errors == []
        assert not lw.anything_published


def _creates(server) -> list[str]:
    return [
        r.json["operationName"]
        for r in server.requests_to("POST", "/graphql")
        if (r.json or {}).get("operationName") in ("CreateDraft", "CreateQuickTake")
    ]


def _imported(root: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((root / "posts").glob("*.md"))}


def _page(root: Path, slug: str, kind: str = "posts"):
    data = (root / "site" / kind / slug / "index.html").read_bytes()
    return html5lib.parse(data, treebuilder="lxml", namespaceHTMLElements=False).getroot()


# -- the queries, against our small schema and the real one ---------------------------


@pytest.mark.parametrize(
    "operation", [*lwimport.OPERATIONS, lwclient.THREAD_OF], ids=lambda q: q.split("(")[0]
)
def test_import_queries_validate_against_both_schemas(operation):
    assert validate(build_schema(SCHEMA_SDL), parse(operation)) == []
    assert validate(needs_real_schema(), parse(operation)) == []


# -- LessWrong --------------------------------------------------------------------------


def test_import_writes_each_post_and_quick_take_and_nothing_else(tmp_path, forum):
    _config(tmp_path, lesswrong=forum.graphql_url)
    result = run(tmp_path, "import", "lesswrong", "--user", "alice")
    assert result.exit_code == 0, result.output
    files = _imported(tmp_path)
    assert sorted(files) == [
        "2025-04-01-xais-draft-framework-names-thresholds-but-no-dates.md",
        "frameworks-after-the-summit.md",
        "written-in-the-docs-editor.md",
    ]
    # Drafts, replies and other people's writing stay out, whatever the views returned.
    everything = "".join(files.values())
    for absent in ("Not for anyone", "Bob", "A draft quick take", "A reply of mine"):
        assert absent not in everything

    post = files["frameworks-after-the-summit.md"]
    assert post.startswith('---\ntitle: "Frameworks after the summit"\n')
    assert "date: 2025-02-14T09:00:00+00:00\nkind: post\nstatus: published\n" in post
    assert 'tags: ["AI Governance", "RSP"]\ntargets: [lesswrong]\n' in post
    # The forum's Markdown as it was: links, notes, math and spoilers untouched.
    assert post.endswith("---\n" + POST_MD)

    take = files["2025-04-01-xais-draft-framework-names-thresholds-but-no-dates.md"]
    assert "kind: shortform" in take
    assert "title:" not in take  # untitled, as on the forum: its opening words are shown
    assert take.endswith("---\n" + TAKE_MD)

    # HTML only: converted, its footnote a Markdown footnote, math and spoiler in the
    # forum's Markdown, the link kept.
    converted = files["written-in-the-docs-editor.md"].split("---\n", 2)[2]
    assert converted == (
        "Anthropic wrote it down.[^1] Math $x^2$.\n\n>! Hidden part.\n\n"
        "[^1]: The RSP, [linked](https://www.anthropic.com/rsp).\n"
    )


def test_imported_files_pass_check_and_build(tmp_path, forum):
    _config(tmp_path, lesswrong=forum.graphql_url)
    assert run(tmp_path, "import", "lesswrong", "--user", "alice").exit_code == 0
    checked = run(tmp_path, "check")
    assert checked.exit_code == 0, checked.output
    assert "error" not in checked.output
    built = run(tmp_path, "build")
    assert built.exit_code == 0, built.output
    page = _page(tmp_path, "frameworks-after-the-summit")
    links = {a.get("href") for a in page.iter("a")}
    assert "https://openai.com/preparedness/" in links
    # Each note reference leads to an element on the page holding that note's text.
    by_id = {el.get("id"): el for el in page.iter() if el.get("id")}
    notes = ["".join(by_id[h[1:]].itertext()) for h in links if h and h[1:] in by_id]
    assert any("Its Preparedness page, 2023." in n for n in notes)
    assert any("A second note" in n for n in notes)
    html_page = _page(tmp_path, "written-in-the-docs-editor")
    assert "https://www.anthropic.com/rsp" in {a.get("href") for a in html_page.iter("a")}
    # The quick take came untitled; its page is headed by its opening words.
    take = _page(
        tmp_path, "2025-04-01-xais-draft-framework-names-thresholds-but-no-dates", "shortform"
    )
    heading = " ".join("".join(take.find(".//article//h1").itertext()).split())
    assert heading == "xAI's draft framework names thresholds but no dates."


def test_ledger_records_what_publish_would_have(tmp_path, forum):
    _config(tmp_path, lesswrong=forum.graphql_url)
    run(tmp_path, "import", "lesswrong", "--user", "alice")
    ledger = Ledger(tmp_path / "published.yaml")
    entry = ledger.entry("frameworks-after-the-summit", "lesswrong")
    remote = forum.seeded["post"]
    assert entry["id"] == remote["_id"]
    assert entry["kind"] == "post"
    assert entry["url"].endswith(f"/posts/{remote['_id']}/frameworks-after-the-summit")
    assert entry["remote"]["content_hash"] == lwclient.content_hash(POST_MD, remote["title"])
    assert entry["published"] is True
    take = ledger.entry(
        "2025-04-01-xais-draft-framework-names-thresholds-but-no-dates", "lesswrong"
    )
    assert take["id"] == forum.seeded["take"]["_id"] and take["kind"] == "quick take"
    assert take["url"].endswith(f"?commentId={forum.seeded['take']['_id']}")


def test_publish_after_import_updates_the_edited_one_and_creates_nothing(tmp_path, forum):
    _config(tmp_path, lesswrong=forum.graphql_url)
    run(tmp_path, "import", "lesswrong", "--user", "alice")
    env = {"LESSWRONG_TOKEN": TOKEN}
    first = run(tmp_path, "publish", "--to", "lesswrong", **env)
    assert first.exit_code == 0, first.output
    assert [line.split()[2] for line in first.output.splitlines()[1:]] == ["unchanged"] * 3

    path = tmp_path / "posts/frameworks-after-the-summit.md"
    path.write_text(path.read_text().replace("holds.", "holds, as of May."))
    second = run(tmp_path, "publish", "--to", "lesswrong", **env)
    assert second.exit_code == 0, second.output
    rows = {line.split()[0]: line for line in second.output.splitlines()[1:]}
    assert rows["frameworks-after-the-summit"].split()[2] == "updated"
    assert "changed the published post" in rows["frameworks-after-the-summit"]
    assert [r.split()[2] for s, r in rows.items() if s != "frameworks-after-the-summit"] == [
        "unchanged"
    ] * 2
    assert _creates(forum) == []
    assert "as of May" in forum.latest(forum.seeded["post"]["_id"])["markdown"]
    assert forum.posts[forum.seeded["post"]["_id"]]["draft"] is False  # still the same post


def test_publish_refuses_an_imported_post_edited_on_the_forum(tmp_path, forum):
    _config(tmp_path, lesswrong=forum.graphql_url)
    run(tmp_path, "import", "lesswrong", "--user", "alice")
    forum.edit_post(forum.seeded["post"]["_id"], markdown=POST_MD + "\nAdded on the site.\n")
    path = tmp_path / "posts/frameworks-after-the-summit.md"
    path.write_text(path.read_text() + "\nAdded here.\n")
    result = run(tmp_path, "publish", "--to", "lesswrong", LESSWRONG_TOKEN=TOKEN)
    assert result.exit_code == 1
    (row,) = [r for r in result.output.splitlines() if r.startswith("frameworks-after")]
    assert row.split()[2] == "refused" and "edited on LessWrong" in row
    assert "Added here" not in forum.latest(forum.seeded["post"]["_id"])["markdown"]


def test_reimport_adds_nothing_and_never_overwrites(tmp_path, forum):
    _config(tmp_path, lesswrong=forum.graphql_url)
    run(tmp_path, "import", "lesswrong", "--user", "alice")
    before = _imported(tmp_path)
    ledger_before = (tmp_path / "published.yaml").read_text()
    again = run(tmp_path, "import", "lesswrong", "--user", "alice")
    assert again.exit_code == 0
    assert "Nothing new to import" in again.output
    assert _imported(tmp_path) == before
    assert (tmp_path / "published.yaml").read_text() == ledger_before

    # Something new on the forum: only that comes in.
    forum.seed_quick_take(
        forum.user, "One more take on evals.\n", posted_at=dt.datetime(2025, 5, 1, tzinfo=UTC)
    )
    third = run(tmp_path, "import", "lesswrong", "--user", "alice")
    added = set(_imported(tmp_path)) - set(before)
    assert added == {"2025-05-01-one-more-take-on-evals.md"}, third.output


def test_a_slug_clash_gets_a_numbered_name_and_the_local_file_is_kept(tmp_path, forum):
    _config(tmp_path, lesswrong=forum.graphql_url)
    mine = "---\ntitle: Mine\n---\nMy own file.\n"
    (tmp_path / "posts/frameworks-after-the-summit.md").write_text(mine)
    (tmp_path / "posts/other.md").write_text(
        "---\ntitle: Other\nslug: written-in-the-docs-editor\n---\nTaken by slug.\n"
    )
    result = run(tmp_path, "import", "lesswrong", "--user", "alice")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "posts/frameworks-after-the-summit.md").read_text() == mine
    assert (
        'title: "Frameworks after the summit"'
        in (tmp_path / "posts/frameworks-after-the-summit-2.md").read_text()
    )
    assert (tmp_path / "posts/written-in-the-docs-editor-2.md").exists()
    entry = Ledger(tmp_path / "published.yaml").entry("frameworks-after-the-summit-2", "lesswrong")
    assert entry["id"] == forum.seeded["post"]["_id"]


def test_since_leaves_out_older_items(tmp_path, forum):
    _config(tmp_path, lesswrong=forum.graphql_url)
    result = run(tmp_path, "import", "lesswrong", "--user", "alice", "--since", "2025-03-01")
    assert result.exit_code == 0, result.output
    assert sorted(_imported(tmp_path)) == [
        "2025-04-01-xais-draft-framework-names-thresholds-but-no-dates.md",
        "written-in-the-docs-editor.md",
    ]


def test_import_from_another_forum_in_the_registry(tmp_path, forum):
    _config(tmp_path, eaforum=forum.graphql_url)
    result = run(tmp_path, "import", "lesswrong", "--user", "alice", "--to", "eaforum")
    assert result.exit_code == 0, result.output
    post = (tmp_path / "posts/frameworks-after-the-summit.md").read_text()
    assert "targets: [eaforum]" in post
    ledger = Ledger(tmp_path / "published.yaml")
    assert ledger.entry("frameworks-after-the-summit", "eaforum")["id"]
    assert ledger.entry("frameworks-after-the-summit", "lesswrong") == {}


def test_import_never_sends_a_login_token(tmp_path, forum):
    _config(tmp_path, lesswrong=forum.graphql_url)
    run(tmp_path, "import", "lesswrong", "--user", "alice", LESSWRONG_TOKEN=TOKEN)
    sent = forum.requests_to("POST", "/graphql")
    assert sent and all("loginToken" not in r.headers.get("Cookie", "") for r in sent)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--user", "nobody"), "has no user `nobody`"),
        (("--user", "alice", "--to", "substack"), "`substack` is not a forum target"),
        (("--user", "alice", "--since", "May"), "Invalid value for '--since'"),
    ],
)
def test_bad_import_arguments_are_one_line_usage_errors(tmp_path, forum, args, message):
    _config(tmp_path, lesswrong=forum.graphql_url)
    result = run(tmp_path, "import", "lesswrong", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not any((tmp_path / "posts").iterdir())


@pytest.mark.parametrize(
    ("operation", "answer", "says"),
    [
        ("ImportUser", {"data": {"GetUserBySlug": "alice"}}, "GetUserBySlug is text"),
        (
            "ImportPosts",
            {"data": {"posts": {"results": [{"_id": "x", "postedAt": "soon", "title": "T"}]}}},
            "posts.postedAt is not a date",
        ),  # the user's own published post (its author and state are filled in below)
        ("ImportPosts", {"data": {"posts": {"results": [7]}}}, "posts.results[0]"),
    ],
    ids=["user-is-text", "date-is-not-a-date", "result-is-a-number"],
)
def test_a_malformed_answer_is_one_line_and_nothing_is_imported(
    tmp_path, forum, operation, answer, says
):
    _config(tmp_path, lesswrong=forum.graphql_url)
    for result in (answer["data"].get("posts") or {}).get("results", []):
        if isinstance(result, dict):
            result.update(userId=forum.user["_id"], draft=False)
    forum.answer_operation(operation, answer)
    result = run(tmp_path, "import", "lesswrong", "--user", "alice")
    assert result.exit_code == 1, result.output
    assert f"LessWrong answered something unexpected ({says}" in result.output
    assert "nothing was imported" in result.output and "Traceback" not in result.output
    assert not any((tmp_path / "posts").iterdir())


def test_no_network_is_one_line_and_nothing_is_imported(tmp_path):
    _config(tmp_path, lesswrong="http://127.0.0.1:9/graphql")  # nothing listens on port 9
    result = run(tmp_path, "import", "lesswrong", "--user", "alice", TOOLKIT_HTTP_TIMEOUT="1")
    assert result.exit_code == 1, result.output
    assert "cannot reach LessWrong" in result.output and "nothing was imported" in result.output
    assert "Traceback" not in result.output


def test_quick_take_titles_and_html_conversion_helpers():
    substack = (
        '<p>Claim.<a class="footnote-anchor" data-component-name="FootnoteAnchorToDOM" '
        'id="footnote-anchor-1" href="#footnote-1" target="_self">1</a></p>'
        '<div class="footnote" data-component-name="FootnoteToDOM"><a id="footnote-1" '
        'href="#footnote-anchor-1" class="footnote-number" contenteditable="false" '
        'target="_self">1</a><div class="footnote-content"><p>The note.</p></div></div>'
    )
    assert htmlimport.to_markdown(substack) == "Claim.[^1]\n\n[^1]: The note.\n"


# -- Substack ---------------------------------------------------------------------------

CSV_HEADER = (
    "post_id,post_date,is_published,email_sent_at,inbox_sent_at,type,audience,title,"
    "subtitle,podcast_url\n"
)
SUBSTACK_HTML = (
    '<p>OpenAI\'s page changed in 2024.<a class="footnote-anchor" '
    'data-component-name="FootnoteAnchorToDOM" id="footnote-anchor-1" href="#footnote-1" '
    'target="_self">1</a> See <a href="https://openai.com/preparedness/">the page</a>.</p>'
    '<div class="subscription-widget-wrap"><p>Subscribe to get new posts.</p></div>'
    "<h2>What changed</h2><ul><li><p>The thresholds<strong> moved</strong>.</p></li></ul>"
    '<div class="footnote" data-component-name="FootnoteToDOM"><a id="footnote-1" '
    'href="#footnote-anchor-1" class="footnote-number" contenteditable="false" '
    'target="_self">1</a><div class="footnote-content"><p>Archived in June.</p></div></div>'
)


def export_zip(path: Path, rows: list[str], files: dict[str, str]) -> Path:
    """A Substack export: posts.csv and posts/<post_id>.html (plus what we ignore)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("posts.csv", CSV_HEADER + "".join(f"{r}\n" for r in rows))
        archive.writestr("email_list.promises.csv", "email,active_subscription\n")
        for name, text in files.items():
            archive.writestr(f"posts/{name}", text)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
def export(tmp_path):
    return export_zip(
        tmp_path / "export.zip",
        [
            "151234567.preparedness-page-changed,2024-06-03T12:00:00.000Z,true,"
            "2024-06-03T12:00:05.000Z,,newsletter,everyone,The Preparedness page changed,"
            '"What moved, and when",',
            "151234568.half-written,2024-07-01T00:00:00.000Z,false,,,newsletter,everyone,"
            "Half written,,",
            "151234569.open-thread,2024-08-01T00:00:00.000Z,true,,,thread,everyone,Open thread,,",
        ],
        {
            "151234567.preparedness-page-changed.html": SUBSTACK_HTML,
            "151234568.half-written.html": "<p>Draft text.</p>",
            "151234569.open-thread.html": "<p>Talk here.</p>",
        },
    )


def test_substack_export_imports_published_posts_with_footnotes(tmp_path, export):
    root = tmp_path / "site"
    root.mkdir()
    _config(root, substack="https://promises.substack.com")
    result = run(root, "import", "substack", str(export))
    assert result.exit_code == 0, result.output
    assert "`Open thread` is a thread, not a post" in result.output
    assert sorted(_imported(root)) == ["preparedness-page-changed.md"]
    text = (root / "posts/preparedness-page-changed.md").read_text()
    assert text.startswith('---\ntitle: "The Preparedness page changed"\n')
    assert "date: 2024-06-03T12:00:00+00:00\n" in text
    assert 'subtitle: "What moved, and when"\n' in text
    assert "targets: [substack]\n" in text
    body = text.split("---\n", 2)[2]
    assert body == (
        "OpenAI's page changed in 2024.[^1] See [the page](https://openai.com/preparedness/).\n\n"
        "## What changed\n\n- The thresholds **moved**.\n\n[^1]: Archived in June.\n"
    )
    entry = Ledger(root / "published.yaml").entry("preparedness-page-changed", "substack")
    assert entry["id"] == 151234567
    assert entry["url"] == "https://promises.substack.com/publish/post/151234567"
    assert entry["published"] is True
    assert run(root, "check").exit_code == 0
    assert run(root, "build").exit_code == 0
    page = _page(root, "preparedness-page-changed")
    by_id = {el.get("id"): el for el in page.iter() if el.get("id")}
    hrefs = [a.get("href") or "" for a in page.iter("a")]
    assert any(
        "Archived in June." in "".join(by_id[h[1:]].itertext()) for h in hrefs if h[1:] in by_id
    )


def test_substack_reimport_adds_nothing_and_publish_creates_nothing(tmp_path, export):
    root = tmp_path / "site"
    root.mkdir()
    with SubstackServer(secret=SID) as substack:
        _config(root, substack=substack.url)
        assert run(root, "import", "substack", str(export)).exit_code == 0
        before = _imported(root)
        again = run(root, "import", "substack", str(export))
        assert again.exit_code == 0 and "Nothing new to import" in again.output
        assert _imported(root) == before
        published = run(root, "publish", "--to", "substack", SUBSTACK_SID=SID)
        assert published.exit_code == 0, published.output
        assert published.output.splitlines()[1].split()[:3] == [
            "preparedness-page-changed",
            "substack",
            "unchanged",
        ]
        assert substack.requests_to("POST", "/api/v1/drafts") == []
        assert substack.dangerous_calls == []


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("not a zip"), "is not a zip archive"),
        (lambda p: export_zip(p, [], {}).write_bytes(_zip_without_csv()), "has no posts.csv"),
    ],
)
def test_a_bad_export_is_a_one_line_usage_error(tmp_path, make, message):
    root = tmp_path / "site"
    root.mkdir()
    _config(root)
    bad = tmp_path / "export.zip"
    make(bad)
    result = run(root, "import", "substack", str(bad))
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def _zip_without_csv() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("posts/1.x.html", "<p>x</p>")
    return buffer.getvalue()


def test_a_member_name_in_the_export_never_becomes_a_path(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    _config(root)
    bad = export_zip(
        tmp_path / "export.zip",
        ["1.....evil,2024-01-01T00:00:00Z,true,,,newsletter,everyone,../../evil,,"],
        {"1.....evil.html": "<p>x</p>"},
    )
    result = run(root, "import", "substack", str(bad))
    assert result.exit_code == 0, result.output
    assert [p.name for p in (root / "posts").iterdir()] == ["evil.md"]
    assert not (tmp_path / "evil.md").exists()


ROW = "151234567.a-post,2024-06-03T12:00:00.000Z,true,,,newsletter,everyone,A post,,"


def _zip_of(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


BAD_EXPORTS = {  # name -> (make the export at a path, exit code, words of the one line)
    "missing": (lambda p: p, 2, "no such file"),
    "not a zip": (lambda p: (p.write_bytes(b"PK not really"), p)[1], 2, "not a zip archive"),
    "a folder": (lambda p: (p.mkdir(), p)[1], 2, "is a directory"),
    "no posts.csv": (lambda p: _zip_of(p, {"other.csv": b"a,b\n"}), 2, "has no posts.csv"),
    "wrong columns": (
        lambda p: _zip_of(p, {"posts.csv": b"id,when\n1,2\n"}),
        1,
        "lacks post_id, post_date, is_published or title",
    ),
    "a bad date": (
        lambda p: _zip_of(
            p,
            {
                "posts.csv": (
                    CSV_HEADER + ROW.replace("2024-06-03T12:00:00.000Z", "June 3")
                ).encode(),
                "posts/151234567.a-post.html": b"<p>Words.</p>",
            },
        ),
        1,
        "posts.csv:2: post_date `June 3` is not an ISO 8601 date",
    ),
    "a member too big to be a post": (  # 65 MB of zeros, 64 kB compressed: a zip bomb
        lambda p: _zip_of(
            p,
            {
                "posts.csv": (CSV_HEADER + ROW + "\n").encode(),
                "posts/151234567.a-post.html": bytes(65 * 1024 * 1024),
            },
        ),
        1,
        "too big to be a post",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_EXPORTS))
def test_a_bad_substack_export_is_one_line_and_nothing_is_written(tmp_path, case):
    make, code, words = BAD_EXPORTS[case]
    root = tmp_path / "site"
    root.mkdir()
    _config(root, substack="https://promises.substack.com")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    result = run(root, "import", "substack", str(make(tmp_path / "export.zip")))
    assert result.exit_code == code, result.output
    assert words in result.output and "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) <= 3
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_rows_that_are_not_posts_are_skipped_with_a_line_each(tmp_path):
    rows = [
        ROW,
        "draft-without-a-number,2024-06-04T00:00:00Z,true,,,newsletter,everyone,Odd,,",
        "151234570.no-file,2024-06-05T00:00:00Z,true,,,newsletter,everyone,No file,,",
    ]
    export = _zip_of(
        tmp_path / "export.zip",
        {
            "posts.csv": (CSV_HEADER + "\n".join(rows) + "\n").encode(),
            "posts/151234567.a-post.html": b"<p>Words.</p>",
        },
    )
    root = tmp_path / "site"
    root.mkdir()
    _config(root, substack="https://promises.substack.com")
    result = run(root, "import", "substack", str(export))
    assert result.exit_code == 0, result.output
    assert sorted(_imported(root)) == ["a-post.md"]
    assert "posts.csv:3: post_id `draft-without-a-number` does not start with a number" in (
        result.output
    )
    assert "posts.csv:4: `No file` has no posts/151234570.no-file.html in the archive" in (
        result.output
    )


def test_a_forums_link_post_keeps_its_link(tmp_path, forum):
    """A link post's page is the forum's `url`: it becomes `link:`, shown on the site."""
    link = "https://www.anthropic.com/rsp-updates"
    forum.seed_post(
        forum.user,
        "The RSP update, annotated",
        markdown="What changed, line by line.\n",
        posted_at=dt.datetime(2025, 5, 1, tzinfo=UTC),
        url=link,
    )
    _config(tmp_path, lesswrong=forum.graphql_url)
    assert run(tmp_path, "import", "lesswrong", "--user", "alice").exit_code == 0
    text = _imported(tmp_path)["the-rsp-update-annotated.md"]
    assert f'link: "{link}"\n' in text
    built = run(tmp_path, "build")
    assert built.exit_code == 0, built.output
    page = _page(tmp_path, "the-rsp-update-annotated")
    assert link in [a.get("href") for a in page.iter("a")]
