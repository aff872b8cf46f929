"""One test per diagnostic code: a clean project, one problem added, the exact report."""

from __future__ import annotations

import pytest
from conftest import NOW, SNIPPET, post

from toolkit import diagnostics as dg

PUBLISHED = """
title: T
date: 2025-02-14
status: published
claims: [openai-prep]
"""


def only(diags, code):
    found = [d for d in diags if d.code == code]
    assert found, f"no {code} in {[d.format() for d in diags]}"
    return found


def test_clean_project_has_no_diagnostics(project):
    assert project.diagnostics() == []


CASES = [
    # code, files to write, expected path, expected line
    ("F001", {"posts/bad.md": b"---\ntitle: T\n---\nfine\ncaf\xe9\n"}, "posts/bad.md", 5),
    (
        "F002",
        {"posts/bad.md": "---\ntitle: T\ntags: [a, b\nstatus: draft\n---\nx\n"},
        "posts/bad.md",
        4,
    ),
    ("F002", {"toolkit.toml": '[site]\ntitle = "T"\nbase_url = https://x\n'}, "toolkit.toml", 3),
    ("F003", {"posts/bad.md": "# Just a heading\n\nNo front matter.\n"}, "posts/bad.md", 1),
    ("F004", {"posts/bad.md": post("title: T\ntags: {a: 1}\n", "x\n")}, "posts/bad.md", 3),
    ("F004", {"posts/bad.md": post("title: [a, b]\n", "x\n")}, "posts/bad.md", 2),
    ("F005", {"posts/bad.md": post("status: draft\n", "x\n")}, "posts/bad.md", 2),
    (
        "F005",
        {"snippets/openai/s2.md": SNIPPET.replace("  url: https://openai.com/preparedness/\n", "")},
        "snippets/openai/s2.md",
        5,
    ),
    ("F006", {"posts/bad.md": post("title: T\ntittle: x\n", "x\n")}, "posts/bad.md", 3),
    (
        "F006",
        {"toolkit.toml": '[site]\ntitle = "T"\nbase_url = "https://example.org"\nbase_ur = "x"\n'},
        "toolkit.toml",
        4,
    ),
    ("F007", {"posts/bad.md": post("title: T\ndate: 2025-02-30\n", "x\n")}, "posts/bad.md", 3),
    ("F007", {"posts/bad.md": post('title: T\ndate: "last tuesday"\n', "x\n")}, "posts/bad.md", 3),
    ("F008", {"posts/bad.md": post("title: T\nkind: shortfrom\n", "x\n")}, "posts/bad.md", 3),
    ("F008", {"posts/bad.md": post("title: T\nstatus: publshed\n", "x\n")}, "posts/bad.md", 3),
    ("F009", {"posts/bad.md": post("title: T\ntitle: U\n", "x\n")}, "posts/bad.md", 3),
    # A control character escaped in YAML, and a form feed pasted into a body.
    ("F012", {"posts/bad.md": post('title: T\nsummary: "A\\x01B"\n', "x\n")}, "posts/bad.md", 3),
    ("F012", {"posts/bad.md": post("title: T\n", "one\ntwo\x0cthree\n")}, "posts/bad.md", 5),
    ("F012", {"snippets/labs.yaml": 'openai:\n  name: "Open\\x1bAI"\n'}, "snippets/labs.yaml", 2),
    (
        "F010",
        {
            "snippets/openai/s2.md": SNIPPET.replace(
                "https://openai.com/preparedness/\n", "openai.com/preparedness\n", 1
            )
        },
        "snippets/openai/s2.md",
        6,
    ),
    ("P001", {"posts/bad.md": post("title: T\nstatus: published\n", "x\n")}, "posts/bad.md", 3),
    ("P002", {"posts/bad.md": post("title: T\nslug: a-post\n", "x\n")}, "posts/bad.md", 3),
    (
        "P003",
        {"posts/bad.md": post(PUBLISHED, "One.\n\nTwo [@openai-prepp].\n")},
        "posts/bad.md",
        9,
    ),
    (
        "P003",
        {"posts/bad.md": post(PUBLISHED, "One.\n\n```{claim} nope\n```\n")},
        "posts/bad.md",
        9,
    ),
    (
        "P004",
        {"posts/bad.md": post("title: T\nclaims: []\n", "x\n\nsee [@openai-prep]\n")},
        "posts/bad.md",
        7,
    ),
    (
        "P005",
        {"posts/bad.md": post("title: T\nclaims:\n  - openai-prep\n  - gone\n", "x\n")},
        "posts/bad.md",
        5,
    ),
    ("P006", {"posts/bad.md": post("title: T\n", "x\n\nA claim.[^missing]\n")}, "posts/bad.md", 6),
    (
        "P007",
        {"posts/bad.md": post("title: T\n", "x\n\n[^lonely]: never used\n")},
        "posts/bad.md",
        6,
    ),
    (
        "P008",
        {"posts/bad.md": post("title: T\n", "x[^a]\n\n[^a]: one\n[^a]: two\n")},
        "posts/bad.md",
        7,
    ),
    (
        "P011",
        {"posts/bad.md": post("title: T\n", "x\n\n[click](javascript:alert(1))\n")},
        "posts/bad.md",
        6,
    ),
    (
        "P011",
        {"posts/bad.md": post("title: T\n", "![img](data:image/png;base64,AAAA)\n")},
        "posts/bad.md",
        4,
    ),
    (
        "P012",
        {"posts/bad.md": post("title: T\n", "x\n\n[METR](https://metr.org/rsp)\n")},
        "posts/bad.md",
        6,
    ),
    (
        "P013",
        {
            "snippets/openai/noquote.md": SNIPPET.replace(
                'quote: "We will run evaluations."\n', ""
            ),
            "posts/bad.md": post("title: T\nclaims: [noquote]\n", "\n```{claim} noquote\n```\n"),
        },
        "posts/bad.md",
        6,
    ),
    (
        "P014",
        {"posts/bad.md": post("title: T\n", "x\n\n```{claims} openai-prep\n```\n")},
        "posts/bad.md",
        6,
    ),
    ("S001", {"snippets/other/openai-prep.md": SNIPPET}, "snippets/other/openai-prep.md", 1),
    (
        "S002",
        {"snippets/openai/s2.md": SNIPPET.replace("lab: openai", "lab: opneai")},
        "snippets/openai/s2.md",
        2,
    ),
    (
        "S003",
        {
            "snippets/openai/s2.md": SNIPPET.replace(
                "archive: https://web.archive.org/web/20240603125126/https://openai.com/preparedness/\n",
                "",
            )
        },
        "snippets/openai/s2.md",
        5,
    ),
    (
        "S004",
        {"snippets/openai/s2.md": SNIPPET.replace("status: current", "status: superseded")},
        "snippets/openai/s2.md",
        10,
    ),
    (
        "S005",
        {
            "snippets/openai/s2.md": SNIPPET.replace(
                "status: current", "status: superseded\nsuperseded_by: openai-prp"
            )
        },
        "snippets/openai/s2.md",
        11,
    ),
    (
        "S007",
        {"snippets/openai/s2.md": SNIPPET.replace('quote: "We will run evaluations."\n', "")},
        "snippets/openai/s2.md",
        3,
    ),
    (
        "A001",
        {
            "snippets/openai/s2.md": SNIPPET.replace(
                "https://web.archive.org/web/20240603125126/", "https://example.com/copy/"
            )
        },
        "snippets/openai/s2.md",
        9,
    ),
    (
        "A001",
        {"snippets/openai/s2.md": SNIPPET.replace("/web/20240603125126/", "/web/*/")},
        "snippets/openai/s2.md",
        9,
    ),
    (
        "A002",
        {
            "snippets/openai/s2.md": SNIPPET.replace(
                "20240603125126/https://openai.com/preparedness/",
                "20240603125126/https://openai.com/safety/",
            )
        },
        "snippets/openai/s2.md",
        9,
    ),
    (
        "A003",
        {"snippets/openai/s2.md": SNIPPET.replace("20240603125126", "20241341125126")},
        "snippets/openai/s2.md",
        9,
    ),
    (
        "A003",
        {"snippets/openai/s2.md": SNIPPET.replace("20240603125126", "2024")},
        "snippets/openai/s2.md",
        9,
    ),
    (
        "A004",
        {"snippets/openai/s2.md": SNIPPET.replace("20240603125126", "20990603125126")},
        "snippets/openai/s2.md",
        9,
    ),
    (
        "A002",
        {
            "archives.yaml": "# links\nhttps://metr.org/rsp:\n"
            "  archive: https://web.archive.org/web/20250101000000/https://metr.org/other\n"
        },
        "archives.yaml",
        2,
    ),
    ("C001", {}, "toolkit.toml", 1),
]


@pytest.mark.parametrize(
    "code,files,path,line", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_code_fires_at_the_right_line(project, code, files, path, line):
    if code == "C001":
        project.remove("toolkit.toml")
    for rel, text in files.items():
        project.write(rel, text)
    diags = project.diagnostics()
    found = only(diags, code)
    assert (found[0].path, found[0].line) == (path, line), [d.format() for d in diags]
    assert found[0].severity == dg.CODES[code].severity


def test_every_code_has_a_test():
    """Each code is asserted somewhere in the tests (the online ones in test_online.py)."""
    import re
    from pathlib import Path

    text = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    tested = set(re.findall(r'"([FCPSDAL]\d{3})"', text))
    assert tested >= set(dg.CODES), sorted(set(dg.CODES) - tested)


def test_citing_a_retracted_snippet_is_an_error(project):
    project.write("snippets/openai/old.md", SNIPPET.replace("status: current", "status: retracted"))
    project.write("posts/bad.md", post("title: T\nclaims: [old]\n", "x\n\nSee [@old].\n"))
    found = only(project.diagnostics(), "P009")
    assert (found[0].path, found[0].line, found[0].severity) == ("posts/bad.md", 7, "error")


def test_citing_a_superseded_snippet_names_the_newest_successor(project):
    project.write(
        "snippets/openai/v1.md",
        SNIPPET.replace("status: current", "status: superseded\nsuperseded_by: v2"),
    )
    project.write(
        "snippets/openai/v2.md",
        SNIPPET.replace("status: current", "status: superseded\nsuperseded_by: v3"),
    )
    project.write("snippets/openai/v3.md", SNIPPET)
    project.write("posts/bad.md", post("title: T\nclaims: [v1]\n", "x\n\nSee [@v1].\n"))
    found = only(project.diagnostics(), "P010")
    assert (found[0].path, found[0].line, found[0].severity) == ("posts/bad.md", 7, "warning")
    assert "`v2`" in found[0].message and "cite `v3` instead" in found[0].message


def test_supersession_cycle_is_reported_once(project):
    for a, b in (("c1", "c2"), ("c2", "c3"), ("c3", "c1")):
        project.write(
            f"snippets/openai/{a}.md",
            SNIPPET.replace("status: current", f"status: superseded\nsuperseded_by: {b}"),
        )
    found = only(project.diagnostics(), "S006")
    assert len(found) == 1
    assert found[0].path == "snippets/openai/c1.md" and found[0].line == 11
    assert "c1 -> c2 -> c3 -> c1" in found[0].message


def test_unreadable_file_is_reported_not_raised(project):
    project.write("posts/dir.md/inner.md", post("title: T\n", "x\n"))  # a directory named .md
    (project.root / "posts/locked.md").symlink_to(project.root / "posts/nowhere.md")
    assert (project.root / "posts/dir.md").is_dir()
    assert (project.root / "posts/locked.md").is_symlink()
    assert not (project.root / "posts/locked.md").exists()
    checked = project.run()
    diags = checked.diagnostics
    found = only(diags, "F011")
    assert found[0].path == "posts/locked.md"
    # The directory named .md is walked into, not read as a file: its post loads cleanly
    # and the only diagnostic is the broken symlink's.
    assert [(d.path, d.line, d.code) for d in diags] == [("posts/locked.md", 1, "F011")]
    assert [p.path for p in checked.project.posts] == ["posts/a-post.md", "posts/dir.md/inner.md"]


def test_one_bad_file_does_not_stop_the_others(project):
    project.write("posts/bad.md", b"---\ntitle: \xff\n---\n")
    project.write("posts/also.md", post("title: T\nclaims: []\n", "x [@nope]\n"))
    codes = {d.code for d in project.diagnostics()}
    assert {"F001", "P003"} <= codes


def test_duplicate_snippet_names_both_files(project):
    project.write("snippets/other/openai-prep.md", SNIPPET)
    found = only(project.diagnostics(), "S001")
    assert "snippets/openai/openai-prep.md" in found[0].message
    assert "snippets/other/openai-prep.md" in found[0].message


def test_unknown_key_and_unknown_snippet_suggest_a_fix(project):
    project.write("posts/bad.md", post("title: T\nsumary: x\nclaims: []\n", "x [@openai-prep]\n"))
    diags = project.diagnostics()
    assert "did you mean `summary`?" in only(diags, "F006")[0].message
    project.write("posts/bad.md", post("title: T\nclaims: [openai-prep]\n", "x [@openai-prp]\n"))
    assert "did you mean `openai-prep`?" in only(project.diagnostics(), "P003")[0].message


def test_front_matter_lines_count_from_the_top_of_the_file(project):
    text = "---\n# a comment\n\ntitle: T\n\n\nkind: nonsense\n---\nbody\n"
    project.write("posts/bad.md", text)
    assert only(project.diagnostics(), "F008")[0].line == 7


@pytest.mark.parametrize(
    "value, code", [("0", "F008"), ("-3", "F008"), ("2.5", "F004"), ('"two"', "F004")]
)
def test_an_online_limit_must_be_a_whole_number_of_at_least_one(project, value, code):
    config = (project.root / "toolkit.toml").read_text()
    project.write("toolkit.toml", config + f"\n[online]\nper_host = {value}\n")
    (d,) = only(project.diagnostics(), code)
    assert (d.path, d.line) == ("toolkit.toml", config.count("\n") + 3)
    assert "per_host" in d.message


def test_wayback_base_url_from_config_is_a_snapshot_host(project):
    project.write(
        "toolkit.toml",
        project.root.joinpath("toolkit.toml").read_text()
        + '[archive]\nwayback_url = "http://127.0.0.1:8765"\n',
    )
    project.write(
        "snippets/openai/s2.md",
        SNIPPET.replace("https://web.archive.org/web/", "http://127.0.0.1:8765/web/"),
    )
    assert project.diagnostics() == []


def test_ignore_silences_a_code(project):
    project.write("posts/bad.md", post("title: T\n", "x\n\n[METR](https://metr.org/rsp)\n"))
    assert only(project.diagnostics(), "P012")
    project.write(
        "toolkit.toml",
        project.root.joinpath("toolkit.toml")
        .read_text()
        .replace(
            'no_archive_needed = ["lesswrong.com"]',
            'no_archive_needed = ["lesswrong.com"]\nignore = ["P012"]',
        ),
    )
    assert [d for d in project.diagnostics() if d.code == "P012"] == []


def test_snapshot_in_the_future_depends_on_now(project):
    project.write("snippets/openai/s2.md", SNIPPET.replace("20240603125126", "20260603125126"))
    assert only(project.diagnostics(NOW), "A004")
    later = NOW.replace(year=2027)
    assert [d for d in project.diagnostics(later) if d.code == "A004"] == []


def test_positions_stay_right_after_directives_and_code(project):
    body = (
        "Intro.\n\n```{claim} openai-prep\n```\n\n```python\nx = '[@nope]'\n```\n\n"
        "Use `[@nope]` in code.\n\nA link [x](https://metr.org/a) and [@nope2].\n"
    )
    project.write("posts/bad.md", post("title: T\nclaims: [openai-prep]\n", body))
    diags = [d for d in project.diagnostics() if d.path == "posts/bad.md"]
    assert [(d.code, d.line, d.column) for d in diags] == [("P012", 16, 12), ("P003", 16, 36)]


def test_unsafe_link_is_placed_at_the_link_not_at_the_word_in_prose(project):
    body = 'Never click javascript: links.\n\nHere: [x](javascript:alert("hi")).\n'
    project.write("posts/bad.md", post("title: T\n", body))
    found = only(project.diagnostics(), "P011")
    assert [(d.line, d.column) for d in found] == [(6, 11)]


def test_each_repeat_of_a_link_is_placed_at_its_own_line(project):
    body = "".join(f"{i}. [a](https://metr.org/a) and `https://metr.org/a`\n" for i in range(1, 6))
    project.write("posts/bad.md", post("title: T\n", body))
    found = only(project.diagnostics(), "P012")
    assert [(d.line, d.column) for d in found] == [(i, 8) for i in range(4, 9)]


@pytest.mark.parametrize(
    "body,line,column,back",
    [
        ("Text.[^a]\n\n[^a]: See [^a] again.\n", 6, 11, "itself"),
        ("Text.[^a]\n\n[^a]: Note a, see [^b].\n\n[^b]: Unlike [^a].\n", 8, 14, "`[^b]`"),
    ],
    ids=["self-reference", "two-notes-in-a-circle"],
)
def test_a_cycle_of_footnotes_is_reported_where_it_closes(project, body, line, column, back):
    project.write("posts/bad.md", post("title: T\n", body))
    found = only(project.diagnostics(), "P017")
    assert (found[-1].line, found[-1].column) == (line, column)
    assert f"leads back to {back}" in found[-1].message


def test_a_footnote_inside_a_footnote_is_no_error(project):
    body = "Text.[^a] More.[^b]\n\n[^a]: Note a.\n\n[^b]: Unlike [^a], see [^c].\n\n[^c]: C.\n"
    project.write("posts/fine.md", post("title: T\n", body))
    assert [d for d in project.diagnostics() if d.path == "posts/fine.md"] == []


def test_an_image_without_alt_text_is_a_warning_at_it(project):
    project.write("posts/bad.md", post("title: T\n", "Text.\n\nSee ![](https://x.org/c.png).\n"))
    [d] = only(project.diagnostics(), "P020")
    assert (d.line, d.column) == (6, 5) and d.severity == "warning"
    assert "![what it shows](https://x.org/c.png)" in d.message


def test_a_local_image_under_the_placeholder_base_url_is_a_warning(project):
    project.write("posts/bad.md", post("title: T\n", "Text.\n\n![A chart](img/c.png)\n"))
    [d] = only(project.diagnostics(), "P021")
    assert (d.line, d.column) == (6, 1) and "set [site] base_url" in d.message
    config = (project.root / "toolkit.toml").read_text()
    project.write("toolkit.toml", config.replace("https://example.org", "https://mine.example"))
    assert [d for d in project.diagnostics() if d.code in ("P020", "P021")] == []


def test_a_missing_local_image_is_an_error_at_its_line(project):
    body = "Text.\n\nA chart: ![A chart](img/c.png) here.\n"
    project.write("posts/bad.md", post("title: T\n", body))
    [d] = only(project.diagnostics(), "P018")
    assert (d.path, d.line, d.column, d.severity) == ("posts/bad.md", 6, 10, "error")
    assert "posts/img/c.png" in d.message and "add it" in d.message
    project.write("posts/img/c.png", b"\x89PNG not really")
    assert [d for d in project.diagnostics() if d.code == "P018"] == []


@pytest.mark.parametrize(
    "url, says",
    [
        ("../../outside.png", "outside the project"),
        ("img/../../../outside.png", "outside the project"),
        ("/etc/hostname", "absolute path"),
    ],
)
def test_an_image_path_that_leaves_the_project_is_an_error(project, url, says):
    (project.root.parent / "outside.png").write_bytes(b"not yours")
    project.write("posts/bad.md", post("title: T\n", f"Text.\n\n![A chart]({url})\n"))
    [d] = only(project.diagnostics(), "P018")
    assert d.line == 6 and says in d.message, d.message


def test_a_link_out_of_the_project_is_no_image_file(project):
    (project.root.parent / "outside.png").write_bytes(b"not yours")
    (project.root / "posts").mkdir(exist_ok=True)
    (project.root / "posts" / "c.png").symlink_to(project.root.parent / "outside.png")
    project.write("posts/bad.md", post("title: T\n", "Text.\n\n![A chart](c.png)\n"))
    [d] = only(project.diagnostics(), "P018")
    assert "outside the project" in d.message


def test_an_image_one_folder_up_inside_the_project_is_fine(project):
    project.write("media/c.png", b"\x89PNG")
    project.write("posts/fine.md", post("title: T\n", "Text.\n\n![A chart](../media/c.png)\n"))
    assert [d for d in project.diagnostics() if d.code == "P018"] == []
