"""The hostile-input corpus (tests/hostile/): each input gives a clear one-line
diagnostic or a correct output through the real CLI, and never a traceback."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import feedparser
import html5lib
import pytest
from click.testing import CliRunner

from toolkit.cli import cli

CORPUS = Path(__file__).parent / "hostile"
CASES = sorted(p for p in CORPUS.iterdir() if (p / "expect.json").is_file())
LINE = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (error|warning) (?P<code>[A-Z]\d{3}) "
)
# What may not reach a terminal raw: C0 controls other than newline, DEL and C1.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def invoke(root: Path, *args: str):
    result = CliRunner().invoke(cli, ["--root", str(root), *args])
    shown = result.output
    assert "Traceback" not in shown, shown
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert RAW_CONTROL.search(shown) is None, repr(shown)
    return result


def html_text(markup: str | bytes) -> str:
    """What a browser shows of some HTML (html5lib), spaces collapsed."""
    doc = html5lib.parse(markup, namespaceHTMLElements=False)
    # U+2060 WORD JOINER keeps a note number on its word's line; no one sees it.
    return " ".join("".join(doc.itertext()).replace("\u2060", "").split())


def reader_text(path: Path) -> str:
    """What a reader sees of a built file: HTML as a browser shows it, a feed as a feed
    reader does (feedparser, then its HTML values as a browser shows them), JSON's
    strings (those under a key ending in `html` as shown), anything else as it is."""
    data = path.read_bytes()
    if path.suffix == ".html":
        return html_text(data)
    if path.suffix == ".xml":
        feed = feedparser.parse(data)
        parts = [feed.feed.get("title", "")]
        for entry in feed.entries:
            details = [entry.get("title_detail"), entry.get("summary_detail")]
            details += entry.get("content", [])
            for d in filter(None, details):
                parts.append(html_text(d.value) if "html" in d.type else d.value)
        return "\n".join(parts)
    if path.suffix == ".json":
        strings: list[str] = []

        def walk(value, key: str = "") -> None:
            if isinstance(value, str):
                strings.append(html_text(value) if key.endswith("html") else value)
            elif isinstance(value, dict):
                for k, v in value.items():
                    walk(v, str(k))
            elif isinstance(value, list):
                for v in value:
                    walk(v, key)

        walk(json.loads(data))
        return "\n".join(strings)
    return data.decode("utf-8")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input(project, case):
    expect = json.loads((case / "expect.json").read_text())
    for src in case.rglob("*"):
        if src.is_file() and src.name != "expect.json":
            dest = project.root / src.relative_to(case)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
    for command in ("check", "build"):
        want = expect.get(command)
        if want is None:
            continue
        result = invoke(project.root, command)
        assert result.exit_code == want["exit"], result.output
        printed = [m for line in result.output.splitlines() if (m := LINE.match(line))]
        found = {(m["path"], int(m["line"]), m["code"]) for m in printed}
        for path, line, code in want.get("diagnostics", []):
            assert (path, line, code) in found, result.output
        for rel, snippets in want.get("text", {}).items():
            text = reader_text(project.root / rel)
            for snippet in snippets:
                assert snippet in text, (rel, snippet, text[:2000])
        if want.get("absent"):
            built = [p for d in ("site", "feeds", "drafts") for p in (project.root / d).rglob("*")]
            for path in (p for p in built if p.is_file()):
                text = reader_text(path)
                for snippet in want["absent"]:
                    assert snippet not in text, (path, snippet)
