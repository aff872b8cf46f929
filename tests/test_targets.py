"""The publish-target registry: one entry makes a target everywhere (issue 10, item 3)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import NOW, TOKEN, post
from servers.lesswrong import LessWrongServer
from test_publish import PAPER, graphql_calls, ledger

from toolkit import build as buildlib
from toolkit import schemas, targets
from toolkit.cli import cli

OTHER_TOKEN = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"


@pytest.fixture
def forum():
    with LessWrongServer(token=OTHER_TOKEN, shortform_feed_id="feedOnTheOtherForum") as server:
        yield server
        assert server.handler_errors == []
        assert not server.anything_published


@pytest.fixture
def third_forum(forum):
    """A forum nobody wrote code for: one registry entry, and its URL in the registry."""
    entry = targets.register(
        targets.Target(
            name="alignmentforum",
            kind="forummagnum",
            label="Alignment Forum",
            url_key="graphql_url",
            url=forum.graphql_url,
            credential="AF_TOKEN",
            credential_doc="the `loginToken` cookie of a signed-in browser session",
            shows=targets.Shows(tables=True, math=True),
        )
    )
    yield entry
    del targets.TARGETS[entry.name]


def _target_post(root, name: str) -> None:
    path = root / "posts" / f"{PAPER}.md"
    text = path.read_text()
    assert "targets: [substack, lesswrong]" in text
    path.write_text(text.replace("targets: [substack, lesswrong]", f"targets: [{name}]"))


def test_a_third_forum_is_one_registry_entry(site, third_forum, forum, lesswrong):
    _target_post(site, "alignmentforum")
    runner = CliRunner()
    # check accepts it in `targets`, and the build exports drafts for it.
    assert runner.invoke(cli, ["--root", str(site), "check"]).exit_code == 0
    assert buildlib.build(site, at=NOW).ok
    request = json.loads((site / "drafts" / "alignmentforum" / f"{PAPER}.json").read_text())
    assert request["operationName"] == "CreateDraft"
    assert (site / "drafts" / "alignmentforum" / f"{PAPER}.md").is_file()

    # publish --to takes it, with its own credential, and sends to its own server only.
    result = runner.invoke(
        cli,
        ["--root", str(site), "publish", "--to", "alignmentforum"],
        env={"AF_TOKEN": OTHER_TOKEN, "LESSWRONG_TOKEN": TOKEN},
    )
    assert result.exit_code == 0, result.output
    (row,) = result.stdout.splitlines()[1:]
    assert row.split()[:3] == [PAPER, "alignmentforum", "created"]
    (create,) = graphql_calls(forum, "CreateDraft")
    assert f"loginToken={OTHER_TOKEN}" in create.headers["Cookie"]
    assert create.json["variables"]["data"]["draft"] is True
    assert lesswrong.requests == []
    assert ledger(site)[PAPER]["alignmentforum"]["id"] in forum.posts

    # A missing credential names the entry's own variable.
    result = runner.invoke(
        cli, ["--root", str(site), "publish", "--to", "alignmentforum"], env={"AF_TOKEN": ""}
    )
    assert result.exit_code == 2 and "set $AF_TOKEN" in result.output


def test_the_ea_forum_reads_its_url_from_its_own_table(site, forum, lesswrong):
    config = site / "toolkit.toml"
    config.write_text(config.read_text() + f'\n[eaforum]\ngraphql_url = "{forum.graphql_url}"\n')
    _target_post(site, "eaforum")
    result = CliRunner().invoke(
        cli,
        ["--root", str(site), "publish", PAPER, "--to", "eaforum"],
        env={"EAFORUM_TOKEN": OTHER_TOKEN},
    )
    assert result.exit_code == 0, result.output
    assert len(graphql_calls(forum, "CreateDraft")) == 1
    assert lesswrong.requests == []
    assert "eaforum" in ledger(site)[PAPER]
    text = (site / "published.yaml").read_text()
    assert OTHER_TOKEN not in text and OTHER_TOKEN not in result.output


def test_the_ea_forum_defaults_to_its_real_endpoint(site):
    result = CliRunner().invoke(
        cli, ["--root", str(site), "publish", PAPER, "--to", "eaforum", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "POST https://forum.effectivealtruism.org/graphql" in result.output
    assert (site / "drafts" / "eaforum" / f"{PAPER}.md").is_file()


def test_an_unknown_target_is_refused_everywhere_with_a_suggestion(site):
    runner = CliRunner()
    result = runner.invoke(cli, ["--root", str(site), "publish", "--to", "eaforun"])
    assert result.exit_code == 2
    assert "did you mean `eaforum`" in result.output
    _target_post(site, "eaforun")
    result = runner.invoke(cli, ["--root", str(site), "check"])
    assert result.exit_code == 1
    assert f"posts/{PAPER}.md:" in result.output and "F008" in result.output
    assert "did you mean `eaforum`" in result.output


def test_schema_lists_every_registered_target(tmp_path, third_forum):
    post = schemas.all_schemas()["post.schema.json"]
    assert set(post["properties"]["targets"]["items"]["enum"]) == {
        "substack",
        "lesswrong",
        "eaforum",
        "alignmentforum",
    }
    config = schemas.all_schemas()["toolkit.schema.json"]
    assert "graphql_url" in config["properties"]["alignmentforum"]["properties"]


def test_check_warns_per_target_where_a_post_uses_what_it_cannot_show(project):
    from conftest import post

    body = (
        "Intro.\n"
        "\n"
        "| Lab | Year |\n"
        "|-----|------|\n"
        "| Meta | 2025 |\n"
        "\n"
        "- a point[^n]\n"
        "\n"
        "See ![A chart](https://example.org/chart.png) for the numbers.\n"
        "\n"
        "![An image on its own shows on Substack](https://example.org/alone.png)\n"
        "\n"
        "| Again | x |\n"
        "| --- | --- |\n"
        "\n"
        "[^n]: The note.\n"
    )
    path = project.write(
        "posts/fits.md",
        post(
            "title: Fits\nstatus: published\ndate: 2025-02-14\ntargets: [substack, lesswrong]\n",
            body,
        ),
    )
    lines = path.read_text().splitlines()
    table = lines.index("| Lab | Year |") + 1
    note = lines.index("- a point[^n]") + 1
    image = lines.index("See ![A chart](https://example.org/chart.png) for the numbers.") + 1
    found = [d for d in project.diagnostics() if d.code == "P015"]
    by_line = {(d.line, d.column): d.message for d in found}
    assert set(by_line) == {(table, 1), (note, 10), (image, 5)}, by_line
    assert all(m.startswith("Substack cannot show") for m in by_line.values())
    assert (
        "a table (1 more in this post): its readers get one paragraph per row"
        in (by_line[(table, 1)])
    )
    assert "an image inside a line of text" in by_line[(image, 5)]
    assert "a link to the image" in by_line[(image, 5)]
    # LessWrong shows all three: nothing for it, and nothing once substack is gone.
    path.write_text(path.read_text().replace("[substack, lesswrong]", "[lesswrong]"))
    assert [d for d in project.diagnostics() if d.code == "P015"] == []


def test_each_construct_a_target_lacks_is_one_warning_naming_its_fallback(project):
    body = (
        "Odds $p$ and $$q$$.\n"
        "\n"
        ">! hidden\n"
        "\n"
        "+++ More\n"
        "inside\n"
        "+++\n"
        "\n"
        "- a citation in a list [@openai-prep]\n"
    )
    path = project.write(
        "posts/syntax.md",
        post("title: Syntax\nstatus: published\ndate: 2025-02-14\ntargets: [substack]\n", body),
    )
    lines = path.read_text().splitlines()
    found = {
        d.line: d.message for d in project.diagnostics() if d.code == "P015" and "syntax" in d.path
    }
    spoiler = lines.index(">! hidden") + 1
    section = lines.index("+++ More") + 1
    listed = lines.index("- a citation in a list [@openai-prep]") + 1
    assert set(found) == {spoiler, section, listed}, found  # Substack has its latex nodes
    assert "a `>!` spoiler: its readers get the hidden text shown openly" in found[spoiler]
    assert "collapsible section: its readers get the section's title in bold" in found[section]
    assert "a note reference inside a list item" in found[listed]


def test_a_dry_run_shows_what_the_target_cannot_show(site):
    path = site / "posts" / "spoiled.md"
    path.write_text(
        "---\ntitle: Spoiled\nstatus: published\ndate: 2025-02-14\ntargets: [substack]\n---\n"
        "Text.\n\n>! The ending.\n"
    )
    result = CliRunner().invoke(
        cli, ["--root", str(site), "publish", "spoiled", "--to", "substack", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    warning = next(line for line in result.output.splitlines() if "P015" in line)
    assert warning.startswith("posts/spoiled.md:9:1: warning P015 Substack cannot show a `>!`")


def test_a_note_inside_a_note_is_a_warning_for_substack_only(project):
    from conftest import post

    path = project.write(
        "posts/nested.md",
        post(
            "title: Nested\nstatus: published\ndate: 2025-02-14\ntargets: [substack, lesswrong]\n",
            "Text.[^a]\n\n[^a]: A note that leans on another.[^b]\n\n[^b]: The other.\n",
        ),
    )
    lines = path.read_text().splitlines()
    inner = lines.index("[^a]: A note that leans on another.[^b]") + 1
    found = [d for d in project.diagnostics() if d.code == "P015"]
    assert [(d.line, d.column) for d in found] == [(inner, 36)], found
    assert found[0].message.startswith("Substack cannot show a note inside a note")
    assert "plain superscript" in found[0].message


def test_a_note_in_an_update_is_a_warning_for_every_target(project):
    from conftest import post

    path = project.write(
        "posts/updated.md",
        post(
            "title: Updated\nstatus: published\ndate: 2025-02-14\n"
            "targets: [substack, lesswrong]\nclaims: [openai-prep]\nupdates:\n"
            '  - date: 2025-03-01\n    text: "OpenAI changed the page.[@openai-prep]"\n',
            "Body.\n",
        ),
    )
    line = (
        path.read_text().splitlines().index('    text: "OpenAI changed the page.[@openai-prep]"')
        + 1
    )
    found = [d for d in project.diagnostics() if d.code == "P015"]
    assert sorted(d.message.split(" cannot")[0] for d in found) == ["LessWrong", "Substack"]
    assert {d.line for d in found} == {line}
    assert all("a note in an update" in d.message for d in found)


def test_a_malformed_answer_from_the_ea_forum_names_the_ea_forum(site, forum):
    """Every forum runs the same client; what it says names the forum that answered."""
    config = site / "toolkit.toml"
    config.write_text(config.read_text() + f'\n[eaforum]\ngraphql_url = "{forum.graphql_url}"\n')
    _target_post(site, "eaforum")
    forum.fail_next(200, {"Content-Type": "application/json"}, b'{"data": {"currentUser": "me"}}')
    result = CliRunner().invoke(
        cli,
        ["--root", str(site), "publish", PAPER, "--to", "eaforum"],
        env={"EAFORUM_TOKEN": OTHER_TOKEN},
    )
    assert result.exit_code == 1
    assert "EA Forum answered something unexpected (currentUser" in result.output
    assert "LessWrong" not in result.output
