"""Every environment variable the toolkit reads is declared once; a bad value is a usage
error (exit 2) whichever command runs (issue 10, item 4)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from toolkit import environment
from toolkit.cli import cli

BAD = {
    "seconds": ["abc", "0", "-1", "nan", "inf", "1e999"],
    "seconds0": ["abc", "-1", "nan", "inf"],
    "count": ["abc", "0", "-2", "1.5"],
}
CASES = [
    (name, value) for name, v in environment.VARIABLES.items() for value in BAD.get(v.kind, [])
]


def test_every_checked_variable_has_bad_values_here():
    checked = {n for n, v in environment.VARIABLES.items() if v.kind in BAD}
    assert checked == {name for name, _ in CASES}
    assert {"TOOLKIT_HTTP_TIMEOUT", "TOOLKIT_SPN_POLL", "TOOLKIT_WORKERS"} <= checked


@pytest.mark.parametrize("command", [["check"], ["build"], ["claims"]])
@pytest.mark.parametrize(("name", "value"), CASES)
def test_a_bad_value_is_a_usage_error_for_every_command(project, command, name, value):
    result = CliRunner().invoke(cli, ["--root", str(project.root), *command], env={name: value})
    assert result.exit_code == 2, result.output
    assert f"${name} is `{value}`" in result.output
    assert "Traceback" not in result.output
    assert not (project.root / "site").exists()  # refused before anything ran


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("TOOLKIT_HTTP_TIMEOUT", "0.25", 0.25),
        ("TOOLKIT_HTTP_TIMEOUT", "", None),
        ("TOOLKIT_SPN_POLL", "0", 0.0),
        ("TOOLKIT_WORKERS", " 3 ", 3),
        ("TOOLKIT_WORKERS", "", None),
        ("TOOLKIT_DEBUG_CACHE", "1", True),
        ("TOOLKIT_DEBUG_CACHE", "", False),
    ],
)
def test_good_values_are_typed(name, raw, expected):
    assert environment.read(name, {name: raw}) == expected


def test_secrets_are_declared_and_never_judged_or_shown(project):
    declared = environment.variables()
    for name in ("SUBSTACK_SID", "LESSWRONG_TOKEN", "EAFORUM_TOKEN", "WAYBACK_SECRET_KEY"):
        assert declared[name].kind == "secret"
    secret = "nan"  # a value a number check would refuse: secrets are never checked
    result = CliRunner().invoke(
        cli, ["--root", str(project.root), "check"], env={"EAFORUM_TOKEN": secret}
    )
    assert result.exit_code == 0, result.output


def test_the_readme_lists_every_variable():
    from conftest import REPO

    readme = (REPO / "README.md").read_text()
    section = readme.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    for name in environment.variables():
        assert f"`{name}`" in section, name
