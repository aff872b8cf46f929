"""`toolkit archive` against a stand-in Wayback Machine (CDX and Save Page Now 2) on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from click.testing import CliRunner
from conftest import BROKEN_CONFIGS, break_config, online_project
from servers.dropper import Dropper
from servers.proxy import ProxySink
from servers.wayback import WaybackServer

from toolkit.cli import cli
from toolkit.retry import RetryPolicy

ACCESS, SECRET = "test-access", "test-secret"
KEYS = {"WAYBACK_ACCESS_KEY": ACCESS, "WAYBACK_SECRET_KEY": SECRET, "TOOLKIT_SPN_POLL": "0.01"}
NO_KEYS = {"WAYBACK_ACCESS_KEY": "", "WAYBACK_SECRET_KEY": "", "TOOLKIT_SPN_POLL": "0.01"}
PAGE = "<html><body><p>We will publish a report before each deployment.</p></body></html>"

# A snippet as a person writes one: comments, a quoted title, keys in their own order, a
# block-scalar quote, and no archive yet.
HANDWRITTEN = """\
---
# Claim about pre-deployment reports.
lab: xai
title: 'Reports: before deployment'   # single quotes, on purpose
quote: >-
  We will publish a report
  before each deployment.
source:
  url: {url}
  accessed: 2025-02-10
topics: [reports]
---
Why it matters, in the writer's words.
"""


class LaggingWayback(WaybackServer):
    """An archive whose index catches up when a save is asked for (a capture made earlier
    today that CDX did not list yet)."""

    def handle(self, request):
        if request.route == "/save" and request.method == "POST":
            self.flush_index()
        return super().handle(request)


class Repo:
    def __init__(self, root: Path, wayback: WaybackServer):
        self.root, self.wayback = root, wayback
        online_project(root, wayback.url)

    def write(self, rel: str, text: str, newline: str = "\n") -> Path:
        path = self.root / rel
        path.write_bytes(text.replace("\n", newline).encode())
        return path

    def snippet(self, name: str, url: str, text: str = HANDWRITTEN, newline: str = "\n") -> Path:
        return self.write(f"snippets/{name}.md", text.format(url=url), newline)

    def run(self, *args: str, env: dict[str, str] = NO_KEYS):
        return CliRunner().invoke(cli, ["--root", str(self.root), "archive", *args], env=env)

    def snapshot(self) -> dict[str, bytes]:
        return {
            str(p.relative_to(self.root)): p.read_bytes()
            for p in sorted(self.root.rglob("*"))
            if p.is_file() and ".toolkit" not in p.parts
        }

    def check(self):
        return CliRunner().invoke(cli, ["--root", str(self.root), "check"])


@pytest.fixture
def repo(tmp_path, wayback) -> Repo:
    return Repo(tmp_path, wayback)


def with_archive_line(original: str, line: str, after: str) -> str:
    """The file as it should be: `original` with `line` inserted after the line `after`."""
    at = original.index(after) + len(after)
    return original[:at] + line + original[at:]


# Finding an existing capture ------------------------------------------------------------


def test_the_capture_nearest_the_accessed_date_is_written_in_byte_exactly(repo, wayback):
    url = "https://x.ai/reports"
    wayback.add_capture(url, "20241101120000", PAGE)
    wayback.add_capture(url, "20250201080000", PAGE)  # the last good one before 10 Feb
    wayback.add_capture(url, "20250205080000", "<h1>Oops</h1>", status=500)  # not good
    wayback.add_capture(url, "20250301080000", PAGE)  # after it
    path = repo.snippet("reports", url)
    before = path.read_text()
    path.chmod(0o640)

    result = repo.run()

    assert result.exit_code == 0, result.output
    snapshot = wayback.snapshot_url("20250201080000", url)
    assert path.read_text() == with_archive_line(
        before, f"archive: {snapshot}\n", "  accessed: 2025-02-10\n"
    )
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)
    assert f"snippets/reports.md: found {url} -> {snapshot}" in result.output
    assert "1 URL: 1 found." in result.output
    assert not [r for r in wayback.requests if r.route.startswith("/save")]
    assert repo.check().exit_code == 0  # and what it wrote is a valid snippet


def test_with_no_capture_before_the_date_the_first_after_it_is_taken(repo, wayback):
    url = "https://x.ai/later"
    wayback.add_capture(url, "20250601000000", PAGE)
    wayback.add_capture(url, "20250901000000", PAGE)
    path = repo.snippet("later", url)
    assert repo.run().exit_code == 0
    assert f"archive: {wayback.snapshot_url('20250601000000', url)}\n" in path.read_text()


def test_an_empty_archive_line_is_filled_in_and_its_comment_kept(repo, wayback):
    url = "https://x.ai/empty"
    wayback.add_capture(url, "20250201080000", PAGE)
    text = HANDWRITTEN.replace("topics:", "archive:   # fill me in\ntopics:")
    path = repo.snippet("empty", url, text)
    before = path.read_text()
    assert repo.run().exit_code == 0
    snapshot = wayback.snapshot_url("20250201080000", url)
    assert path.read_text() == before.replace(
        "archive:   # fill me in", f"archive: {snapshot}  # fill me in"
    )


def test_crlf_line_endings_and_a_byte_order_mark_are_kept(repo, wayback):
    url = "https://x.ai/windows"
    wayback.add_capture(url, "20250201080000", PAGE)
    path = repo.snippet("windows", url, "\ufeff" + HANDWRITTEN, newline="\r\n")
    before = path.read_bytes()
    assert repo.run().exit_code == 0
    line = f"archive: {wayback.snapshot_url('20250201080000', url)}\r\n".encode()
    after = b"  accessed: 2025-02-10\r\n"
    at = before.index(after) + len(after)
    assert path.read_bytes() == before[:at] + line + before[at:]


def test_a_snippet_with_an_archive_of_its_own_is_left_alone(repo, wayback):
    url = "https://x.ai/mine"
    wayback.add_capture(url, "20250201080000", PAGE)
    text = HANDWRITTEN.replace("topics:", "archive: https://archive.ph/AbCdE\ntopics:")
    repo.snippet("mine", url, text)
    before = repo.snapshot()
    result = repo.run(env=KEYS)
    assert result.exit_code == 0, result.output
    assert "already has an archived copy" in result.output
    assert repo.snapshot() == before
    assert wayback.requests == []  # archive.today links are never sent anywhere either


def test_links_in_posts_are_appended_to_archives_yaml_keeping_its_bytes(repo, wayback):
    kept, missing = "https://metr.org/kept", "https://metr.org/blog/rsp"
    wayback.add_capture(missing, "20250110000000", PAGE)
    archives = repo.write(
        "archives.yaml",
        textwrap.dedent(f"""\
        # Copies I checked by hand.
        "{kept}":
            archive: 'https://web.archive.org/web/20240101000000/{kept}'   # good one
        """),
    )
    before = archives.read_bytes()
    repo.write(
        "posts/p.md",
        f"---\ntitle: P\n---\nSee [kept]({kept}), [this]({missing}) and "
        f"[a part of it]({missing}#section).\n",
    )

    result = repo.run()

    assert result.exit_code == 0, result.output
    after = archives.read_bytes()
    assert after.startswith(before)
    snapshot = wayback.snapshot_url("20250110000000", missing)
    assert yaml.safe_load(after) == {
        kept: {"archive": f"https://web.archive.org/web/20240101000000/{kept}"},
        missing: {"archive": snapshot},
        f"{missing}#section": {"archive": f"{snapshot}#section"},
    }
    assert after.decode().endswith(f"    archive: {snapshot}#section\n")  # its indentation
    cdx = [r.query["url"][0] for r in wayback.requests if r.route == "/cdx/search/cdx"]
    assert "#" not in "".join(cdx)  # the archive keeps pages, not fragments


def test_an_image_in_a_post_is_archived_like_a_link(repo, wayback):
    # check asks for an archived copy of an image (P012), so archive must make one.
    url = "https://metr.org/chart.png"
    wayback.add_capture(url, "20250110000000", PAGE)
    repo.write("posts/p.md", f"---\ntitle: P\n---\n![The chart]({url})\n")
    assert "P012" in repo.check().output
    assert repo.run().exit_code == 0
    data = yaml.safe_load((repo.root / "archives.yaml").read_text())
    assert data == {url: {"archive": wayback.snapshot_url("20250110000000", url)}}
    assert "P012" not in repo.check().output


def test_an_entry_without_a_copy_is_filled_in_not_listed_twice(repo, wayback):
    empty, bare = "https://metr.org/empty", "https://metr.org/bare"
    for url in (empty, bare):
        wayback.add_capture(url, "20250110000000", PAGE)
    archives = repo.write(
        "archives.yaml",
        textwrap.dedent(f"""\
        {empty}:
            archive:   # to do
            accessed: 2025-01-05

        {bare}:
            accessed: 2025-01-06
        """),
    )
    repo.write("posts/p.md", f"---\ntitle: P\n---\nSee [one]({empty}) and [two]({bare}).\n")

    assert repo.run().exit_code == 0
    one, two = (wayback.snapshot_url("20250110000000", u) for u in (empty, bare))
    assert archives.read_text() == textwrap.dedent(f"""\
        {empty}:
            archive: {one}  # to do
            accessed: 2025-01-05

        {bare}:
            archive: {two}
            accessed: 2025-01-06
        """)
    result = repo.check()
    assert "F009" not in result.output and "P012" not in result.output


def test_archives_yaml_keeps_its_crlf_line_endings_and_byte_order_mark(repo, wayback):
    empty, new = "https://metr.org/empty", "https://metr.org/new"
    for url in (empty, new):
        wayback.add_capture(url, "20250110000000", PAGE)
    before = f"\ufeff# By hand.\r\n{empty}:\r\n  archive:   # to do\r\n  accessed: 2025-01-05\r\n"
    archives = repo.root / "archives.yaml"
    archives.write_bytes(before.encode("utf-8"))
    repo.write("posts/p.md", f"---\ntitle: P\n---\nSee [one]({empty}) and [two]({new}).\n")

    assert repo.run().exit_code == 0
    one, two = (wayback.snapshot_url("20250110000000", u) for u in (empty, new))
    expected = before.replace("archive:   # to do", f"archive: {one}  # to do")
    expected += f"{new}:\r\n  archive: {two}\r\n"
    assert archives.read_bytes() == expected.encode("utf-8")
    assert repo.check().exit_code == 0


def test_archives_yaml_is_created_when_there_is_none(repo, wayback):
    url = "https://metr.org/new"
    wayback.add_capture(url, "20250110000000", PAGE)
    repo.write("posts/p.md", f"---\ntitle: P\n---\nSee [this]({url}).\n")
    assert repo.run().exit_code == 0
    data = yaml.safe_load((repo.root / "archives.yaml").read_text())
    assert data == {url: {"archive": wayback.snapshot_url("20250110000000", url)}}
    assert repo.check().exit_code == 0


# Save Page Now ------------------------------------------------------------------------


def test_without_a_capture_save_page_now_makes_one_and_it_is_written(tmp_path):
    with WaybackServer(pending_polls=3) as wayback:
        repo = Repo(tmp_path, wayback)
        page, pdf = "https://x.ai/new", "https://x.ai/framework.pdf"
        wayback.set_live(page, PAGE)
        wayback.set_live(pdf, b"%PDF-1.4 ...", "application/pdf")
        page_file = repo.snippet("new", page)
        pdf_file = repo.snippet("pdf", pdf)

        result = repo.run(env=KEYS)

        assert result.exit_code == 0, result.output
        for url, path in ((page, page_file), (pdf, pdf_file)):
            (capture,) = wayback.captures(url)
            assert f"archive: {wayback.snapshot_url(capture.timestamp, url)}\n" in path.read_text()
            assert f"saved {url}" in result.output
        saves = [r for r in wayback.requests if r.route == "/save"]
        assert {r.form()["url"][0] for r in saves} == {page, pdf}
        for r in saves:
            assert r.headers["Authorization"] == f"LOW {ACCESS}:{SECRET}"
            assert r.form()["skip_first_archive"] == ["1"]
            assert r.form()["if_not_archived_within"] == ["30d"]
            assert ("force_get" in r.form()) == r.form()["url"][0].endswith(".pdf")
        assert all(job.polls == 4 for job in wayback.jobs.values())  # polled till done
        assert SECRET not in result.output and ACCESS not in result.output
        for path in tmp_path.rglob("*"):  # nor in any file, the cache included
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), path


def test_without_keys_nothing_is_requested_and_the_message_says_how(repo, wayback):
    url = "https://x.ai/new"
    repo.snippet("new", url)
    before = repo.snapshot()
    result = repo.run(env=NO_KEYS)
    assert result.exit_code == 1
    assert "not found" in result.output and "$WAYBACK_ACCESS_KEY" in result.output
    assert repo.snapshot() == before
    assert not [r for r in wayback.requests if r.route.startswith("/save")]


@pytest.mark.parametrize("how", sorted(BROKEN_CONFIGS))
def test_a_broken_toolkit_toml_is_reported_and_nothing_is_asked(repo, wayback, how):
    url = "https://x.ai/new"
    repo.snippet("new", url)
    wayback.add_capture(url, "20250201080000", PAGE)  # what a run reading the config finds
    where, code = break_config(repo.root, how)
    before = repo.snapshot()
    with ProxySink() as sink:  # where a request to the real archive would go
        result = repo.run(env={**KEYS, **sink.environment()})
        assert sink.requests == []
    assert result.exit_code == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith(where) and f"error {code} " in line
    assert "fix toolkit.toml first" in result.stderr and "Traceback" not in result.output
    assert wayback.requests == []
    assert repo.snapshot() == before


@pytest.mark.parametrize("poll", ["soon", "-1", "nan"])
def test_a_bad_spn_poll_setting_is_a_usage_error(repo, wayback, poll):
    repo.snippet("new", "https://x.ai/new")
    before = repo.snapshot()
    result = repo.run(env={**NO_KEYS, "TOOLKIT_SPN_POLL": poll})
    assert result.exit_code == 2
    assert f"$TOOLKIT_SPN_POLL is `{poll}`; it must be a number of seconds, 0 or more" in (
        result.output
    )
    assert "Traceback" not in result.output
    assert wayback.requests == [] and repo.snapshot() == before


def test_dry_run_writes_nothing_and_saves_nothing(repo, wayback):
    found, unsaved = "https://x.ai/found", "https://x.ai/unsaved"
    wayback.add_capture(found, "20250201080000", PAGE)
    repo.snippet("found", found)
    repo.snippet("unsaved", unsaved)
    before = repo.snapshot()
    result = repo.run("--dry-run", env=KEYS)
    assert result.exit_code == 0, result.output
    assert (
        f"would write {found} -> {wayback.snapshot_url('20250201080000', found)}" in result.output
    )
    assert f"would save {unsaved}" in result.output
    assert repo.snapshot() == before
    assert not [r for r in wayback.requests if r.route.startswith("/save")]


def test_too_many_captures_today_means_todays_capture_is_looked_up(tmp_path):
    with LaggingWayback() as wayback:
        repo = Repo(tmp_path, wayback)
        url = "https://x.ai/popular"
        today = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d") + "010203"
        wayback.add_capture(url, today, PAGE).visible = False  # not in the index yet
        wayback.fail_next_save("error:too-many-daily-captures")
        path = repo.snippet("popular", url)

        result = repo.run(env=KEYS)

        assert result.exit_code == 0, result.output
        assert f"archive: {wayback.snapshot_url(today, url)}\n" in path.read_text()
        assert "captured earlier today" in result.output
        assert not wayback.jobs  # no capture job was started


def test_a_session_limit_stops_the_run_and_says_why(repo, wayback):
    first, second = "https://x.ai/a", "https://x.ai/b"
    repo.snippet("a", first)
    repo.snippet("b", second)
    wayback.fail_next_save("error:user-session-limit", http_status=429)
    before = repo.snapshot()

    result = repo.run(env=KEYS)

    assert result.exit_code == 1
    assert "user-session-limit" in result.output
    stopped = [line for line in result.output.splitlines() if ": stopped https://" in line]
    assert len(stopped) == 2 and "not tried" in stopped[1]
    assert len([r for r in wayback.requests if r.route == "/save"]) == 1  # no second try
    assert repo.snapshot() == before


def test_an_unreachable_archive_stops_the_run_at_once(tmp_path):
    nothing_listens = SimpleNamespace(url="http://127.0.0.1:9")
    repo = Repo(tmp_path, nothing_listens)
    for name in ("a", "b", "c"):
        repo.snippet(name, f"https://x.ai/{name}")
    before = repo.snapshot()
    started = time.monotonic()
    result = repo.run(env=KEYS)
    # One URL's retries, not one round of them per URL (counted in the test after this).
    assert time.monotonic() - started < 15
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "snippets/a.md: stopped https://x.ai/a (the archive's CDX server "
        "did not answer (could not connect))"
    )
    assert all("not tried: the archive stopped the run" in line for line in lines[1:3])
    assert lines[3:] == ["3 URLs: 3 stopped."]
    assert "Traceback" not in result.output
    assert repo.snapshot() == before


def test_an_archive_that_drops_every_connection_is_tried_for_one_url_only(tmp_path):
    with Dropper() as archive:
        repo = Repo(tmp_path, archive)
        for name in ("a", "b", "c"):
            repo.snippet(name, f"https://x.ai/{name}")
        result = repo.run(env=KEYS)
    assert result.exit_code == 1
    assert "did not answer (could not connect)" in result.stdout.splitlines()[0]
    assert result.stdout.splitlines()[-1] == "3 URLs: 3 stopped."
    assert archive.connections == 1 + RetryPolicy().retries  # the first URL's tries, no more


def test_keys_the_archive_refuses_stop_the_run_and_are_never_shown(repo, wayback):
    repo.snippet("a", "https://x.ai/a")
    env = {**KEYS, "WAYBACK_SECRET_KEY": "wrong-secret-9f8e"}
    result = repo.run(env=env)
    assert result.exit_code == 1
    assert "refused the keys" in result.output and "$WAYBACK_SECRET_KEY" in result.output
    assert "wrong-secret-9f8e" not in result.output
    assert not list((repo.root).rglob("*.tmp"))


def test_a_failed_capture_is_reported_and_the_rest_go_on(repo, wayback):
    bad, good = "https://nowhere.invalid/a", "https://x.ai/good"
    wayback.set_live(good, PAGE)
    repo.snippet("a-bad", bad)
    good_file = repo.snippet("b-good", good)
    wayback.fail_next_job("error:invalid-host-resolution")

    result = repo.run(env=KEYS)

    assert result.exit_code == 1  # something is still without a copy
    assert f"failed {bad}" in result.output and "invalid-host-resolution" in result.output
    assert f"saved {good}" in result.output
    assert "archive: " in good_file.read_text()


def test_no_captures_left_today_stops_before_asking(repo, wayback):
    wayback.max_sessions = 0
    repo.snippet("a", "https://x.ai/a")
    result = repo.run(env=KEYS)
    assert result.exit_code == 1
    assert "no more captures" in result.output
    assert not [r for r in wayback.requests if r.route == "/save"]


# Stopped half-way ------------------------------------------------------------------------


def _first_line(proc: subprocess.Popen, timeout: float) -> str:
    """The next line `proc` writes to stdout; kill it and fail the test if none comes in
    `timeout` seconds (a bare readline() would hang the suite forever)."""
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if reader.is_alive():
        proc.kill()
        proc.wait()
        reader.join(5)  # the pipe is at its end now, so readline() returns
        pytest.fail(f"{proc.args} wrote no line to stdout within {timeout} s; killed it")
    return got[0]


def test_a_run_killed_half_way_leaves_each_file_as_it_was_or_fully_updated(tmp_path):
    # The first URL is found at once; the second waits on a capture job that never ends.
    with WaybackServer(pending_polls=10**6) as wayback:
        repo = Repo(tmp_path, wayback)
        found, slow = "https://x.ai/a-found", "https://x.ai/b-slow"
        wayback.add_capture(found, "20250201080000", PAGE)
        wayback.set_live(slow, PAGE)
        found_file = repo.snippet("a-found", found)
        slow_file = repo.snippet("b-slow", slow)
        slow_before = slow_file.read_bytes()
        expected = with_archive_line(
            found_file.read_text(),
            f"archive: {wayback.snapshot_url('20250201080000', found)}\n",
            "  accessed: 2025-02-10\n",
        )
        env = {**os.environ, **KEYS}
        proc = subprocess.Popen(
            [sys.executable, "-m", "toolkit", "--root", str(tmp_path), "archive"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            line = _first_line(proc, timeout=20)
            assert "found" in line, line  # the first is written...
            deadline = time.monotonic() + 20
            while not wayback.jobs and time.monotonic() < deadline:  # ...the second is polling
                time.sleep(0.02)
            assert wayback.jobs
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        assert found_file.read_text() == expected
        assert slow_file.read_bytes() == slow_before
        assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_a_link_posts_page_is_archived_like_a_link(repo, wayback):
    url = "https://metr.org/blog/rsp-review"
    wayback.add_capture(url, "20250110000000", PAGE)
    repo.write("posts/p.md", f"---\ntitle: P\nlink: {url}\n---\nWhat it says.\n")
    assert "P012" in repo.check().output
    result = repo.run()
    assert result.exit_code == 0, result.output
    data = yaml.safe_load((repo.root / "archives.yaml").read_text())
    assert data == {url: {"archive": wayback.snapshot_url("20250110000000", url)}}
    assert "P012" not in repo.check().output
