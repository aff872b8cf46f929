"""Hostile input and filesystem faults at the command line: one clear line, never a
traceback, and the right exit code (1 a problem with the project, 2 a usage error).

Issue 15, item 9. Inputs that can be files are kept in tests/hostile/:
`labs-nul-key.yaml` (a key holding a NUL, which reached `os.makedirs` in a path),
`new-post-long-title.txt` (a title whose slug made a file name over 255 bytes) and
`new-snippet-bad-urls.txt` (URLs that look like http(s) URLs but do not parse). What git
cannot keep (a FIFO, a symlink loop, a name that is not UTF-8, a read-only folder) the
tests make themselves.
"""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import yaml
from click.testing import CliRunner
from conftest import post

from toolkit import diagnostics as dg
from toolkit import fields
from toolkit import serve as servelib
from toolkit.cli import cli
from toolkit.errors import describe_os_error

HOSTILE = Path(__file__).parent / "hostile"


def run(root: Path, *args: str):
    return CliRunner().invoke(cli, ["--root", str(root), *args])


def toolkit(root: Path, *args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """The real command in its own process; the timeout only stops a hang."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "toolkit", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_clear_line(text: str) -> None:
    assert "Traceback" not in text
    assert len(text.strip().splitlines()) == 1, text


# Errors print themselves, named for the command -------------------------------------------


def test_a_refusal_is_one_line_named_for_the_command(project):
    assert run(project.root, "new", "post", "Same").exit_code == 0
    again = run(project.root, "new", "post", "Same")
    assert again.exit_code == 1
    assert again.stderr == "toolkit new post: not overwriting existing file: posts/same.md\n"


def test_outside_a_project_is_a_usage_error(tmp_path):
    result = run(tmp_path, "build")
    assert result.exit_code == 2
    assert "no toolkit.toml in" in result.stderr and "Traceback" not in result.output


# serve --port ------------------------------------------------------------------------------


def test_serve_refuses_a_port_out_of_range_before_building(project):
    result = run(project.root, "serve", "--port", "99999")
    assert result.exit_code == 2
    assert "--port" in result.stderr and "99999" in result.stderr
    assert "Traceback" not in result.output
    assert not (project.root / "site").exists()  # refused before anything was built


# GET /%00 ---------------------------------------------------------------------------------


def test_serve_answers_a_nul_in_the_path_with_404(project):
    assert servelib.preview(project.root) == []
    banner = servelib.Banner()
    for problems in ([], [dg.make("P003", "posts/a-post.md", 7, "no snippet `x`")]):
        banner.show(problems)  # both ways through the handler: with a banner and without
        server = servelib.make_server(project.root, 0, banner)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            statuses = []
            for target in ("/%00", "/%00.html", "/posts/%00/", "/"):
                conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
                conn.request("GET", target)
                statuses.append(conn.getresponse().status)
                conn.close()
        finally:
            server.shutdown()
            server.server_close()
        assert statuses == [404, 404, 404, 200]


# new post / new snippet ---------------------------------------------------------------------


def test_new_post_with_a_very_long_title_cuts_the_file_name(project):
    for title in (
        (HOSTILE / "new-post-long-title.txt").read_text().strip(),
        "a" * 300,  # one word: cut where it must be
    ):
        assert len(title) > 255
        result = run(project.root, "new", "post", title)
        assert result.exit_code == 0, result.output
        path = project.root / result.stdout.strip()
        assert path.is_file() and len(path.name.encode()) <= 255
        front = yaml.safe_load(path.read_text().split("---\n")[1])
        assert front["title"] == title  # the title itself is kept whole
    assert run(project.root, "check").exit_code == 0


def test_new_post_cuts_a_long_slug_at_a_word(project):
    result = run(
        project.root, "new", "post", (HOSTILE / "new-post-long-title.txt").read_text().strip()
    )
    name = Path(result.stdout.strip()).stem
    assert name.startswith("a-very-very-") and name.endswith("-very")
    assert len(name) <= 80


def test_new_snippet_refuses_a_url_it_cannot_parse(project):
    for url in (HOSTILE / "new-snippet-bad-urls.txt").read_text().split():
        result = run(project.root, "new", "snippet", "--lab", "openai", "--url", url)
        assert result.exit_code == 2, (url, result.output)
        assert "--url" in result.stderr and "not an absolute http(s) URL" in result.stderr
        assert "Traceback" not in result.output
    assert sorted(p.name for p in (project.root / "snippets").rglob("*.md")) == ["openai-prep.md"]


def test_check_reports_a_source_url_it_cannot_parse(project):
    for url in (HOSTILE / "new-snippet-bad-urls.txt").read_text().split():
        assert not fields.is_http_url(url), url
    path = project.root / "snippets/openai/openai-prep.md"
    path.write_text(
        path.read_text().replace("https://openai.com/preparedness/\n", "https://[::1/\n", 1)
    )
    result = run(project.root, "check")
    assert result.exit_code == 1
    assert "snippets/openai/openai-prep.md:6:" in result.stdout and "F010" in result.stdout


def test_a_slug_too_long_for_a_file_name_is_a_diagnostic(project):
    project.write("posts/long.md", post(f"title: Long\nslug: {'a' * 300}\n", "Text.\n"))
    result = run(project.root, "build")
    assert result.exit_code == 1
    assert "posts/long.md:3:1: error F008" in result.stdout
    assert "at most 100 bytes" in result.stdout and "Traceback" not in result.output


# Files in posts/ that are not plain files ---------------------------------------------------


def test_a_post_file_name_that_is_not_utf8_is_named_and_left_out(project):
    bad = os.fsencode(project.root / "posts") + b"/caf\xe9.md"
    with open(bad, "wb") as f:
        f.write((project.root / "posts/a-post.md").read_bytes())
    for command in ("check", "build"):
        result = run(project.root, command)
        assert result.exit_code == 1, result.output
        assert "posts/caf\\xe9.md:1:1: error F001 this name is not valid UTF-8" in result.stdout
        assert "Traceback" not in result.output
    assert not (project.root / "site").exists()
    os.unlink(bad)
    assert run(project.root, "build").exit_code == 0


def test_a_name_not_utf8_stops_a_build_that_was_up_to_date(project):
    assert run(project.root, "build").exit_code == 0
    os.mkdir(os.fsencode(project.root / "snippets") + b"/\xff")
    result = run(project.root, "build")
    assert result.exit_code == 1
    assert "snippets/\\xff:1:1: error F001" in result.stdout


def test_a_symlink_loop_in_posts_ends(project):
    (project.root / "posts/more").mkdir()
    shutil.move(project.root / "posts/a-post.md", project.root / "posts/more/a-post.md")
    (project.root / "posts/more/again").symlink_to("../more")
    (project.root / "posts/more/back").symlink_to("..")
    result = toolkit(project.root, "check")
    assert result.returncode == 0, result.stdout + result.stderr  # the post, read once
    assert "Traceback" not in result.stderr


def test_a_symlink_to_itself_is_unreadable(project):
    (project.root / "posts/self.md").symlink_to("self.md")
    result = toolkit(project.root, "check")
    assert result.returncode == 1
    assert "posts/self.md:1:1: error F011 cannot read the file:" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_fifo_or_a_device_in_posts_is_a_diagnostic_not_a_hang(project):
    fifo = project.root / "posts/x.md"
    os.mkfifo(fifo)
    (project.root / "posts/zero.md").symlink_to("/dev/zero")
    (project.root / "posts/null.md").symlink_to("/dev/null")
    for command in ("check", "build"):
        result = toolkit(project.root, command)
        assert result.returncode == 1
        for name in ("x", "zero", "null"):
            assert (
                f"posts/{name}.md:1:1: error F011 cannot read the file: not a regular file"
                in result.stdout
            )
        assert "Traceback" not in result.stderr


# YAML keys -----------------------------------------------------------------------------------


def test_a_nul_in_a_yaml_key_is_a_diagnostic(project):
    shutil.copy(HOSTILE / "labs-nul-key.yaml", project.root / "snippets/labs.yaml")
    path = project.root / "snippets/openai/openai-prep.md"
    path.write_text(path.read_text().replace("lab: openai", 'lab: "open\\0ai"'))
    result = run(project.root, "build")
    assert result.exit_code == 1
    assert (
        "snippets/labs.yaml:4:1: error F012 the key `open\\x00ai` holds a control character"
        in result.stdout
    )
    assert "\0" not in result.stdout.splitlines()[0]
    assert "Traceback" not in result.output and not (project.root / "site").exists()


# Faults of the filesystem ------------------------------------------------------------------


def test_a_file_where_the_cache_keeps_a_folder_is_one_line(project):
    (project.root / ".toolkit").mkdir()
    (project.root / ".toolkit/objects").write_text("not a folder")
    result = run(project.root, "build")
    assert result.exit_code == 1
    one_clear_line(result.stderr)
    assert result.stderr.startswith("toolkit build: ")
    assert ".toolkit/objects" in result.stderr and "delete it" in result.stderr


def _unprivileged() -> tuple[str, ...]:
    """Run as a user whom file modes bind: root ignores them, so as root the command
    runs in a user namespace where it is an ordinary user."""
    if os.geteuid() != 0:
        return ()
    return ("unshare", "--user", "--map-user=1000", "--map-group=1000")


def test_a_read_only_site_is_one_line_and_leaves_nothing_behind(project):
    assert run(project.root, "build").exit_code == 0
    before = sorted(p.relative_to(project.root) for p in (project.root / "site").rglob("*"))
    project.write("posts/a-post.md", (project.root / "posts/a-post.md").read_text() + "More.\n")
    (project.root / "site").chmod(0o555)
    try:
        result = toolkit(project.root, "build", prefix=_unprivileged())
    finally:
        (project.root / "site").chmod(0o755)
    assert result.returncode == 1, result.stdout + result.stderr
    one_clear_line(result.stderr)
    assert result.stderr.startswith("toolkit build: Permission denied (site/ could not")
    assert not list(project.root.glob(".site.*"))  # no .site.old-PID left behind
    assert sorted(p.relative_to(project.root) for p in (project.root / "site").rglob("*")) == (
        before
    )
    assert "More." not in (project.root / "site/posts/a-post/index.html").read_text()
    again = run(project.root, "build")  # writable again: the build goes through
    assert again.exit_code == 0, again.output
    assert "More." in (project.root / "site/posts/a-post/index.html").read_text()


def test_a_fault_of_the_disk_is_described_in_one_line(tmp_path):
    with open("/dev/full", "wb", buffering=0) as full:
        try:
            full.write(b"x")
        except OSError as e:
            assert describe_os_error(e) == "No space left on device"
        else:
            raise AssertionError("/dev/full accepted a write")
    missing = os.fsencode(tmp_path) + b"/.toolkit/caf\xe9"
    try:
        os.open(missing, os.O_RDONLY)
    except OSError as e:
        line = describe_os_error(e)
    assert line.startswith("No such file or directory: ")
    assert line.endswith(
        "/.toolkit/caf\\xe9 (.toolkit/ holds only a cache: delete it and run the command again)"
    )
