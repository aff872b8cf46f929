from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
from servers.lesswrong import LessWrongServer
from servers.origin import OriginServer
from servers.substack import SubstackServer
from servers.wayback import WaybackServer

from toolkit import pipeline

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def pytest_configure(config: pytest.Config) -> None:
    # The suite runs `python -m toolkit` in many subprocesses. Where
    # PYTHONDONTWRITEBYTECODE is set (some containers set it), each of them compiled the
    # whole toolkit again, and pytest rewrote every test module again on every run: a
    # third of the suite's time. The tests keep bytecode caches, as an installation does.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite tests/golden/expected/ from what the renderers produce now "
        "(then review the diff; see tests/golden/README.md).",
    )


CONFIG = """\
[site]
title = "Promises, Checked"
base_url = "https://example.org"
author = "A. Writer"

[check]
no_archive_needed = ["lesswrong.com"]
"""

LABS = """\
openai:
  name: OpenAI
  url: https://openai.com
xai:
  name: xAI
  url: https://x.ai
"""


def online_project(root: Path, wayback_url: str, *extra: str) -> None:
    """A bare content repository whose archive is a stand-in Wayback Machine, with short
    network timeouts; `extra` lines go into its [online] table."""
    (root / "snippets").mkdir()
    (root / "posts").mkdir()
    (root / "toolkit.toml").write_text(
        f'[site]\ntitle = "T"\nbase_url = "https://example.org"\n'
        f'[archive]\nwayback_url = "{wayback_url}"\n[online]\ntimeout = 2\n'
        + "".join(f"{line}\n" for line in extra)
    )
    (root / "snippets/labs.yaml").write_text("xai:\n  name: xAI\n")


# Ways to break online_project's toolkit.toml: (text, replacement, where the diagnostic
# points, its code). Only in the last is the archive's URL read; in the others the settings
# fall back to the real web.archive.org, which the tests' proxy sink stands in for.
BROKEN_CONFIGS = {
    "does-not-parse": ("timeout = 2\n", "timeout = 2\nper_host =\n", "toolkit.toml:8:", "F002"),
    "wayback-url-not-a-url": (
        'wayback_url = "http://',
        'wayback_url = "',
        "toolkit.toml:5:",
        "F010",
    ),
    "online-value-of-the-wrong-type": (
        "timeout = 2",
        'timeout = "soon"',
        "toolkit.toml:7:",
        "F004",
    ),
}


def break_config(root: Path, how: str) -> tuple[str, str]:
    """Break `root`'s toolkit.toml as BROKEN_CONFIGS[how] says; (where, code) to expect."""
    old, new, where, code = BROKEN_CONFIGS[how]
    path = root / "toolkit.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return where, code


SNIPPET = """\
---
lab: openai
title: OpenAI's Preparedness page
quote: "We will run evaluations."
source:
  url: https://openai.com/preparedness/
  title: Preparedness
  published: 2023-12-18
archive: https://web.archive.org/web/20240603125126/https://openai.com/preparedness/
status: current
---
Commentary.
"""

POST = """\
---
title: A post
date: 2025-02-14T09:00:00+00:00
status: published
claims: [openai-prep]
---
OpenAI says so.[@openai-prep] A note.[^a]

[^a]: The note.
"""


class Project:
    """A small, clean content repository on disk that tests then break on purpose."""

    def __init__(self, root: Path):
        self.root = root
        self.write("toolkit.toml", CONFIG)
        self.write("snippets/labs.yaml", LABS)
        self.write("snippets/openai/openai-prep.md", SNIPPET)
        self.write("posts/a-post.md", POST)

    def write(self, rel: str, text: str | bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(
                textwrap.dedent(text) if text.startswith("\n") else text, encoding="utf-8"
            )
        return path

    def remove(self, rel: str) -> None:
        (self.root / rel).unlink()

    def run(self, at: dt.datetime = NOW) -> pipeline.Checked:
        return pipeline.run(self.root, at)

    def diagnostics(self, at: dt.datetime = NOW):
        return self.run(at).diagnostics


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A copy of the bundled example content."""
    for name in ("toolkit.toml", "archives.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    for name in ("posts", "snippets"):
        shutil.copytree(REPO / name, tmp_path / name)
    return tmp_path


def post(front: str, body: str) -> str:
    """A post file from front matter lines and a body (front matter starts at line 2)."""
    return "---\n" + textwrap.dedent(front).strip("\n") + "\n---\n" + textwrap.dedent(body)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    """Retries after milliseconds, not seconds, through the variable the toolkit reads
    (declared in toolkit.environment): tests here care that a retry happens and what it does;
    how long the waits are is tested once, with a fake clock, in test_retry.py."""
    monkeypatch.setenv("TOOLKIT_RETRY_BACKOFF", "0.005")


@pytest.fixture(autouse=True)
def quick_forums():
    """The registry's forums with a comment interval of milliseconds, not ForumMagnum's
    8 s: the stand-in forum does not enforce it unless a test asks it to, and the
    spacing itself is tested in test_forum_limits.py with a forum registered for it."""
    from toolkit import targets

    saved = dict(targets.TARGETS)
    for name, target in saved.items():
        if target.comment_interval:
            targets.TARGETS[name] = dataclasses.replace(target, comment_interval=0.001)
    yield
    targets.TARGETS.clear()
    targets.TARGETS.update(saved)


@pytest.fixture
def origin():
    """A stand-in company site (pages, redirects, faults) on 127.0.0.1."""
    with OriginServer() as server:
        yield server
        assert server.handler_errors == []


@pytest.fixture
def wayback():
    """A stand-in Wayback Machine (CDX, raw captures, Save Page Now) on 127.0.0.1."""
    with WaybackServer() as server:
        yield server
        assert server.handler_errors == []


# Publishing: the example content against stand-in Substack and LessWrong servers.
SID = "s%3Asecret-session-id.Zm9vYmFyYmF6"
TOKEN = "7f3c9a1e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d2f4a"


@pytest.fixture
def substack():
    with SubstackServer(secret=SID) as server:
        yield server
        assert server.handler_errors == []
        assert server.dangerous_calls == []  # nothing was ever published, scheduled or sent


@pytest.fixture
def lesswrong():
    with LessWrongServer(token=TOKEN, shortform_feed_id="shortformFeed1234") as server:
        yield server
        assert server.handler_errors == []
        assert not server.anything_published


@pytest.fixture
def site(tmp_path: Path, substack, lesswrong) -> Path:
    """The example content, pointed at the stand-in servers."""
    for name in ("toolkit.toml", "archives.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    for name in ("posts", "snippets"):
        shutil.copytree(REPO / name, tmp_path / name)
    config = (tmp_path / "toolkit.toml").read_text()
    config = config.replace(
        'publication_url = "https://promises-checked.substack.com"',
        f'publication_url = "{substack.url}"',
    )
    config = config.replace(
        'graphql_url = "https://www.lesswrong.com/graphql"',
        f'graphql_url = "{lesswrong.graphql_url}"',
    )
    (tmp_path / "toolkit.toml").write_text(config)
    return tmp_path
