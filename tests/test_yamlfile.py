"""The fast reader for archives.yaml gives exactly what the YAML loader gives, or declines."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit import yamlfile

# Lines a hand-edited archives.yaml may hold: the plain shape the fast reader accepts,
# and variants whose YAML meaning differs or that YAML rejects.
LINES = [
    "https://a.example/x:",
    "https://a.example/x:",
    "https://b.example/y?q=1&r=[2]:",
    "http://c.example/#frag:",
    "https://d.example/p:8080:",
    "https://e.example/e::",
    "  archive: https://web.archive.org/web/20240101000000/https://a.example/x",
    "  archive: https://web.archive.org/web/2024/https://b.example/y:",
    "  archive: 'https://web.archive.org/web/2024/https://a.example/x'",
    "  archive: https://x.example/a # a comment",
    "  archive: null",
    "  archive:",
    "  accessed: 2024-02-29",
    "  accessed: 2023-02-29",
    "  accessed: 2024-2-5",
    "  accessed: 2024-02-01T10:00:00",
    "    archive: https://x.example/deeper",
    "\tarchive: https://x.example/tab",
    "  archive: https://x.example/crlf\r",
    "  other: thing",
    "# a comment",
    "  # an indented comment",
    "",
    "   ",
    "---",
    "- https://x.example/list",
    "'https://quoted.example/':",
    "not-a-url:",
    "https://f.example/f: {archive: https://x.example/flow}",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(LINES), max_size=12))
def test_the_fast_reader_agrees_with_yaml_or_declines(lines):
    text = "\n".join(lines) + "\n"
    fast = yamlfile.load_url_map(text)
    if fast is None:
        return
    full = yamlfile.load(text, "archives.yaml")
    assert full.diagnostics == []
    assert fast.value == full.value
    assert fast.positions == full.positions


def test_the_fast_reader_takes_the_usual_file_and_declines_the_rest():
    usual = (
        "# Archived copies.\n"
        "https://a.example/x:\n"
        "  archive: https://web.archive.org/web/20240101000000/https://a.example/x\n"
        "  accessed: 2024-01-02\n"
        "\n"
        "https://b.example/y:\n"
        "  archive: https://web.archive.org/web/20240101000000/https://b.example/y\n"
    )
    fast = yamlfile.load_url_map(usual)
    assert fast is not None and fast.value == yamlfile.load(usual, "a").value
    assert fast.line(("https://b.example/y", "archive")) == 7
    for declined in (
        "https://a.example/x:\n  archive: 'https://q.example/'\n",  # quoted
        "https://a.example/x:\n",  # no fields: null
        "https://a.example/x:\n  accessed: 2023-02-29\n",  # not a real date
        "https://a.example/x:\n  archive: https://w.example/a\n"
        "https://a.example/x:\n  archive: https://w.example/b\n",  # repeated
        "https://a.example/x:\r\n  archive: https://w.example/a\r\n",
    ):  # CRLF
        assert yamlfile.load_url_map(declined) is None, declined


def alias_bomb(levels: int, width: int = 9) -> str:
    """`levels` anchors, each a list of `width` aliases of the one before: width**levels
    values once expanded, in a few lines."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "text,line,message",
    [
        (alias_bomb(6), 5, "the alias `*a3` makes this YAML expand to more than 10,000"),
        ("a: &a [1, *a]\n", 1, "inside its own anchor"),
        ("a: " + "[" * 150 + "]" * 150 + "\n", 1, "nested more than 100 levels deep"),
    ],
    ids=["alias-bomb", "alias-inside-its-anchor", "nested-150-deep"],
)
@pytest.mark.parametrize("loader", ["libyaml", "python"])
def test_yaml_that_would_expand_without_end_is_f002_at_its_line(
    monkeypatch, loader, text, line, message
):
    if loader == "python":  # PyYAML without libyaml composes in Python, recursively
        monkeypatch.setattr(yamlfile, "_Loader", yaml.SafeLoader)
    read = yamlfile.load(text, "x.yaml")
    assert read.value is None
    [d] = read.diagnostics
    assert (d.code, d.line) == ("F002", line) and message in d.message, d
    where = yamlfile.expansion_problem(text)
    assert where is not None and where[0] == line and message in where[2]


def test_a_few_aliases_still_read_as_copies():
    read = yamlfile.load("base: &b {x: 1, y: [1, 2]}\nother: *b\n", "x.yaml")
    assert read.diagnostics == []
    assert read.value == {"base": {"x": 1, "y": [1, 2]}, "other": {"x": 1, "y": [1, 2]}}
    assert yamlfile.expansion_problem("base: &b {x: 1}\nother: *b\n") is None
