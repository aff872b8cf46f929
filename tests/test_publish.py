"""`toolkit publish` against stand-in Substack and LessWrong servers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import SID, TOKEN
from servers.lesswrong import VERCEL_CHALLENGE
from servers.substack import CLOUDFLARE_1010, validate_prosemirror

from toolkit.cli import cli

PAPER = "paris-frameworks-compared"
NOTE = "preparedness-page-redirects"


def publish(root: Path, *args: str, env: dict | None = None):
    environment = {"SUBSTACK_SID": SID, "LESSWRONG_TOKEN": TOKEN, "TOOLKIT_HTTP_TIMEOUT": "2"}
    environment.update(env or {})
    return CliRunner().invoke(cli, ["--root", str(root), "publish", *args], env=environment)


def ledger(root: Path) -> dict:
    return yaml.safe_load((root / "published.yaml").read_text())


def edit(root: Path, slug: str, old: str, new: str) -> None:
    path = root / "posts" / f"{slug}.md"
    path.write_text(path.read_text().replace(old, new, 1))


def secrets_nowhere(root: Path, *outputs: str) -> None:
    for text in outputs:
        assert SID not in text and TOKEN not in text
    for path in [root / "published.yaml", *(root / "drafts").rglob("*")]:
        if path.is_file():
            data = path.read_text()
            assert SID not in data and TOKEN not in data, path


# Substack ----------------------------------------------------------------------------------


def test_substack_first_push_creates_a_draft_with_the_exact_request(site, substack):
    result = publish(site, PAPER, "--to", "substack")
    assert result.exit_code == 0, result.output
    (create,) = substack.requests_to("POST", "/api/v1/drafts")
    assert create.headers["Cookie"] == f"connect.sid={SID}"  # a custom domain's cookie
    assert create.headers["Content-Type"] == "application/json"
    assert create.headers["User-Agent"].startswith("toolkit/")
    body = create.json
    assert set(body) == {
        "draft_title",
        "draft_subtitle",
        "draft_body",
        "draft_bylines",
        "audience",
        "type",
    }
    assert body["draft_title"] == "The Paris frameworks, side by side"
    assert body["draft_bylines"] == [{"id": substack.user_id, "is_guest": False}]
    assert isinstance(body["draft_body"], str)
    doc = json.loads(body["draft_body"])
    assert validate_prosemirror(doc) == []
    assert len(substack.requests_to("GET", "/api/v1/subscription")) == 1  # byline, once

    (draft_id,) = substack.drafts
    entry = ledger(site)[PAPER]["substack"]
    assert entry["id"] == draft_id
    assert entry["url"] == f"{substack.url}/publish/post/{draft_id}"
    assert "pending" not in entry and entry["sent_hash"] and entry["remote"]["content_hash"]
    assert PAPER in result.stdout and "created" in result.stdout and entry["url"] in result.stdout
    secrets_nowhere(site, result.stdout, result.stderr)


def test_substack_second_push_updates_the_same_draft(site, substack):
    assert publish(site, PAPER, "--to", "substack").exit_code == 0
    again = publish(site, PAPER, "--to", "substack")
    assert "unchanged" in again.stdout
    assert substack.requests_to("PUT") == []
    edit(site, PAPER, "Publishing is the easy part.", "Publishing was the easy part.")
    result = publish(site, PAPER, "--to", "substack")
    assert result.exit_code == 0, result.output
    assert "updated" in result.stdout
    assert len(substack.requests_to("POST", "/api/v1/drafts")) == 1
    (draft_id,) = substack.drafts
    (put,) = substack.requests_to("PUT", f"/api/v1/drafts/{draft_id}")
    assert set(put.json) == {"draft_title", "draft_subtitle", "draft_body", "draft_bylines"}
    assert "Publishing was the easy part." in json.dumps(substack.draft_doc(draft_id))
    gets = substack.requests_to("GET", f"/api/v1/drafts/{draft_id}")
    assert gets and gets[-1].time <= put.time  # read the remote draft before writing it


def test_substack_refuses_to_overwrite_an_edit_made_on_substack(site, substack):
    assert publish(site, PAPER, "--to", "substack").exit_code == 0
    (draft_id,) = substack.drafts
    substack.edit_draft(draft_id, title="Edited in the Substack editor")
    edit(site, PAPER, "Publishing is the easy part.", "Publishing was the easy part.")
    refused = publish(site, PAPER, "--to", "substack")
    assert refused.exit_code == 1
    assert "refused" in refused.stdout and "edited on Substack" in refused.stdout
    assert substack.requests_to("PUT") == []
    assert substack.drafts[draft_id]["draft_title"] == "Edited in the Substack editor"
    forced = publish(site, PAPER, "--to", "substack", "--force")
    assert forced.exit_code == 0 and "updated" in forced.stdout
    assert substack.drafts[draft_id]["draft_title"] == "The Paris frameworks, side by side"


def test_substack_killed_between_create_and_ledger_write_leaves_no_duplicate(site, substack):
    create = substack.hold_next(method="POST", path="/api/v1/drafts")
    env = {**os.environ, "SUBSTACK_SID": SID, "TOOLKIT_HTTP_TIMEOUT": "30"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "toolkit",
            "--root",
            str(site),
            "publish",
            PAPER,
            "--to",
            "substack",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert create.arrived.wait(30)
    proc.send_signal(signal.SIGKILL)  # the draft is being made; we never hear back
    proc.wait()
    create.release()
    assert create.handled.wait(30)
    assert len(substack.drafts) == 1
    assert "pending" in ledger(site)[PAPER]["substack"]

    result = publish(site, PAPER, "--to", "substack")
    assert result.exit_code == 0, result.output
    assert len(substack.requests_to("POST", "/api/v1/drafts")) == 1  # never a second create
    assert len(substack.drafts) == 1
    (draft_id,) = substack.drafts
    assert ledger(site)[PAPER]["substack"]["id"] == draft_id
    assert substack.requests_to("GET", "/api/v1/post_management/drafts")


@pytest.mark.parametrize(
    "fault,expected",
    [
        (
            {"status": 401, "body": {"errors": [{"msg": "Please sign in", "param": None}]}},
            "not signed in (401)",
        ),
        (CLOUDFLARE_1010, "refused the request (403)"),
    ],
)
def test_substack_auth_failures_say_what_to_do(site, substack, fault, expected):
    substack.fail_next(**fault, path="/api/v1/subscription")
    result = publish(site, PAPER, "--to", "substack")
    assert result.exit_code == 1
    assert expected in result.stdout and "$SUBSTACK_SID" in result.stdout
    assert "Traceback" not in result.output
    assert substack.requests_to("POST") == []
    secrets_nowhere(site, result.stdout, result.stderr)


def test_substack_retries_reads_after_retry_after_but_never_a_create(site, substack):
    substack.fail_next(429, {"Retry-After": "1"}, "slow down", path="/api/v1/subscription")
    started = time.monotonic()
    assert publish(site, PAPER, "--to", "substack").exit_code == 0
    assert time.monotonic() - started >= 1  # it waited as told
    assert len(substack.requests_to("GET", "/api/v1/subscription")) == 2

    substack.fail_next(429, {"Retry-After": "1"}, "slow down", method="POST")
    result = publish(site, NOTE, "--to", "substack")
    assert result.exit_code == 1
    assert "limiting requests (429); wait 1 s" in result.stdout
    assert len(substack.requests_to("POST", "/api/v1/drafts")) == 2  # one each, no retry


def test_substack_server_errors_and_timeouts(site, substack):
    assert publish(site, PAPER, "--to", "substack").exit_code == 0
    edit(site, PAPER, "Publishing is the easy part.", "Publishing was the easy part.")
    substack.fail_next(500, method="PUT")
    assert publish(site, PAPER, "--to", "substack").exit_code == 0  # an update is retried

    edit(site, PAPER, "Publishing was the easy part.", "Publishing is still easy.")
    for _ in range(3):
        substack.fail_next(503, method="PUT")
    result = publish(site, PAPER, "--to", "substack")
    assert result.exit_code == 1 and "server error (503)" in result.stdout

    substack.delay_next(1, method="POST")
    result = publish(site, NOTE, "--to", "substack", env={"TOOLKIT_HTTP_TIMEOUT": "0.2"})
    assert result.exit_code == 1 and "did not answer within 0.2 s" in result.stdout


def test_no_network_is_a_clear_message(site):
    config = site / "toolkit.toml"
    text = config.read_text()
    start = text.index('publication_url = "') + len('publication_url = "')
    end = text.index('"', start)
    config.write_text(text[:start] + "http://127.0.0.1:9" + text[end:])  # nothing listens
    result = publish(site, PAPER, "--to", "substack")
    assert result.exit_code == 1
    assert "cannot reach Substack (127.0.0.1:9)" in result.stdout
    assert not (site / "published.yaml").exists() or PAPER not in ledger(site)


def test_missing_credentials_are_a_usage_error(site, substack):
    result = CliRunner().invoke(
        cli, ["--root", str(site), "publish", PAPER, "--to", "substack"], env={"SUBSTACK_SID": ""}
    )
    assert result.exit_code == 2 and "set $SUBSTACK_SID" in result.output
    assert substack.requests == []


@pytest.mark.parametrize("token", ["", "   "], ids=["empty", "blank"])
def test_a_missing_lesswrong_token_is_a_usage_error_and_nothing_is_sent(site, lesswrong, token):
    result = publish(site, PAPER, "--to", "lesswrong", env={"LESSWRONG_TOKEN": token})
    assert result.exit_code == 2
    assert "set $LESSWRONG_TOKEN to the `loginToken` cookie" in result.output
    assert "Traceback" not in result.output
    assert lesswrong.requests == []
    assert not (site / "published.yaml").exists()


def test_a_post_with_check_errors_is_refused_naming_the_error(site, lesswrong):
    edit(
        site,
        PAPER,
        "Publishing is the easy part.",
        "Publishing is the easy part [@no-such-snippet].",
    )
    result = publish(site, PAPER, "--to", "lesswrong")
    assert result.exit_code == 1
    (row,) = result.stdout.splitlines()[1:]
    assert row.split()[:3] == [PAPER, "lesswrong", "refused"]
    assert f"posts/{PAPER}.md:" in row and "P003 cites `no-such-snippet`" in row
    assert graphql_calls(lesswrong, "CreateDraft") == []
    assert not (site / "published.yaml").exists()


@pytest.mark.parametrize("broken", ["does-not-parse", "graphql-url-of-the-wrong-type"])
def test_a_broken_toolkit_toml_stops_publish_before_any_request(site, lesswrong, broken):
    # A setting that does not load falls back to its default: the real LessWrong. So
    # publish must not run at all; the proxy sink is where a request to it would go.
    from servers.proxy import ProxySink

    config = site / "toolkit.toml"
    text = config.read_text()
    if broken == "does-not-parse":
        text = text.replace("[lesswrong]\n", "[lesswrong]\nbroken =\n", 1)
    else:
        start = text.index('graphql_url = "')
        end = text.index("\n", start)
        text = text[:start] + "graphql_url = 5" + text[end:]
    config.write_text(text)
    line = (
        text[: text.index("broken =" if broken == "does-not-parse" else "graphql_url = 5")].count(
            "\n"
        )
        + 1
    )
    with ProxySink() as sink:
        result = publish(site, PAPER, "--to", "lesswrong", env=sink.environment())
        assert sink.requests == []
    assert result.exit_code == 1
    assert f"toolkit.toml:{line}:" in result.stderr and "nothing was sent" in result.stderr
    assert "Traceback" not in result.output
    assert lesswrong.requests == []
    assert not (site / "published.yaml").exists()


def test_substack_without_a_publication_url_says_where_to_set_it(site, substack):
    config = site / "toolkit.toml"
    text = config.read_text()
    start = text.index("publication_url = ")
    config.write_text(text[:start] + text[text.index("\n", start) + 1 :])
    result = publish(site, PAPER, "--to", "substack")
    assert result.exit_code == 2
    assert "set [substack] publication_url in toolkit.toml" in result.output
    assert "Traceback" not in result.output
    assert substack.requests == []


@pytest.mark.parametrize(
    "text,problem",
    [
        (
            f"{PAPER}:\n  lesswrong: x\n    id: 2\n",
            "published.yaml:3:7: does not parse (mapping values are not allowed here); "
            "fix it by hand",
        ),
        (f"- {PAPER}\n", "published.yaml must map post slugs to services"),
        (
            f"{PAPER}:\n  lesswrong:\n    id: &a [1, *a]\n",
            "published.yaml:3:16: the alias `*a` is inside its own anchor",
        ),
    ],
    ids=["does-not-parse", "not-a-mapping", "alias-inside-its-anchor"],
)
def test_an_unreadable_ledger_is_named_and_left_as_it_is(site, lesswrong, text, problem):
    (site / "published.yaml").write_text(text)
    result = publish(site, PAPER, "--to", "lesswrong")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"toolkit publish: {problem}")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.output
    assert lesswrong.requests == []  # no draft that the ledger could not record
    assert (site / "published.yaml").read_text() == text


def test_dry_run_sends_nothing_and_hides_the_secret(site, substack, lesswrong):
    result = publish(site, "--to", "substack", "--dry-run", PAPER)
    assert result.exit_code == 0, result.output
    assert substack.requests == []
    assert f"POST {substack.url}/api/v1/drafts" in result.stdout
    assert "Cookie: connect.sid=***" in result.stdout
    exported = json.loads((site / f"drafts/substack/{PAPER}.json").read_text())
    assert isinstance(exported["draft_body"], str)
    assert validate_prosemirror(json.loads(exported["draft_body"])) == []
    assert (site / f"drafts/substack/{PAPER}.html").read_text().startswith("<!doctype html>")
    result = publish(site, "--to", "lesswrong", "--dry-run")
    assert lesswrong.requests == []
    assert "Cookie: loginToken=***" in result.stdout
    secrets_nowhere(site, result.stdout, result.stderr)


def test_unknown_post_is_a_usage_error_with_a_suggestion(site):
    result = publish(site, "paris-frameworks", "--to", "substack")
    assert result.exit_code == 2 and "did you mean `paris-frameworks-compared`?" in result.output


# LessWrong ---------------------------------------------------------------------------------


def graphql_calls(server, operation: str):
    return [
        r
        for r in server.requests_to("POST", "/graphql")
        if (r.json or {}).get("operationName") == operation
    ]


def test_lesswrong_checks_the_token_then_creates_a_draft_post(site, lesswrong):
    result = publish(site, PAPER, "--to", "lesswrong")
    assert result.exit_code == 0, result.output
    calls = lesswrong.requests_to("POST", "/graphql")
    assert calls[0].json["operationName"] == "CurrentUser"
    (create,) = graphql_calls(lesswrong, "CreateDraft")
    assert "loginToken" in create.headers["Cookie"]
    data = create.json["variables"]["data"]
    assert data["draft"] is True and data["title"] == "The Paris frameworks, side by side"
    assert data["contents"]["originalContents"]["type"] == "markdown"
    (post_id,) = lesswrong.posts.keys() - {
        p for p in lesswrong.posts if lesswrong.posts[p].get("shortform")
    }
    entry = ledger(site)[PAPER]["lesswrong"]
    assert entry["id"] == post_id and entry["kind"] == "post"
    assert entry["url"].startswith(lesswrong.site_url + "/posts/" + post_id)
    assert lesswrong.posts[post_id]["draft"] is True
    secrets_nowhere(site, result.stdout, result.stderr)


def test_lesswrong_second_push_updates_without_touching_draft(site, lesswrong):
    assert publish(site, PAPER, "--to", "lesswrong").exit_code == 0
    edit(site, PAPER, "Publishing is the easy part.", "Publishing was the easy part.")
    result = publish(site, PAPER, "--to", "lesswrong")
    assert result.exit_code == 0 and "updated" in result.stdout
    (update,) = graphql_calls(lesswrong, "UpdateDraft")
    assert "draft" not in update.json["variables"]["data"]  # sending it could publish
    assert len(graphql_calls(lesswrong, "CreateDraft")) == 1
    post_id = ledger(site)[PAPER]["lesswrong"]["id"]
    assert "Publishing was the easy part." in lesswrong.latest(post_id)["originalContents"]["data"]


def test_lesswrong_shortform_becomes_a_draft_quick_take(site, lesswrong):
    result = publish(site, NOTE, "--to", "lesswrong")
    assert result.exit_code == 0, result.output
    (create,) = graphql_calls(lesswrong, "CreateQuickTake")
    data = create.json["variables"]["data"]
    assert data["shortform"] is True and data["draft"] is True
    assert data["postId"] == "shortformFeed1234"
    markdown = data["contents"]["originalContents"]["data"]
    assert "[^1]:" in markdown and "[^3]:" in markdown
    assert ledger(site)[NOTE]["lesswrong"]["kind"] == "quick take"
    edit(site, NOTE, "A small thing", "A small but telling thing")
    assert "updated" in publish(site, NOTE, "--to", "lesswrong").stdout
    assert len(graphql_calls(lesswrong, "UpdateQuickTake")) == 1


def test_lesswrong_refuses_an_edit_made_on_the_site(site, lesswrong):
    assert publish(site, PAPER, "--to", "lesswrong").exit_code == 0
    post_id = ledger(site)[PAPER]["lesswrong"]["id"]
    lesswrong.edit_post(post_id, markdown="Rewritten on LessWrong.")
    edit(site, PAPER, "Publishing is the easy part.", "Publishing was the easy part.")
    result = publish(site, PAPER, "--to", "lesswrong")
    assert result.exit_code == 1 and "edited on LessWrong" in result.stdout
    assert graphql_calls(lesswrong, "UpdateDraft") == []


def test_lesswrong_bad_token_graphql_errors_and_edge_blocks(site, lesswrong):
    bad = publish(site, PAPER, "--to", "lesswrong", env={"LESSWRONG_TOKEN": "not-a-token"})
    assert bad.exit_code == 1 and "does not recognise $LESSWRONG_TOKEN" in bad.stdout
    assert graphql_calls(lesswrong, "CreateDraft") == []

    lesswrong.fail_operation("CreateDraft", "Unrecognized format: markdown2")
    result = publish(site, PAPER, "--to", "lesswrong")
    assert result.exit_code == 1 and "LessWrong: Unrecognized format: markdown2" in result.stdout
    assert "pending" in ledger(site)[PAPER]["lesswrong"]  # the next run checks before creating

    lesswrong.fail_next(**VERCEL_CHALLENGE)
    sent = len(lesswrong.requests)
    blocked = publish(site, PAPER, "--to", "lesswrong")
    assert blocked.exit_code == 1
    assert LW_BOT_WALL in blocked.stdout and "limiting requests" not in blocked.stdout
    assert len(lesswrong.requests) == sent + 1  # the challenge, and nothing after it


LW_BOT_WALL = (
    "LessWrong's edge is challenging scripts right now (bot protection); try "
    "later, or paste drafts/lesswrong/<slug>.md into the editor"
)
SS_BOT_WALL = (
    "Substack's edge is challenging scripts right now (bot protection); try "
    "later, or paste drafts/substack/<slug>.html into the editor"
)
CF_CHALLENGE = {
    "headers": {
        "Content-Type": "text/html; charset=UTF-8",
        "Server": "cloudflare",
        "cf-mitigated": "challenge",
    },
    "body": "<html><title>Just a moment...</title></html>",
}


@pytest.mark.parametrize(
    "fault",
    [
        # A Retry-After the client would otherwise sit out, then retry past the challenge.
        {**VERCEL_CHALLENGE, "headers": {**VERCEL_CHALLENGE["headers"], "Retry-After": "1"}},
        {**CF_CHALLENGE, "status": 403},
        {**CF_CHALLENGE, "status": 503},  # a 5xx read would otherwise be retried
    ],
    ids=["vercel-429-retry-after", "cloudflare-403", "cloudflare-503"],
)
def test_an_edge_challenge_is_named_and_never_retried(site, lesswrong, substack, fault):
    lesswrong.fail_next(**fault)  # the first request: CurrentUser, a read that may be retried
    result = publish(site, PAPER, "--to", "lesswrong")
    assert result.exit_code == 1
    assert LW_BOT_WALL in result.stdout
    assert len(lesswrong.requests) == 1
    assert not (site / "published.yaml").exists()  # no create was even begun

    substack.fail_next(**fault, path="/api/v1/subscription")
    result = publish(site, PAPER, "--to", "substack")
    assert result.exit_code == 1
    assert SS_BOT_WALL in result.stdout and "$SUBSTACK_SID" not in result.stdout
    assert len(substack.requests) == 1 and substack.requests_to("POST") == []


def test_lesswrong_killed_between_create_and_ledger_write(site, lesswrong):
    create = lesswrong.hold_operation("CreateDraft")
    env = {**os.environ, "LESSWRONG_TOKEN": TOKEN, "TOOLKIT_HTTP_TIMEOUT": "30"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "toolkit",
            "--root",
            str(site),
            "publish",
            PAPER,
            "--to",
            "lesswrong",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert create.arrived.wait(30)
    assert graphql_calls(lesswrong, "CreateDraft")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    create.release()
    assert create.handled.wait(30)
    drafts = lambda: [p for p in lesswrong.posts.values() if not p.get("shortform")]  # noqa: E731
    assert len(drafts()) == 1 and "pending" in ledger(site)[PAPER]["lesswrong"]

    result = publish(site, PAPER, "--to", "lesswrong")
    assert result.exit_code == 0, result.output
    assert len(graphql_calls(lesswrong, "CreateDraft")) == 1
    assert len(drafts()) == 1
    assert ledger(site)[PAPER]["lesswrong"]["id"] == drafts()[0]["_id"]


def test_publish_without_slugs_takes_published_posts_that_name_the_service(site, lesswrong):
    result = publish(site, "--to", "lesswrong")
    assert result.exit_code == 0, result.output
    assert {PAPER, NOTE, "o3-mini-post-mitigation-evals"} <= set(ledger(site))
    assert "weight-security-notes" not in ledger(site)  # a local draft stays local
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["POST", "SERVICE", "RESULT", "DRAFT"]
    assert all(" created " in line for line in lines[1:])


def test_build_exports_paste_ready_drafts(site):
    result = CliRunner().invoke(cli, ["--root", str(site), "build"])
    assert result.exit_code == 0, result.output
    request = json.loads((site / f"drafts/lesswrong/{PAPER}.json").read_text())
    assert request["operationName"] == "CreateDraft"
    assert request["variables"]["data"]["draft"] is True
    markdown = (site / f"drafts/lesswrong/{PAPER}.md").read_text()
    assert request["variables"]["data"]["contents"]["originalContents"]["data"] == markdown
    body = json.loads((site / f"drafts/substack/{PAPER}.json").read_text())
    assert validate_prosemirror(json.loads(body["draft_body"])) == []
    assert not (site / "drafts/substack/o3-mini-post-mitigation-evals.json").exists()
