"""documents.yaml: the register of company documents, snippets that name one, and
`[@doc-id]` citations of a whole document."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from conftest import SNIPPET, post

from toolkit import diagnostics as dg
from toolkit.cli import cli
from toolkit.markdown import plain_text

DOCUMENTS = """\
# The documents we cite.
openai-preparedness:
  lab: openai
  title: Preparedness Framework (Beta)
  url: https://openai.com/preparedness/
  published: 2023-12-18
  archive: https://web.archive.org/web/20240603125126/https://openai.com/preparedness/
  kind: framework
"""

BY_ID = """\
---
lab: openai
title: Evaluations before deployment
quote: "We will run evaluations."
source: openai-preparedness
locator: "p. 3"
status: current
---
"""


def only(diags, code):
    found = [d for d in diags if d.code == code]
    assert found, f"no {code} in {[d.format() for d in diags]}"
    return found


def test_a_snippet_may_name_a_document_instead_of_repeating_its_source(project):
    project.write("documents.yaml", DOCUMENTS)
    project.write("snippets/openai/by-id.md", BY_ID)
    result = project.run()
    assert result.diagnostics == [], [d.format() for d in result.diagnostics]
    s = result.project.snippets["by-id"]
    assert s.document == "openai-preparedness"
    assert s.source_url == "https://openai.com/preparedness/"
    assert s.source_title == "Preparedness Framework (Beta)"
    assert str(s.published) == "2023-12-18"
    assert s.archive.startswith("https://web.archive.org/web/20240603125126/")


def test_citing_a_by_id_snippet_names_the_document_and_the_locator(project):
    project.write("documents.yaml", DOCUMENTS)
    project.write("snippets/openai/by-id.md", BY_ID)
    project.write(
        "posts/a-post.md",
        post("title: T\nstatus: published\ndate: 2025-02-14\nclaims: [by-id]\n", "Said.[@by-id]\n"),
    )
    result = project.run()
    (p,) = result.project.posts
    note = result.document(p).notes[0]
    assert plain_text(note.children) == (
        "OpenAI, “Preparedness Framework (Beta)”, 18 December 2023, p. 3 (archived 3 June 2024)."
    )


def test_a_whole_document_is_cited_by_its_id(project):
    project.write("documents.yaml", DOCUMENTS)
    project.write(
        "posts/a-post.md",
        post("title: T\nstatus: published\ndate: 2025-02-14\n", "See [@openai-preparedness].\n"),
    )
    result = project.run()
    assert [d for d in result.diagnostics if d.path == "posts/a-post.md"] == []
    (p,) = result.project.posts
    doc = result.document(p)
    assert plain_text(doc.notes[0].children) == (
        "OpenAI, “Preparedness Framework (Beta)”, 18 December 2023 (archived 3 June 2024)."
    )
    links = [
        t["attrs"]["url"]
        for t in _walk(doc.notes[0].children)
        if t["type"] == "link" and t["attrs"].get("role") == "archive"
    ]
    assert links == ["https://web.archive.org/web/20240603125126/https://openai.com/preparedness/"]


def test_a_post_citing_a_whole_document_is_listed_on_its_page(project):
    import html5lib
    from conftest import NOW

    from toolkit import build as buildlib

    project.write("documents.yaml", DOCUMENTS)
    project.write(
        "posts/whole.md",
        post(
            "title: The whole framework\nstatus: published\ndate: 2025-02-14\n",
            "See [@openai-preparedness].\n",
        ),
    )
    assert buildlib.build(project.root, at=NOW).ok
    page = html5lib.parse(
        (project.root / "site/documents/openai-preparedness/index.html").read_bytes(),
        namespaceHTMLElements=False,
    )
    links = {a.text: a.get("href") for a in page.iter("a")}
    assert links.get("The whole framework") == "../../posts/whole/"


def _walk(tokens):
    for t in tokens:
        yield t
        yield from _walk(t.get("children") or [])


def test_an_unknown_citation_suggests_documents_too(project):
    project.write("documents.yaml", DOCUMENTS)
    project.write("posts/a-post.md", post("title: T\n", "x\n\nSee [@openai-preparednes].\n"))
    found = only(project.diagnostics(), "P003")
    assert (found[0].path, found[0].line) == ("posts/a-post.md", 6)
    assert "did you mean `openai-preparedness`?" in found[0].message


CASES = [
    # code, files, path, line, words in the message
    (
        "D001",
        {
            "documents.yaml": DOCUMENTS,
            "snippets/openai/by-id.md": BY_ID.replace(
                "source: openai-preparedness", "source: openai-preparednes"
            ),
        },
        "snippets/openai/by-id.md",
        5,
        "did you mean `openai-preparedness`?",
    ),
    (
        "D002",
        {
            "documents.yaml": DOCUMENTS
            + "../escape:\n  lab: openai\n  title: T\n  url: https://a.b/\n"
        },
        "documents.yaml",
        9,
        "not a valid name",
    ),
    (
        "D003",
        {
            "documents.yaml": DOCUMENTS.replace(
                "  archive: https://web.archive.org/web/20240603125126/https://openai.com/preparedness/\n",
                "",
            )
        },
        "documents.yaml",
        2,
        "toolkit archive",
    ),
    (
        "D004",
        {"documents.yaml": DOCUMENTS.replace("lab: openai", "lab: opnai")},
        "documents.yaml",
        3,
        "did you mean `openai`?",
    ),
    (
        "D005",
        {"documents.yaml": DOCUMENTS.replace("openai-preparedness:", "openai-prep:")},
        "documents.yaml",
        2,
        "snippets/openai/openai-prep.md",
    ),
    (
        "F006",
        {"documents.yaml": DOCUMENTS.replace("  kind: framework", "  knd: framework")},
        "documents.yaml",
        8,
        "did you mean `kind`?",
    ),
    (
        "F005",
        {"documents.yaml": DOCUMENTS.replace("  url: https://openai.com/preparedness/\n", "")},
        "documents.yaml",
        2,
        "`url`",
    ),
    (
        "F007",
        {"documents.yaml": DOCUMENTS + "  versions:\n    - seen: 2025-02-30\n"},
        "documents.yaml",
        10,
        "2025-02-30",
    ),
    (
        "A002",
        {
            "documents.yaml": DOCUMENTS.replace(
                "20240603125126/https://openai.com/preparedness/",
                "20240603125126/https://openai.com/other/",
            )
        },
        "documents.yaml",
        2,
        "archive the source URL",
    ),
    (
        "A001",
        {
            "documents.yaml": DOCUMENTS + "  versions:\n    - seen: 2025-03-01\n"
            "      archive: https://example.com/not-a-snapshot\n"
        },
        "documents.yaml",
        10,
        "not an archive snapshot",
    ),
]


@pytest.mark.parametrize(
    "code,files,path,line,words", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_document_codes_fire_at_the_right_line(project, code, files, path, line, words):
    for rel, text in files.items():
        project.write(rel, text)
    diags = project.diagnostics()
    found = only(diags, code)
    assert (found[0].path, found[0].line) == (path, line), [d.format() for d in diags]
    assert found[0].severity == dg.CODES[code].severity
    assert words in found[0].message


def test_a_by_id_snippet_without_archive_is_reported_once_on_its_document(project):
    """Six snippets of one unarchived document: one D003, no S003 per snippet."""
    project.write(
        "documents.yaml",
        DOCUMENTS.replace(
            "  archive: https://web.archive.org/web/20240603125126/https://openai.com/preparedness/\n",
            "",
        ),
    )
    for i in range(6):
        project.write(f"snippets/openai/by-id-{i}.md", BY_ID)
    codes = [d.code for d in project.diagnostics()]
    assert codes.count("D003") == 1 and "S003" not in codes


def _as_json(text: str):
    """YAML as an editor's language server sees it: dates are strings."""
    return json.loads(json.dumps(yaml.safe_load(text), default=str))


def test_the_schema_describes_documents_and_accepts_the_register(project, tmp_path):
    result = CliRunner().invoke(cli, ["--root", str(project.root), "schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads((project.root / "schemas/documents.schema.json").read_text())
    good = _as_json(
        DOCUMENTS + "  versions:\n    - seen: '2025-03-01'\n      archive: "
        "https://web.archive.org/web/20250301000000/https://openai.com/preparedness/\n"
        "      digest: sha256:ab\n      summary: Thresholds reworded.\n"
    )
    jsonschema.validate(good, schema)
    bad = _as_json(DOCUMENTS.replace("  kind:", "  knd:"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    snippet = json.loads((project.root / "schemas/snippet.schema.json").read_text())
    jsonschema.validate(_as_json(BY_ID.strip("-\n")), snippet)
    jsonschema.validate(_as_json(SNIPPET.split("---")[1]), snippet)


# `toolkit new document` and `toolkit archive` ---------------------------------------------


def invoke(root, *args, env=None):
    return CliRunner().invoke(cli, ["--root", str(root), *args], env=env)


def test_new_document_appends_an_entry_and_changes_nothing_else(project):
    path = project.write("documents.yaml", DOCUMENTS.replace("\n", "\r\n"))
    before = path.read_bytes()
    result = invoke(
        project.root,
        "new",
        "document",
        "--lab",
        "openai",
        "--title",
        "GPT-5 System Card: risks",
        "--url",
        "https://openai.com/gpt-5-system-card.pdf",
        "--kind",
        "system card",
        "--published",
        "2025-08-07",
    )
    assert result.exit_code == 0, result.output
    assert result.output == "openai-gpt-5-system-card-risks\n"
    after = path.read_bytes()
    assert after.startswith(before)
    assert after[len(before) :] == (
        b"openai-gpt-5-system-card-risks:\r\n  lab: openai\r\n"
        b'  title: "GPT-5 System Card: risks"\r\n'
        b"  url: https://openai.com/gpt-5-system-card.pdf\r\n  published: 2025-08-07\r\n"
        b"  kind: system card\r\n"
    )
    loaded = yaml.safe_load(after.decode())
    assert loaded["openai-gpt-5-system-card-risks"]["title"] == "GPT-5 System Card: risks"
    codes = {d.code for d in project.diagnostics()}
    assert codes == {"D003"}  # valid, and waiting for `toolkit archive`


def test_new_document_refuses_a_taken_id_and_an_unknown_lab(project):
    project.write("documents.yaml", DOCUMENTS)
    taken = invoke(
        project.root,
        "new",
        "document",
        "--lab",
        "openai",
        "--title",
        "x",
        "--url",
        "https://a.example/",
        "--id",
        "openai-preparedness",
    )
    assert taken.exit_code == 2 and "already taken" in taken.output
    lab = invoke(
        project.root,
        "new",
        "document",
        "--lab",
        "opnai",
        "--title",
        "x",
        "--url",
        "https://a.example/",
    )
    assert lab.exit_code == 2 and "did you mean `openai`?" in lab.output
    unsafe = invoke(
        project.root,
        "new",
        "document",
        "--lab",
        "openai",
        "--title",
        "x",
        "--url",
        "https://a.example/",
        "--id",
        "../up",
    )
    assert unsafe.exit_code == 2 and "not a valid id" in unsafe.output
    assert (project.root / "documents.yaml").read_text() == DOCUMENTS


@pytest.mark.parametrize("newline,bom", [("\n", ""), ("\r\n", "\ufeff")], ids=["lf", "crlf-bom"])
def test_archive_fills_a_documents_missing_archive_byte_exactly(tmp_path, wayback, newline, bom):
    from conftest import online_project

    online_project(tmp_path, wayback.url)
    url = "https://x.ai/framework"
    wayback.add_capture(url, "20250201080000", "<p>We will.</p>")
    register = (
        "# documents\nxai-rmf:\n  lab: xai   # the company\n  title: 'RMF'\n  url: " + url + "\n"
        "  kind: framework\n\nxai-other:\n  lab: xai\n  title: Other\n  url: https://x.ai/o\n"
        "  archive: https://web.archive.org/web/20250101000000/https://x.ai/o\n"
    )
    (tmp_path / "documents.yaml").write_bytes((bom + register).replace("\n", newline).encode())
    (tmp_path / "snippets/s.md").write_text(
        BY_ID.replace("openai-preparedness", "xai-rmf").replace("lab: openai", "lab: xai")
    )
    snippet_before = (tmp_path / "snippets/s.md").read_bytes()
    result = invoke(tmp_path, "archive", env={"WAYBACK_ACCESS_KEY": "", "WAYBACK_SECRET_KEY": ""})
    assert result.exit_code == 0, result.output
    snapshot = wayback.snapshot_url("20250201080000", url)
    expected = register.replace(f"  url: {url}\n", f"  url: {url}\n  archive: {snapshot}\n")
    assert (tmp_path / "documents.yaml").read_bytes() == (bom + expected).replace(
        "\n", newline
    ).encode()
    assert (tmp_path / "snippets/s.md").read_bytes() == snippet_before  # its copy is the doc's
    assert "1 URL: 1 found." in result.output


def test_editing_documents_yaml_is_never_served_stale(project):
    """A build with nothing else changed must still see an edit to documents.yaml: the
    build's own list of project-wide files once left it out, and the old title stayed."""
    import html5lib
    from conftest import NOW

    from toolkit import build as buildlib

    project.write("documents.yaml", DOCUMENTS)
    project.write(
        "posts/whole.md",
        post("title: W\nstatus: published\ndate: 2025-02-14\n", "See [@openai-preparedness].\n"),
    )
    assert buildlib.build(project.root, at=NOW).ok
    project.write(
        "documents.yaml",
        DOCUMENTS.replace("Preparedness Framework (Beta)", "Preparedness Framework, renamed"),
    )
    report = buildlib.build(project.root, at=NOW)
    assert report.ok and not report.up_to_date
    page = (project.root / "site/documents/openai-preparedness/index.html").read_bytes()
    text = "".join(html5lib.parse(page, namespaceHTMLElements=False).itertext())
    assert "Preparedness Framework, renamed" in text
    assert "(Beta)" not in text
