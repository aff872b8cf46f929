"""The fast reader for archives.yaml gives exactly what the YAML loader gives, or declines."""

from __future__ import annotations

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
