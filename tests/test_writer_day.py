"""init, new, claims, schema: the writer's day, through click's CliRunner."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from conftest import REPO, SNIPPET

from toolkit import content, pipeline
from toolkit.cli import cli


def run(root: Path, *args: str):
    return CliRunner().invoke(cli, ["--root", str(root), *args])


# init --------------------------------------------------------------------------------------


def test_init_makes_a_project_that_builds_at_once(tmp_path):
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    root = tmp_path / "site"
    for rel in ("toolkit.toml", ".gitignore", "snippets/labs.yaml", "posts/hello-world.md"):
        assert (root / rel).is_file(), rel
    assert {"site/", "drafts/", ".toolkit/"} <= {
        line.strip("/") + "/"
        for line in (root / ".gitignore").read_text().split()
        if not line.startswith("#")
    }
    labs = yaml.safe_load((root / "snippets/labs.yaml").read_text())
    assert {"anthropic", "openai", "google-deepmind", "meta", "xai"} <= set(labs)
    assert pipeline.run(root).diagnostics == []
    build = run(root, "build")
    assert build.exit_code == 0, build.output
    assert (root / "site/posts/hello-world/index.html").is_file()


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path):
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts/hello-world.md").write_text("mine")
    result = CliRunner().invoke(cli, ["init", str(tmp_path)])
    assert result.exit_code == 1
    assert "posts/hello-world.md" in result.stderr
    assert (tmp_path / "posts/hello-world.md").read_text() == "mine"
    assert not (tmp_path / "toolkit.toml").exists()


# new ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["post", "shortform"])
def test_new_post_has_valid_front_matter(project, kind):
    result = run(project.root, "new", kind, "Frameworks after the summit: a first look")
    assert result.exit_code == 0, result.output
    rel = result.stdout.strip()
    assert rel == "posts/frameworks-after-the-summit-a-first-look.md"
    post, diags = content.load_post(project.root, project.root / rel)
    assert diags == [] and post is not None
    assert (post.kind, post.status, post.title) == (
        kind,
        "draft",
        "Frameworks after the summit: a first look",
    )
    assert post.date is not None
    assert project.diagnostics() == []  # the new file passes the check as it is


def test_new_files_get_the_usual_permissions(project):
    # Written via a private temporary file, but a post is the writer's, for any editor or
    # collaborator the umask allows.
    mask = os.umask(0o022)
    try:
        assert run(project.root, "new", "post", "Readable").exit_code == 0
    finally:
        os.umask(mask)
    assert (project.root / "posts/readable.md").stat().st_mode & 0o777 == 0o644


def test_new_post_refuses_an_existing_file(project):
    assert run(project.root, "new", "post", "Same").exit_code == 0
    (project.root / "posts/same.md").write_text("my words")
    result = run(project.root, "new", "post", "Same")
    assert result.exit_code == 1 and "posts/same.md" in result.stderr
    assert (project.root / "posts/same.md").read_text() == "my words"


def test_new_snippet_derives_a_readable_id(project):
    result = run(
        project.root,
        "new",
        "snippet",
        "--lab",
        "xai",
        "--url",
        "https://x.ai/documents/2025.02.10-RMF-Draft.pdf",
        "--title",
        "xAI's draft framework: thresholds still to be chosen",
        "--quote",
        "We intend to choose the benchmarks.",
    )
    assert result.exit_code == 0, result.output
    rel = result.stdout.strip()
    assert rel == "snippets/xai/xai-draft-framework-thresholds-still-to-be-chosen.md"
    snippet, diags = content.load_snippet(project.root, project.root / rel)
    assert diags == [] and snippet.lab == "xai"
    assert snippet.quote == "We intend to choose the benchmarks."
    assert snippet.source_url == "https://x.ai/documents/2025.02.10-RMF-Draft.pdf"
    without_title = run(
        project.root,
        "new",
        "snippet",
        "--lab",
        "xai",
        "--url",
        "https://x.ai/documents/2025.02.10-RMF-Draft.pdf",
    )
    assert without_title.stdout.strip() == "snippets/xai/xai-2025-02-10-rmf-draft.md"


def test_new_snippet_refusals(project):
    unknown = run(project.root, "new", "snippet", "--lab", "opneai", "--url", "https://a.b/")
    assert unknown.exit_code == 1
    assert "unknown lab `opneai` (did you mean `openai`?)" in unknown.stderr
    bad_url = run(project.root, "new", "snippet", "--lab", "openai", "--url", "openai.com")
    assert bad_url.exit_code == 2
    first = run(
        project.root,
        "new",
        "snippet",
        "--lab",
        "openai",
        "--url",
        "https://a.b/x",
        "--title",
        "Same claim",
    )
    assert first.exit_code == 0
    again = run(
        project.root,
        "new",
        "snippet",
        "--lab",
        "openai",
        "--url",
        "https://a.b/y",
        "--title",
        "Same claim",
    )
    assert again.exit_code == 1 and "already exists" in again.stderr


def test_new_post_cites_only_existing_snippets(project):
    result = run(project.root, "new", "post", "T", "--cite", "openai-prp")
    assert result.exit_code == 2 and "did you mean `openai-prep`?" in result.output


# claims ------------------------------------------------------------------------------------


def test_claims_table_in_three_formats(project):
    project.write(
        "snippets/xai/xai-one.md",
        SNIPPET.replace("lab: openai", "lab: xai").replace(
            "status: current", "status: current\ntopics: [thresholds]"
        ),
    )
    text = run(project.root, "claims")
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert lines[0].split()[:3] == ["COMPANY", "ID", "TITLE"]
    assert lines[1].startswith("OpenAI") and "openai-prep" in lines[1]
    assert lines[1].split()[-2] == "1"  # cited by one post

    data = json.loads(run(project.root, "claims", "--format", "json").stdout)
    assert [(r["company"], r["id"], r["cited_by"], r["archived"]) for r in data] == [
        ("OpenAI", "openai-prep", 1, True),
        ("xAI", "xai-one", 0, True),
    ]
    csv_out = run(project.root, "claims", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(csv_out)))
    assert [r["id"] for r in rows] == ["openai-prep", "xai-one"]
    assert [
        r["id"]
        for r in json.loads(run(project.root, "claims", "--lab", "xai", "--format", "json").stdout)
    ] == ["xai-one"]
    assert [
        r["id"]
        for r in json.loads(
            run(project.root, "claims", "--topic", "thresholds", "--format", "json").stdout
        )
    ] == ["xai-one"]
    assert run(project.root, "claims", "--lab", "xia").exit_code == 2


def test_claims_stale_names_the_post_and_the_successor(project):
    project.write(
        "snippets/openai/openai-prep.md",
        SNIPPET.replace("status: current", "status: superseded\nsuperseded_by: openai-prep-v2"),
    )
    project.write("snippets/openai/openai-prep-v2.md", SNIPPET)
    result = run(project.root, "claims", "--stale")
    assert result.exit_code == 1  # something to revisit
    assert result.stdout.strip() == (
        'posts/a-post.md: "A post" relies on `openai-prep`, which is superseded; add an '
        "update dated 2023-12-18 or later (`updates:` in its front matter) on `openai-prep-v2`"
    )
    data = json.loads(run(project.root, "claims", "--stale", "--format", "json").stdout)
    assert data == [
        {
            "post": "posts/a-post.md",
            "title": "A post",
            "snippet": "openai-prep",
            "status": "superseded",
            "successor": "openai-prep-v2",
            "cites_successor": False,
            "since": "2023-12-18",
        }
    ]


def test_claims_stale_counts_a_post_handled_once_an_update_follows_the_change(project):
    project.write(
        "snippets/openai/openai-prep.md",
        SNIPPET.replace("status: current", "status: superseded\nsuperseded_by: openai-prep-v2"),
    )
    project.write("snippets/openai/openai-prep-v2.md", SNIPPET.replace("2023-12-18", "2025-04-02"))
    text = (path := project.root / "posts/a-post.md").read_text()
    early = "updates:\n  - {date: 2025-04-01, text: Not yet.}\n"
    path.write_text(text.replace("claims:", early + "claims:", 1))
    assert run(project.root, "claims", "--stale").exit_code == 1  # dated before the change
    late = "updates:\n  - {date: 2025-04-03, text: 'OpenAI changed this [@openai-prep-v2].'}\n"
    path.write_text(text.replace("claims:", late + "claims:", 1))
    result = run(project.root, "claims", "--stale")
    assert (result.exit_code, result.stdout.strip()) == (
        0,
        "No published post relies on a superseded or retracted snippet without an update "
        "after the change.",
    )


def test_claims_stale_when_nothing_is_stale(project):
    assert "No published post relies on" in run(project.root, "claims", "--stale").stdout


# schema ------------------------------------------------------------------------------------


def test_schemas_accept_the_examples_and_reject_mistakes(tmp_path):
    result = CliRunner().invoke(cli, ["--root", str(REPO), "schema", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    schemas = {p.name: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}
    assert set(schemas) == {
        "post.schema.json",
        "snippet.schema.json",
        "labs.schema.json",
        "archives.schema.json",
        "documents.schema.json",
        "toolkit.schema.json",
    }
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)

    def front(path: Path) -> dict:
        # YAML 1.2 (what editors use) reads dates as strings; so do we here.
        text = path.read_text().split("---\n")[1]
        return yaml.load(text, Loader=_NoDates)

    post_schema = jsonschema.Draft202012Validator(schemas["post.schema.json"])
    posts = sorted((REPO / "posts").glob("*.md"))
    assert [p.name for p in posts] == [
        "o3-mini-post-mitigation-evals.md",
        "paris-frameworks-compared.md",
        "preparedness-page-redirects.md",
        "weight-security-notes.md",
    ]
    for path in posts:
        assert list(post_schema.iter_errors(front(path))) == [], path
    snippet_schema = jsonschema.Draft202012Validator(schemas["snippet.schema.json"])
    snippets = sorted((REPO / "snippets").rglob("*.md"))
    assert len(snippets) == 22, snippets
    assert {p.parent.name for p in snippets} == {
        "amazon",
        "anthropic",
        "google-deepmind",
        "meta",
        "microsoft",
        "nvidia",
        "openai",
        "xai",
    }
    for path in snippets:
        assert list(snippet_schema.iter_errors(front(path))) == [], path
    labs = yaml.load((REPO / "snippets/labs.yaml").read_text(), Loader=_NoDates)
    assert (
        list(jsonschema.Draft202012Validator(schemas["labs.schema.json"]).iter_errors(labs)) == []
    )

    assert list(post_schema.iter_errors({"title": "T", "kind": "shortfrom"}))
    assert list(post_schema.iter_errors({"kind": "post"}))  # no title
    assert list(snippet_schema.iter_errors({"lab": "x", "title": "t", "source": {}}))


class _NoDates(yaml.SafeLoader):
    pass


_NoDates.yaml_implicit_resolvers = {
    k: [(tag, regexp) for tag, regexp in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


# the whole day -----------------------------------------------------------------------------


def test_from_init_to_a_built_site_with_a_post_citing_a_snippet(tmp_path):
    root = tmp_path / "newsletter"
    assert CliRunner().invoke(cli, ["init", str(root)]).exit_code == 0
    snippet = run(
        root,
        "new",
        "snippet",
        "--lab",
        "anthropic",
        "--url",
        "https://www.anthropic.com/news/announcing-our-updated-responsible-scaling-policy",
        "--title",
        "Updated RSP keeps the training commitment",
        "--quote",
        "maintaining our commitment not to train or deploy models unless "
        "we have implemented adequate safeguards",
    )
    assert snippet.exit_code == 0, snippet.output
    snippet_id = Path(snippet.stdout.strip()).stem
    new = run(root, "new", "post", "What the updated RSP keeps", "--cite", snippet_id)
    assert new.exit_code == 0, new.output
    path = root / new.stdout.strip()
    path.write_text(path.read_text().replace("status: draft", "status: published"))

    check = run(root, "check")
    assert check.exit_code == 0, check.output
    assert "error" not in check.stdout
    build = run(root, "build")
    assert build.exit_code == 0, build.output
    page = (root / "site/posts/what-the-updated-rsp-keeps/index.html").read_text()
    assert "Anthropic" in page and "Updated RSP keeps the training commitment" in page
    assert "what-the-updated-rsp-keeps" in (root / "feeds/atom.xml").read_text()


def test_shell_completion_offers_labs_and_snippets(project):
    env = {
        **os.environ,
        "_TOOLKIT_COMPLETE": "bash_complete",
        "COMP_WORDS": "toolkit new snippet --lab op",
        "COMP_CWORD": "4",
    }
    result = subprocess.run(
        [sys.executable, "-c", "from toolkit.cli import main; main()"],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "plain,openai" in result.stdout.splitlines()
    env.update(COMP_WORDS="toolkit new post T --cite open", COMP_CWORD="5")
    result = subprocess.run(
        [sys.executable, "-c", "from toolkit.cli import main; main()"],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "plain,openai-prep" in result.stdout.splitlines()
