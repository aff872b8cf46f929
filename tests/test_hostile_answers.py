"""Malformed answers from services (tests/hostile/answers/): each is one clear line that
names the service, never a traceback, and nothing it said is recorded."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import REPO, online_project
from servers.lesswrong import LessWrongServer
from servers.origin import OriginServer
from servers.substack import SubstackServer
from servers.wayback import WaybackServer

from toolkit.cli import cli

ANSWERS = Path(__file__).parent / "hostile" / "answers"
CASES = sorted(ANSWERS.glob("*.json"))
SID = "s%3Asecret-session-id.Zm9vYmFyYmF6"
TOKEN = "7f3c9a1e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d2f4a"
KEYS = {
    "WAYBACK_ACCESS_KEY": "test-access",
    "WAYBACK_SECRET_KEY": "test-secret",
    "TOOLKIT_SPN_POLL": "0.01",
}
PAPER = "paris-frameworks-compared"
# What may not reach a terminal raw: C0 controls other than newline, DEL and C1.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
PAGE = "<html><body><p>We will publish a report before each deployment.</p></body></html>"


def body(answer) -> str:
    return answer["text"] * answer["repeat"] if isinstance(answer, dict) else answer


def files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".toolkit" not in p.parts
    }


def run(root: Path, args: list[str], env: dict[str, str]):
    result = CliRunner().invoke(cli, ["--root", str(root), *args], env=env)
    assert "Traceback" not in result.output, result.output
    assert RAW_CONTROL.search(result.output) is None, repr(result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result


def online(tmp_path: Path, case: dict):
    """check --online or archive, against a stand-in archive that answers `case`'s bodies."""
    with WaybackServer() as wayback, OriginServer() as origin:
        online_project(tmp_path, wayback.url)
        url = origin.url_for("/a")
        origin.page("/a", PAGE)
        wayback.set_live(url, PAGE)
        archive = ""
        if case["command"] == "check-online":
            wayback.add_capture(url, "20250210221647", PAGE)
            archive = f"archive: {wayback.snapshot_url('20250210221647', url)}\n"
        (tmp_path / "snippets/a.md").write_text(
            f"---\nlab: xai\ntitle: A\nquote: We will publish a report\nsource:\n"
            f"  url: {url}\n  accessed: 2025-02-10\n{archive}---\n"
        )
        before = files(tmp_path)
        for answer in case["answers"]:
            wayback.fail_next(
                200, {"Content-Type": "application/json"}, body(answer), path=case["path"]
            )
        if case["command"] == "check-online":
            result = run(tmp_path, ["check", "--online"], {})
        else:
            result = run(tmp_path, ["archive"], KEYS)
        assert wayback.pending_faults == []  # every bad answer was asked for and read
        assert files(tmp_path) == before  # nothing it said was written
        return result


def publish(tmp_path: Path, case: dict):
    """publish --to a stand-in service that answers `case`'s bodies; published.yaml after."""
    with (
        SubstackServer(secret=SID) as substack,
        LessWrongServer(token=TOKEN, shortform_feed_id="shortformFeed1234") as lesswrong,
    ):
        for name in ("toolkit.toml", "archives.yaml"):
            shutil.copy(REPO / name, tmp_path / name)
        for name in ("posts", "snippets"):
            shutil.copytree(REPO / name, tmp_path / name)
        config = (tmp_path / "toolkit.toml").read_text()
        config = config.replace("https://promises-checked.substack.com", substack.url)
        config = config.replace("https://www.lesswrong.com/graphql", lesswrong.graphql_url)
        (tmp_path / "toolkit.toml").write_text(config)
        server = lesswrong if case["to"] == "lesswrong" else substack
        for answer in case["answers"]:
            server.fail_next(
                200,
                {"Content-Type": "application/json"},
                body(answer),
                path=case["path"],
                method=case.get("method"),
            )
        env = {"SUBSTACK_SID": SID, "LESSWRONG_TOKEN": TOKEN, "TOOLKIT_HTTP_TIMEOUT": "2"}
        result = run(tmp_path, ["publish", PAPER, "--to", case["to"]], env)
        assert server.pending_faults == []
        assert not lesswrong.anything_published and substack.dangerous_calls == []
        assert SID not in result.output and TOKEN not in result.output
        return result


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_a_malformed_answer_is_one_line_naming_the_service(tmp_path, path):
    case = json.loads(path.read_text())
    if case["command"] == "publish":
        result = publish(tmp_path, case)
        ledger = tmp_path / "published.yaml"
        entry = (yaml.safe_load(ledger.read_text()) or {}) if ledger.exists() else {}
        recorded = entry.get(PAPER, {}).get(case["to"], {})
        # At most a note that a create was sent (the next run looks for that draft).
        assert set(recorded) <= {"pending"}, recorded
    else:
        result = online(tmp_path, case)
    assert result.exit_code == case["exit"], result.output
    assert case["says"] in result.output, result.output
    said = [line for line in result.output.splitlines() if case["says"] in line]
    assert len(said) == 1, result.output
