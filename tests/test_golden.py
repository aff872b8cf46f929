"""Golden outputs: what the golden project's posts look like in every output, byte for byte.

tests/golden/project/ is a small content repository; tests/golden/expected/<slug>/ holds,
for each of its posts, what we ship now: the site page, the post's entry in feeds/atom.xml,
the LessWrong Markdown and the Substack JSON. An intended change to any renderer shows up
here as a diff to review. Regenerate (see tests/golden/README.md):

    .venv/bin/python -m pytest tests/test_golden.py --update-golden
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import shutil
from pathlib import Path

import pytest
from lxml import etree

from toolkit import build as buildlib

GOLDEN = Path(__file__).resolve().parent / "golden"
PROJECT = GOLDEN / "project"
EXPECTED = GOLDEN / "expected"
# The build's clock, pinned: nothing in the outputs may move with the date of the run.
AT = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
ATOM = "{http://www.w3.org/2005/Atom}"
SLUGS = sorted(p.stem for p in (PROJECT / "posts").glob("*.md"))  # no post sets `slug:`
KINDS = ("page.html", "feed-entry.html", "lesswrong.md", "substack.json")


def site_page(root: Path, slug: str) -> bytes:
    """The post's page, wherever its kind puts it (posts/ or shortform/)."""
    found = [p for p in (root / "site").glob(f"*/{slug}/index.html")]
    assert len(found) == 1, f"{slug}: expected one page, found {found}"
    return found[0].read_bytes()


def feed_entry(root: Path, slug: str) -> bytes:
    """The HTML content of the post's entry in feeds/atom.xml, as an XML parser reads it."""
    feed = etree.parse(str(root / "feeds" / "atom.xml")).getroot()
    found = [
        entry
        for entry in feed.iter(f"{ATOM}entry")
        if any(
            link.get("rel", "alternate") == "alternate"
            and link.get("href", "").endswith(f"/{slug}/")
            for link in entry.iter(f"{ATOM}link")
        )
    ]
    assert len(found) == 1, f"{slug}: expected one entry in atom.xml, found {len(found)}"
    content = found[0].find(f"{ATOM}content")
    assert content is not None and content.get("type") == "html"
    return content.text.encode("utf-8")


def substack_json(root: Path, slug: str) -> bytes:
    """The Substack draft export, readable: keys sorted, and `draft_body` (a ProseMirror
    document sent as a JSON string, so json.loads fails if it ever stops being one)
    decoded in place, so a change to one node is a one-line diff."""
    data = json.loads((root / "drafts" / "substack" / f"{slug}.json").read_bytes())
    data["draft_body"] = json.loads(data["draft_body"])
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def outputs(root: Path) -> dict[str, bytes]:
    """`<slug>/<kind>` -> bytes, for every post of a built golden project."""
    found = {}
    for slug in SLUGS:
        found[f"{slug}/page.html"] = site_page(root, slug)
        found[f"{slug}/feed-entry.html"] = feed_entry(root, slug)
        found[f"{slug}/lesswrong.md"] = (root / "drafts" / "lesswrong" / f"{slug}.md").read_bytes()
        found[f"{slug}/substack.json"] = substack_json(root, slug)
    return found


def expected_files() -> dict[str, bytes]:
    return {
        p.relative_to(EXPECTED).as_posix(): p.read_bytes()
        for p in sorted(EXPECTED.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory, request) -> dict[str, bytes]:
    root = tmp_path_factory.mktemp("golden") / "project"
    shutil.copytree(PROJECT, root)
    report = buildlib.build(root, at=AT)
    assert report.ok and report.diagnostics == [], [d.format() for d in report.diagnostics]
    found = outputs(root)
    if request.config.getoption("--update-golden"):
        shutil.rmtree(EXPECTED, ignore_errors=True)
        for rel, data in found.items():
            (EXPECTED / rel).parent.mkdir(parents=True, exist_ok=True)
            (EXPECTED / rel).write_bytes(data)
    return found


def test_every_post_has_golden_outputs_and_nothing_else(built):
    assert sorted(expected_files()) == sorted(built), (
        "tests/golden/expected/ is out of step with the golden project's posts; "
        "regenerate it (tests/golden/README.md)"
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("slug", SLUGS)
def test_output_matches_golden(built, slug: str, kind: str):
    rel = f"{slug}/{kind}"
    path = EXPECTED / rel
    assert path.is_file(), f"no golden file {path}; regenerate (tests/golden/README.md)"
    want, got = path.read_bytes(), built[rel]
    if got != want:
        diff = difflib.unified_diff(
            want.decode("utf-8", "replace").splitlines(keepends=True),
            got.decode("utf-8", "replace").splitlines(keepends=True),
            f"expected/{rel}",
            f"built/{rel}",
        )
        shown = "".join(diff) or _first_difference(want, got)
        pytest.fail(
            f"{rel} differs from its golden copy (if the change is intended, regenerate: "
            f"see tests/golden/README.md):\n{shown}",
            pytrace=False,
        )


def _first_difference(want: bytes, got: bytes) -> str:
    """For a difference that lines do not show (line endings, undecodable bytes)."""
    at = next(
        (i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b),
        min(len(want), len(got)),
    )
    return f"first difference at byte {at}: {want[at : at + 40]!r} != {got[at : at + 40]!r}"
