"""`toolkit check` through click's CliRunner: output formats and exit codes."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner
from conftest import post

from toolkit.cli import cli

LINE = re.compile(
    r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning) "
    r"(?P<code>[A-Z]\d{3}) (?P<msg>.+)$"
)


def invoke(project, *args):
    return CliRunner().invoke(cli, ["--root", str(project.root), *args])


def test_clean_project_exits_zero(project):
    result = invoke(project, "check")
    assert result.exit_code == 0, result.output
    assert "No problems found." in result.output


def test_text_output_is_one_diagnostic_per_line(project):
    project.write("posts/bad.md", post("title: T\nkind: shortfrom\n", "x[^nope]\n"))
    result = invoke(project, "check")
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line]
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m["path"], m["line"], m["code"]) for m in parsed] == [
        ("posts/bad.md", "3", "F008"),
        ("posts/bad.md", "5", "P006"),
    ]
    assert "Found 2 errors." in result.stderr


def test_json_output_has_the_documented_shape(project):
    project.write("posts/bad.md", post("title: T\n", "[x](https://metr.org/a)\n"))
    result = invoke(project, "check", "--format", "json")
    assert result.exit_code == 0  # a warning alone does not fail
    data = json.loads(result.stdout)
    message = (
        "https://metr.org/a has no archived copy in archives.yaml; run "
        "`toolkit archive`, or add its host to [check] no_archive_needed"
    )
    assert data == [
        {
            "path": "posts/bad.md",
            "line": 4,
            "column": 5,
            "severity": "warning",
            "code": "P012",
            "message": message,
        }
    ]
    assert set(data[0]) == {"path", "line", "column", "severity", "code", "message"}
    # The text format reports the same diagnostic: parse it with LINE and compare fields.
    text = invoke(project, "check")
    assert text.exit_code == 0, text.output
    lines = [line for line in text.stdout.splitlines() if line]
    assert len(lines) == 1, lines
    match = LINE.match(lines[0])
    assert match, lines[0]
    assert {
        "path": match["path"],
        "line": int(match["line"]),
        "column": int(match["col"]),
        "severity": match["sev"],
        "code": match["code"],
        "message": match["msg"],
    } == data[0]


def test_strict_turns_warnings_into_failures(project):
    project.write("posts/bad.md", post("title: T\n", "[x](https://metr.org/a)\n"))
    assert invoke(project, "check").exit_code == 0
    result = invoke(project, "check", "--strict")
    assert result.exit_code == 1
    assert "errors under --strict" in result.stderr


def test_no_project_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["--root", str(tmp_path), "check"])
    assert result.exit_code == 2
    assert "toolkit init" in result.output
    assert "Traceback" not in result.output


def test_bad_option_is_a_usage_error(project):
    assert invoke(project, "check", "--format", "xml").exit_code == 2


def test_refresh_without_online_is_a_usage_error(project):
    result = invoke(project, "check", "--refresh")
    assert result.exit_code == 2
    assert "--refresh only means something with --online" in result.output


def test_every_command_has_help():
    runner = CliRunner()
    top = runner.invoke(cli, ["--help"])
    assert top.exit_code == 0
    commands = re.findall(r"^  (\w+)\s{2,}", top.output.split("Commands:")[1], re.M)
    assert "check" in commands
    for name in commands:
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0
        assert len(result.output.split("\n\n")[1].strip()) > 20, name


def test_python_dash_m_runs_the_cli(project):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "toolkit", "--root", str(project.root), "check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_control_characters_in_messages_are_shown_escaped(project):
    # An OSC sequence (sets the terminal's title) and a bidi override in unknown keys.
    project.write(
        "posts/bad.md", post('title: T\n"\\x1b]0;PWNED\\x07": x\n"a\\u202eb": y\n', "x\n")
    )
    text = invoke(project, "check")
    assert "\x1b" not in text.output and "\u202e" not in text.output
    assert "error F012 the key `\\x1b]0;PWNED\\x07` holds a control character" in text.stdout
    assert "unknown key `a\\u202eb`" in text.stdout
    as_json = invoke(project, "check", "--format", "json")
    assert "\x1b" not in as_json.stdout and "\u202e" not in as_json.stdout
    messages = [d["message"] for d in json.loads(as_json.stdout)]
    assert any("`\\x1b]0;PWNED\\x07`" in m for m in messages), messages
    assert any("`a\u202eb`" in m for m in messages), messages
