"""`toolkit watch` against a stand-in company site and Wayback Machine on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import online_project
from servers.origin import OriginServer

from toolkit.cli import cli

KEYS = {"WAYBACK_ACCESS_KEY": "test-access", "WAYBACK_SECRET_KEY": "test-secret"}
NO_KEYS = {"WAYBACK_ACCESS_KEY": "", "WAYBACK_SECRET_KEY": "", "TOOLKIT_SPN_POLL": "0.01"}

QUOTED = "We will publish a safety report before each frontier model deployment."
REWORDED = "We may publish a summary of our safety work after a deployment."


def framework(
    body: str = QUOTED,
    footer: str = "Last updated: 3 March 2025",
    nav: tuple[str, ...] = ("Research", "Safety", "Careers"),
    banner: str = "",
    spaces: str = " ",
) -> str:
    links = "".join(f'<li><a href="/{n.lower()}?utm_source=nav">{n}</a></li>' for n in nav)
    return (
        "<!DOCTYPE html><html><head><title>Risk Management Framework</title>"
        "<style>p{color:red}</style><script>var seen = Date.now();</script></head><body>"
        f"{banner}<header><nav><ul>{links}</ul></nav><p>Updated 3 March 2025</p></header>"
        "<main><h1>Risk Management Framework</h1>"
        f"<p>This framework says how we manage risk.{spaces}{body} "
        "We review thresholds every quarter.</p>"
        "<p>Evaluations run before release. Results are shared with the board.</p></main>"
        f'<footer><p>{footer}</p><p>© 2025 xAI</p><a href="/privacy">Privacy</a></footer>'
        "</body></html>"
    )


BANNER = (
    '<div id="cookie-banner" class="consent"><p>We use cookies to improve your '
    "experience. Accept all cookies?</p><button>Accept</button></div>"
)


class Site:
    """A content repository whose one document lives on the stand-in origin and whose
    archived copy is on the stand-in Wayback Machine."""

    def __init__(self, root: Path, origin: OriginServer, wayback):
        self.root, self.origin, self.wayback = root, origin, wayback
        online_project(root, wayback.url)
        self.url = origin.url_for("/framework")
        wayback.add_capture(self.url, "20250301000000", framework())
        self.snapshot = wayback.snapshot_url("20250301000000", self.url)
        self.documents = (
            "# Documents we watch.\n"
            "xai-rmf:\n"
            "  lab: xai   # the company\n"
            "  title: 'Risk Management Framework'\n"
            f"  url: {self.url}\n"
            "  published: 2025-02-10\n"
            f"  archive: {self.snapshot}\n"
            "  kind: framework\n"
            "\n"
            "# Another one, after it.\n"
            "xai-other:\n"
            "  lab: xai\n"
            "  title: Other\n"
            f"  url: {origin.url_for('/other')}\n"
        )
        (root / "documents.yaml").write_text(self.documents)
        (root / "snippets/xai-reports.md").write_text(
            "---\nlab: xai\ntitle: Reports before deployment\n"
            f'quote: "{QUOTED}"\nsource: xai-rmf\nlocator: "§2"\n---\n'
        )
        (root / "snippets/xai-reviews.md").write_text(
            "---\nlab: xai\ntitle: Quarterly reviews\n"
            'quote: "We review thresholds every quarter."\nsource: xai-rmf\n---\n'
        )
        (root / "posts/reports.md").write_text(
            "---\ntitle: Reports\ndate: 2025-03-10\nstatus: published\n"
            "claims: [xai-reports]\n---\nThey promised.[@xai-reports]\n"
        )
        (root / "posts/draft.md").write_text(
            "---\ntitle: Draft\nclaims: [xai-reports]\n---\nSoon.[@xai-reports]\n"
        )
        origin.page("/other", "<html><body><main><p>Nothing changes here.</p></main></body></html>")

    def serve(self, html: str, etag: str | None = '"v1"') -> None:
        headers = {"ETag": etag} if etag else {}
        self.origin.page("/framework", html, headers=headers)

    def watch(self, *args: str, env=NO_KEYS):
        return CliRunner().invoke(cli, ["--root", str(self.root), "watch", *args], env=env)

    def reports(self, *args: str, env=NO_KEYS) -> tuple[int, dict]:
        result = self.watch("--format", "json", *args, env=env)
        assert result.exit_code in (0, 1), result.output
        return result.exit_code, {r["url"]: r for r in json.loads(result.output)}


@pytest.fixture
def site(tmp_path, origin, wayback) -> Site:
    return Site(tmp_path, origin, wayback)


def test_a_reworded_quote_is_a_change_that_names_snippets_and_posts(site):
    site.serve(framework(body=REWORDED))
    code, reports = site.reports()
    r = reports[site.url]
    assert code == 1
    assert r["status"] == "changed" and r["document"] == "xai-rmf"
    assert r["removed"] == [QUOTED]
    assert r["added"] == [REWORDED]
    assert r["snippets"] == ["xai-reports"]  # the other quote is still there
    assert r["posts"] == ["posts/reports.md"]  # published ones only
    assert reports[site.origin.url_for("/other")]["status"] == "unchanged"


def test_the_text_report_shows_the_diff_and_who_relies_on_it(site):
    site.serve(framework(body=REWORDED))
    result = site.watch()
    assert result.exit_code == 1
    assert f"changed     {site.url} (xai-rmf)" in result.output
    assert f"  - {QUOTED}\n  + {REWORDED}\n" in result.output
    assert "quote gone: snippets/xai-reports.md (xai-reports)" in result.output
    assert "cited by: posts/reports.md" in result.output
    assert "1 quoted passage gone." in result.output


def test_footer_date_cookie_banner_navigation_and_whitespace_are_not_changes(site):
    site.serve(
        framework(
            footer="Last updated: 9 June 2025",
            nav=("Careers", "Safety", "Research", "Blog"),
            banner=BANNER,
            spaces="  \n\t ",
        )
    )
    code, reports = site.reports()
    assert code == 0
    r = reports[site.url]
    assert (r["status"], r["removed"], r["added"], r["snippets"]) == ("unchanged", [], [], [])


def test_an_unchanged_page_costs_a_304_on_the_next_run(site):
    site.serve(framework())
    assert site.reports()[1][site.url]["status"] == "unchanged"
    site.origin.clear_log()
    code, reports = site.reports()
    assert code == 0 and reports[site.url]["status"] == "unchanged"
    (asked,) = [r for r in site.origin.requests if r.path == "/framework"]
    assert asked.headers.get("If-None-Match") == '"v1"'
    assert reports[site.url]["http_status"] == 304
    assert not [r for r in site.wayback.requests if "/web/" in r.path][1:]  # copy read once


def test_a_changed_page_stays_changed_until_recorded(site):
    site.serve(framework(body=REWORDED), etag='"v2"')
    assert site.reports()[1][site.url]["status"] == "changed"
    code, reports = site.reports()  # now a 304: still differs from the recorded version
    assert reports[site.url]["http_status"] == 304
    assert (code, reports[site.url]["status"]) == (1, "changed")


def test_watch_archive_records_the_version_touching_nothing_else(site):
    site.serve(framework(body=REWORDED))
    site.wayback.set_live(site.url, framework(body=REWORDED))
    before = (site.root / "documents.yaml").read_bytes()
    result = site.watch("--archive", env={**KEYS, "TOOLKIT_SPN_POLL": "0.01"})
    assert result.exit_code == 1, result.output
    (job,) = site.wayback.jobs.values()
    assert job.url == site.url
    (capture,) = [c for c in site.wayback.captures(site.url) if c.timestamp != "20250301000000"]
    snapshot = site.wayback.snapshot_url(capture.timestamp, site.url)
    after = (site.root / "documents.yaml").read_bytes()
    # The new lines come right after the entry's last key; without them, the file is
    # exactly what it was.
    head = before.index(b"  kind: framework\n") + len(b"  kind: framework\n")
    new = after[head : len(after) - (len(before) - head)]
    assert after[:head] == before[:head] and after[head + len(new) :] == before[head:]
    lines = new.decode().splitlines()
    assert lines[0] == "  versions:" and lines[1].startswith("    - seen: ")
    assert lines[2] == f"      archive: {snapshot}"
    assert lines[3].startswith("      digest: sha256:") and lines[4].startswith("      summary: ")
    assert len(lines) == 5
    entry = yaml.safe_load(after)["xai-rmf"]["versions"][0]
    assert entry["archive"] == snapshot and entry["digest"].startswith("sha256:")
    assert "was: “We will publish a safety report" in entry["summary"]
    assert f"recorded: {snapshot}" in result.output
    checked = CliRunner().invoke(cli, ["--root", str(site.root), "check"])
    assert " error " not in checked.output, checked.output
    # The next run compares with the recorded version: unchanged, yet the quote is gone.
    code, reports = site.reports()
    assert reports[site.url]["status"] == "unchanged" and code == 1
    assert reports[site.url]["snippets"] == ["xai-reports"]


def test_without_keys_the_version_is_recorded_without_a_snapshot(site):
    site.serve(framework(body=REWORDED))
    result = site.watch("--archive")
    assert "no snapshot: set $WAYBACK_ACCESS_KEY" in result.output
    entry = yaml.safe_load((site.root / "documents.yaml").read_text())["xai-rmf"]
    (version,) = entry["versions"]
    assert "archive" not in version and version["digest"].startswith("sha256:")


@pytest.mark.parametrize(
    "arrange,status",
    [
        (lambda o: o.gone("/framework"), "gone"),
        (lambda o: o.bot_wall("/framework"), "blocked"),
        (lambda o: o.unavailable("/framework", times=10), "unreachable"),
        (
            lambda o: (
                o.redirect("/framework", "/v2/framework"),
                o.page("/v2/framework", framework()),
            ),
            "moved",
        ),
        (lambda o: (o.redirect("/framework", "/"), o.page("/", "<p>Home</p>")), "gone"),
    ],
    ids=["gone", "blocked", "unreachable", "moved", "sent-home"],
)
def test_each_status(site, arrange, status):
    arrange(site.origin)
    code, reports = site.reports()
    r = reports[site.url]
    assert r["status"] == status
    # A gone page takes its quotes with it; a refused or failing one proves nothing.
    assert code == (1 if status == "gone" else 0)


def test_a_snippet_source_that_is_no_document_is_watched_once(site, origin):
    site.serve(framework())
    origin.page("/blog", "<html><body><main><p>We commit to audits.</p></main></body></html>")
    for name in ("a", "b"):
        (site.root / f"snippets/blog-{name}.md").write_text(
            f"---\nlab: xai\ntitle: Audits {name}\nquote: We commit to audits.\nsource:\n"
            f"  url: {origin.url_for('/blog')}{'?utm_source=x' if name == 'b' else ''}\n---\n"
        )
    code, reports = site.reports()
    blog = [r for r in reports.values() if r["url"].endswith("/blog")]
    assert len(blog) == 1 and blog[0]["document"] is None
    assert blog[0]["status"] == "unchanged" and code == 0


def test_naming_one_watches_only_it_and_an_unknown_name_is_a_usage_error(site):
    site.serve(framework())
    code, reports = site.reports("xai-rmf")
    assert list(reports) == [site.url]
    result = site.watch("xai-rfm")
    assert result.exit_code == 2 and "did you mean `xai-rmf`?" in result.output


def test_the_next_build_shows_the_change_on_the_site_and_in_the_feed(site):
    import feedparser
    import html5lib

    site.serve(framework(body=REWORDED))
    site.wayback.set_live(site.url, framework(body=REWORDED))
    site.watch("--archive", env={**KEYS, "TOOLKIT_SPN_POLL": "0.01"})
    version = yaml.safe_load((site.root / "documents.yaml").read_text())["xai-rmf"]["versions"][0]
    built = CliRunner().invoke(cli, ["--root", str(site.root), "build"])
    assert built.exit_code == 0, built.output

    def parsed(rel: str):
        return html5lib.parse((site.root / "site" / rel).read_bytes(), namespaceHTMLElements=False)

    changes = parsed("changes/index.html")
    (item,) = changes.findall(".//ol[@class='changes']/li")
    text = "".join(item.itertext())
    assert version["summary"] in text and "Risk Management Framework" in text
    hrefs = [a.get("href") for a in item.iter("a")]
    assert "../documents/xai-rmf/" in hrefs
    assert site.snapshot in hrefs and version["archive"] in hrefs  # before and after

    page = parsed("documents/xai-rmf/index.html")
    page_text = "".join(page.find(".//main").itertext())
    assert version["summary"] in page_text
    assert "Reports before deployment" in page_text  # a claim relying on it
    assert [a.get("href") for a in page.iter("a") if a.text == "Reports"] == [
        "../../posts/reports/"
    ]  # the published post; the draft is not shown
    claims = parsed("claims/xai/index.html")
    assert "../../documents/xai-rmf/" in [a.get("href") for a in claims.iter("a")]

    feed = feedparser.parse((site.root / "feeds/changes.xml").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    (entry,) = feed.entries
    assert entry.title == "xAI changed “Risk Management Framework”"
    assert entry.link == "https://example.org/documents/xai-rmf/#xai-rmf-v1"
    assert entry.summary == version["summary"]
    assert entry.updated.startswith(str(version["seen"]))
    assert feed.feed.links[0].href == "https://example.org/feeds/changes.xml"


def test_an_entry_the_edits_cannot_touch_is_a_note_not_a_traceback(site):
    """A document written as a flow mapping cannot be extended byte-exactly: the run says
    so, with the snapshot it made, and leaves the file as it was."""
    flow = (
        f"xai-rmf: {{lab: xai, title: Risk Management Framework, url: '{site.url}', "
        f"archive: '{site.snapshot}'}}\n"
        f"xai-other: {{lab: xai, title: Other, url: '{site.origin.url_for('/other')}'}}\n"
    )
    (site.root / "documents.yaml").write_text(flow)
    site.serve(framework(body=REWORDED))
    site.wayback.set_live(site.url, framework(body=REWORDED))
    result = site.watch("--archive", env={**KEYS, "TOOLKIT_SPN_POLL": "0.01"})
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "not recorded:" in result.output and "add the version by hand" in result.output
    assert (site.root / "documents.yaml").read_text() == flow


def test_a_post_citing_a_gone_quote_is_named_though_its_claims_list_forgets_it(site):
    """Mid-edit, a post may cite a snippet it does not list yet (P004): it still relies
    on the quote, so the report names it, whether the citation is in a note or an update."""
    (site.root / "posts/inline.md").write_text(
        "---\ntitle: Inline\ndate: 2025-03-11\nstatus: published\n---\n"
        "As promised.[^1]\n\n[^1]: See [@xai-reports].\n"
    )
    (site.root / "posts/updated.md").write_text(
        "---\ntitle: Updated\ndate: 2025-03-12\nstatus: published\nupdates:\n"
        "  - date: 2025-04-01\n    text: Now they say otherwise [@xai-reports].\n"
        "---\nA post about something else.\n"
    )
    site.serve(framework(body=REWORDED))
    _, reports = site.reports()
    assert reports[site.url]["posts"] == [
        "posts/inline.md",
        "posts/reports.md",
        "posts/updated.md",
    ]


def test_a_framework_published_as_a_pdf_is_compared_by_its_text(site, origin, wayback):
    """Most frameworks are PDFs: the archived copy and the live file are read as text
    (pypdf), so a reworded sentence is a change and a new file with the same words is
    not, and the snippet whose quote went is named."""
    from servers.origin import make_pdf

    pdf_url = origin.url_for("/framework.pdf")
    text = "This framework says how we manage risk.\n" + QUOTED + "\nWe review every quarter."
    wayback.add_capture(pdf_url, "20250301000000", make_pdf(text), "application/pdf")
    (site.root / "documents.yaml").write_text(
        site.documents
        + f"\nxai-pdf:\n  lab: xai\n  title: The framework, as a PDF\n  url: {pdf_url}\n"
        f"  archive: {wayback.snapshot_url('20250301000000', pdf_url)}\n  kind: framework\n"
    )
    (site.root / "snippets/xai-pdf-reports.md").write_text(
        f'---\nlab: xai\ntitle: Reports (PDF)\nquote: "{QUOTED}"\nsource: xai-pdf\n---\n'
    )
    site.serve(framework())
    # The same words in a file made again (other bytes, other line breaks): unchanged.
    origin.page("/framework.pdf", make_pdf(text, width=40), "application/pdf")
    _, reports = site.reports()
    assert reports[pdf_url]["status"] == "unchanged", reports[pdf_url]
    origin.page("/framework.pdf", make_pdf(text.replace(QUOTED, REWORDED)), "application/pdf")
    _, reports = site.reports()
    r = reports[pdf_url]
    assert r["status"] == "changed" and r["document"] == "xai-pdf"
    assert r["removed"] == [QUOTED] and r["added"] == [REWORDED]
    assert r["snippets"] == ["xai-pdf-reports"]
