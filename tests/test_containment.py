"""Nothing is written or deleted outside the project's output trees, and a preview never
leaves drafts where a deploy would publish them (issue 15, items 1 and 2)."""

from __future__ import annotations

from pathlib import Path

import html5lib
import pytest
from click.testing import CliRunner
from conftest import NOW, Project, post

from toolkit import build as buildlib
from toolkit import output, serve
from toolkit.cli import cli

HOSTILE = Path(__file__).parent / "hostile"

# Lab keys that must never become a folder: each is refused at its line in labs.yaml.
HOSTILE_LAB_KEYS = [
    "../../../../../victim",
    "../victim",
    "/tmp/victim",
    "..",
    ".",
    "a/b",
    "a\\b",
    ".hidden",
    "UPPER",
    "nul\x00byte",
    "",
]


def _tree(top: Path) -> dict[str, bytes]:
    return {
        p.relative_to(top).as_posix(): p.read_bytes() for p in sorted(top.rglob("*")) if p.is_file()
    }


def _lab_project(project, key: str) -> None:
    quoted = key.replace("\\", "\\\\").replace('"', '\\"').replace("\x00", "\\0")
    project.write("snippets/labs.yaml", f'"{quoted}":\n  name: Victim Lab\n')
    text = (project.root / "snippets/openai/openai-prep.md").read_text()
    project.write("snippets/openai/openai-prep.md", text.replace("lab: openai", f'lab: "{quoted}"'))


@pytest.mark.parametrize("key", HOSTILE_LAB_KEYS)
def test_a_lab_key_that_is_not_a_safe_name_is_an_error_at_its_line(project, key):
    _lab_project(project, key)
    found = [d for d in project.diagnostics() if d.path == "snippets/labs.yaml"]
    if "\x00" in key:  # refused sooner, as any key holding a control character
        assert [(d.code, d.line) for d in found] == [("F012", 1)], found
        return
    assert [(d.code, d.line) for d in found] == [("F008", 1)], found
    assert "not a valid name" in found[0].message


@pytest.mark.parametrize("key", ["../../victim", "../victim", "/tmp/victim-lab"])
def test_build_and_preview_write_nothing_outside_the_project(tmp_path, key):
    """Even the preview, which builds with errors, keeps every file inside its own tree."""
    outside = tmp_path / "outside"
    outside.mkdir()
    project = Project(outside / "a" / "b")
    _lab_project(project, key)
    before = {p for p in tmp_path.rglob("*")}

    result = CliRunner().invoke(cli, ["--root", str(project.root), "build"])
    assert result.exit_code == 1
    assert "F008" in result.output
    buildlib.build(project.root, preview=True, at=NOW)

    made = {p for p in tmp_path.rglob("*")} - before
    strays = [
        p
        for p in made
        if not any(
            p.is_relative_to(project.root / d) for d in ("site", "feeds", "drafts", ".toolkit")
        )
    ]
    assert strays == []
    assert not Path("/tmp/victim-lab").exists()


@pytest.mark.parametrize(
    "rel",
    ["../escape.html", "a/../../escape.html", "/abs.html", "a//b.html", "./a.html", "a/./b", ""],
)
def test_the_tree_writer_refuses_a_path_outside_its_tree(tmp_path, rel):
    staging = tmp_path / "out" / "staging"
    with pytest.raises(output.UnsafePath) as e:
        output.stage_tree({rel: output.Entry.of(b"x")}, tmp_path / "out" / "site", staging)
    assert repr(rel) in str(e.value)
    assert not (tmp_path / "escape.html").exists()
    assert not (tmp_path / "out" / "escape.html").exists()
    assert not staging.exists()  # nothing half-made is left


def test_a_tampered_tree_record_never_deletes_outside_the_tree(tmp_path):
    """The record of an old tree says what may be swept; a record naming paths outside
    the tree (or through a symlink) is ignored for those paths, whatever it says."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "index.html").write_bytes(b"keep me")
    (victim / "other.txt").write_bytes(b"keep me too")
    staging = tmp_path / "project" / ".toolkit" / "trees" / "site"
    staging.mkdir(parents=True)
    (staging / "claims").mkdir()
    (staging / "link").symlink_to(victim)
    record = output.Tree(
        files={
            "claims/../../../../victim/index.html": ("0" * 64, 7, 0, 0),
            "link/other.txt": ("0" * 64, 11, 0, 0),
        },
        dirs={
            "": 0,
            "claims": 0,
            "claims/..": 0,
            "claims/../..": 0,
            "claims/../../../../victim": 0,
            "link": 0,
        },
    )
    entries = {"index.html": output.Entry.of(b"home")}
    tree = output.stage_tree(entries, tmp_path / "project" / "site", staging, None, record)
    assert _tree(victim) == {"index.html": b"keep me", "other.txt": b"keep me too"}
    assert set(tree.files) == {"index.html"}
    assert not (staging / "link").exists()  # not ours: swept from the tree, not followed


def test_a_symlinked_staging_tree_is_never_followed(examples):
    """A symlink at .toolkit/trees/site (planted, or left by a broken tool) is replaced,
    and the build deletes nothing in its target."""
    root = examples
    post = root / "posts" / "paris-frameworks-compared.md"
    assert buildlib.build(root, at=NOW).ok
    post.write_text(post.read_text() + "\nA first edit.\n")
    assert buildlib.build(root, at=NOW).ok  # the first tree swapped out is now the spare
    assert (root / ".toolkit" / "trees" / "site" / "index.html").is_file()
    elsewhere = root.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_bytes(b"mine")
    spare = root / ".toolkit" / "trees" / "site"
    output.discard(spare)
    spare.symlink_to(elsewhere, target_is_directory=True)
    post.write_text(post.read_text() + "\nOne more line.\n")
    assert buildlib.build(root, at=NOW).ok
    assert _tree(elsewhere) == {"precious.txt": b"mine"}


def test_hostile_lab_keys_fixture_is_refused(project):
    """The regression fixture from the adversarial run, as it was written."""
    project.write("snippets/labs.yaml", (HOSTILE / "labs-traversal.yaml").read_text())
    text = (project.root / "snippets/openai/openai-prep.md").read_text()
    project.write(
        "snippets/openai/openai-prep.md",
        text.replace("lab: openai", 'lab: "../../../../../victim"'),
    )
    codes = {(d.path, d.code) for d in project.diagnostics()}
    assert ("snippets/labs.yaml", "F008") in codes


# --- drafts and the preview ----------------------------------------------------------


def _titles_on_index(index: Path) -> str:
    doc = html5lib.parse(index.read_bytes(), namespaceHTMLElements=False)
    return " ".join("".join(a.itertext()) for a in doc.iter("a"))


def test_the_preview_never_writes_site_and_a_later_build_has_no_drafts(project):
    project.write(
        "posts/secret-draft.md",
        post("title: Secret embargoed draft\nstatus: draft\n", "Not for the public yet.\n"),
    )
    runner = CliRunner()
    assert runner.invoke(cli, ["--root", str(project.root), "build"]).exit_code == 0
    site_before = _tree(project.root / "site")

    # What `toolkit serve` does on start and on every save.
    problems = serve.preview(project.root, drafts=True)
    assert problems == []
    preview = serve.preview_dir(project.root)
    assert preview.is_relative_to(project.root / ".toolkit")
    assert "Secret embargoed draft" in _titles_on_index(preview / "index.html")
    assert (preview / "posts" / "secret-draft" / "index.html").is_file()
    assert _tree(project.root / "site") == site_before  # untouched by the preview

    result = runner.invoke(cli, ["--root", str(project.root), "build"])
    assert result.exit_code == 0, result.output
    site = project.root / "site"
    assert not (site / "posts" / "secret-draft").exists()
    assert "Secret embargoed draft" not in _titles_on_index(site / "index.html")
    assert all(b"Secret embargoed draft" not in data for data in _tree(site).values())


def test_a_build_never_trusts_a_site_tree_a_preview_touched(project):
    """Had an older toolkit's preview written site/, the next build sees that site/ is not
    what it wrote, and rebuilds it rather than saying nothing changed."""
    project.write(
        "posts/secret-draft.md",
        post("title: Secret embargoed draft\nstatus: draft\n", "Not for the public yet.\n"),
    )
    runner = CliRunner()
    assert runner.invoke(cli, ["--root", str(project.root), "build"]).exit_code == 0
    # An old preview's leftovers, written into site/ behind the build's back.
    leaked = project.root / "site" / "posts" / "secret-draft"
    leaked.mkdir(parents=True)
    (leaked / "index.html").write_text("<h1>Secret embargoed draft</h1>")
    result = runner.invoke(cli, ["--root", str(project.root), "build"])
    assert result.exit_code == 0
    assert "Nothing changed" not in result.output
    assert not leaked.exists()


def test_a_preview_leaves_site_and_its_record_alone(project):
    """The preview keeps its tree apart from site/'s, so a build after it still knows that
    nothing changed."""
    runner = CliRunner()
    assert runner.invoke(cli, ["--root", str(project.root), "build"]).exit_code == 0
    serve.preview(project.root, drafts=True)
    result = runner.invoke(cli, ["--root", str(project.root), "build"])
    assert result.exit_code == 0
    assert "Nothing changed since the last build" in result.output
