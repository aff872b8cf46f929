"""Names from outside (folder names, titles in any script) become safe, working names."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import NOW

from toolkit import pipeline
from toolkit.cli import cli
from toolkit.content import slugify, tomllib  # tomllib, or tomli before 3.11


@pytest.mark.parametrize(
    "folder,title",
    [
        ("my\nsite", "My Site"),
        ('say "hi"\\', 'Say "Hi"\\'),
        ("a\x01b\x7f", "A B"),
    ],
    ids=["newline", "quote-and-backslash", "controls"],
)
def test_init_in_any_folder_writes_a_toolkit_toml_that_parses(tmp_path, folder, title):
    root = tmp_path / folder
    result = CliRunner().invoke(cli, ["init", str(root)])
    assert result.exit_code == 0, result.output
    config = tomllib.loads((root / "toolkit.toml").read_text(encoding="utf-8"))
    assert config["site"]["title"] == title
    assert pipeline.run(root, NOW).diagnostics == []


@pytest.mark.parametrize(
    "title,path",
    [
        ("Café", "posts/café.md"),
        ("東京の話", "posts/東京の話.md"),
        ("Кафе и чай", "posts/кафе-и-чай.md"),
        ("../../etc/passwd", "posts/etc-passwd.md"),
        (".hidden..name", "posts/hidden.name.md"),
    ],
)
def test_new_post_keeps_letters_of_any_script_in_a_safe_file_name(project, title, path):
    result = CliRunner().invoke(cli, ["--root", str(project.root), "new", "post", title])
    assert result.exit_code == 0, result.output
    assert (project.root / path).is_file(), result.output
    assert pipeline.run(project.root, NOW).diagnostics == []


def test_two_titles_in_another_script_make_two_posts(project):
    for title in ("東京の話", "大阪の話"):
        result = CliRunner().invoke(cli, ["--root", str(project.root), "new", "post", title])
        assert result.exit_code == 0, result.output
    assert not (project.root / "posts/untitled.md").exists()


@pytest.mark.parametrize(
    "text", ["..", "../x", "a/b\\c", "x\x00y", ".", "-.-", "é" * 300, "e\u0301" * 3]
)
def test_a_slug_is_always_one_safe_path_name(text):
    slug = slugify(text)
    assert slug and slug not in (".", "..") and not slug.startswith(".")
    assert not set(slug) & {"/", "\\", "\x00"} and ".." not in slug
    assert len(slug.encode("utf-8")) <= 100
