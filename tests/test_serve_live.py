"""`toolkit serve`'s live preview, run for real: saves are seen, open pages are told to
reload over server-sent events, and what is served differs from the files on disk only by
the noindex tag and the reload script."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import html5lib
import pytest
import requests
from conftest import post
from test_serve import free_port, wait_for

EDITED = "The preview saw this sentence, added after the server started."
SCRIPT = re.compile(r"<script>.*?</script>\n", re.S)
NOINDEX = '<meta name="robots" content="noindex">\n'


class Serving:
    """A `toolkit serve` subprocess on a free port."""

    def __init__(self, root: Path, env: dict[str, str] | None = None):
        self.root = root
        self.base = f"http://127.0.0.1:{free_port()}"
        port = self.base.rsplit(":", 1)[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "toolkit", "--root", str(root), "serve", "--port", port],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.out = self.err = ""

    def get(self, path: str) -> requests.Response:
        return requests.get(self.base + path, timeout=5)

    def page(self, path: str) -> requests.Response:
        """The page once the server answers (it builds first)."""
        return wait_for(lambda: (r := self.get(path)).status_code == 200 and r)

    def events(self, since: int) -> Iterator[tuple[str, dict]]:
        """The event stream as (event id, data), from event number `since` on, for at
        most 30 s: a missing event fails the test instead of hanging it."""
        deadline = time.monotonic() + 30
        response = requests.get(
            f"{self.base}/__toolkit/events?since={since}", stream=True, timeout=(5, 20)
        )
        assert response.headers["Content-Type"] == "text/event-stream"
        fields: dict[str, str] = {}
        for raw in response.iter_lines(chunk_size=1, decode_unicode=True):
            assert time.monotonic() < deadline, "no such event within 30 s"
            if raw:
                name, _, value = raw.partition(":")
                fields[name] = value.strip()
            elif fields.get("event") == "reload":
                yield fields["id"], json.loads(fields["data"])
                fields = {}
            else:
                fields = {}

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        self.out, self.err = self.proc.communicate(timeout=10)
        return self.proc.returncode


@pytest.fixture
def serving(project):
    # An older post: a page shown ahead of the rebuild must keep its link to it.
    project.write(
        "posts/an-older-post.md",
        post("title: An older post\nstatus: published\ndate: 2025-01-01\n", "Older words.\n"),
    )
    server = Serving(project.root)
    yield server
    if server.proc.poll() is None:
        server.stop()


def generation(page: str) -> int:
    """The event number the served page's script listens from."""
    return int(re.search(r"var since = (\d+)", page)[1])


def reloads(data: dict, here: str) -> bool:
    """What the injected script decides for a page at URL path `here`."""
    return here in data["only"] if "only" in data else here not in data["except"]


def reloaded(serving: Serving, events, here: str, check) -> requests.Response:
    """Follow the events until one tells the page at `here` to reload and, reloaded, it
    passes `check` (an earlier save may still be announcing itself)."""
    for _, data in events:
        if reloads(data, here) and check(page := serving.get(here)):
            return page
    raise AssertionError("the event stream ended")


def edit(project, title: str = "A post", body: str = "") -> None:
    project.write(
        "posts/a-post.md",
        post(
            f"title: {title}\nstatus: published\ndate: 2025-02-14\nclaims: [openai-prep]\n",
            f"Citing [@openai-prep]. {body}\n",
        ),
    )


def test_a_save_reloads_the_open_page_with_the_new_text(project, serving):
    page = serving.page("/posts/a-post/").text
    assert EDITED not in page
    events = serving.events(generation(page))
    edit(project, body=EDITED)
    # The first event that concerns this page: the page then serves the new text.
    for _, data in events:
        if reloads(data, "/posts/a-post/"):
            break
    served = serving.get("/posts/a-post/").text
    assert EDITED in served

    # What was served is exactly what `toolkit build` writes for that post, plus the tag and
    # the script (whether the page came ahead of the rebuild or from it).
    serving.stop()
    subprocess.run(
        [sys.executable, "-m", "toolkit", "--root", str(project.root), "build"],
        check=True,
        capture_output=True,
    )
    built = (project.root / "site/posts/a-post/index.html").read_text(encoding="utf-8")
    assert SCRIPT.sub("", served).replace(NOINDEX, "", 1) == built


def test_pages_that_list_an_edited_post_are_reloaded_after_the_rebuild(project, serving):
    index = serving.page("/").text
    events = serving.events(generation(index))
    edit(project, title="A post, renamed in place")
    for _, data in events:
        if reloads(data, "/"):
            break
    assert "A post, renamed in place" in serving.get("/").text


def test_the_script_and_noindex_are_only_in_served_pages(project, serving):
    served = serving.page("/posts/a-post/").text
    tree = html5lib.parse(served, namespaceHTMLElements=False)
    robots = [m.get("content") for m in tree.findall("./head/meta") if m.get("name") == "robots"]
    assert robots == ["noindex"]
    scripts = tree.findall(".//body/script")
    assert len(scripts) == 1 and "/__toolkit/events" in scripts[0].text
    assert "<script" not in serving.get("/style.css").text

    on_disk = list((project.root / ".toolkit/preview").rglob("*.html"))
    assert len(on_disk) > 3
    for path in on_disk:
        text = path.read_text(encoding="utf-8")
        # JSON-LD is data, not a script; the 404 page asks not to be indexed in any site.
        code = text.replace('<script type="application/ld+json">', "")
        assert "<script" not in code and "/__toolkit/events" not in text, path
        assert path.name == "404.html" or "noindex" not in text, path
    serving.stop()
    result = subprocess.run(
        [sys.executable, "-m", "toolkit", "--root", str(project.root), "build"],
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr
    for path in (project.root / "site").rglob("*"):
        if path.is_file():
            data = path.read_bytes().replace(b'<script type="application/ld+json">', b"")
            assert b"<script" not in data and b"__toolkit" not in data, path


def test_sigint_stops_the_server_with_an_event_stream_open(project, serving):
    page = serving.page("/").text
    stream = requests.get(
        f"{serving.base}/__toolkit/events?since={generation(page)}", stream=True, timeout=(5, 20)
    )
    lines = stream.iter_lines(chunk_size=1, decode_unicode=True)
    assert next(lines) == "retry: 500"  # the stream is open, waiting for a rebuild
    assert serving.stop() == 0
    assert "Stopped." in serving.err and "Traceback" not in serving.err
    assert list(lines) == [""]  # and it ended with the server, rather than hang
    with pytest.raises(requests.ConnectionError):
        serving.get("/")


def test_polling_sees_saves_too(project):
    serving = Serving(project.root, {"TOOLKIT_WATCH_POLL": "1"})
    try:
        page = serving.page("/posts/a-post/").text
        events = serving.events(generation(page))
        edit(project, body=EDITED)
        for _, data in events:
            if reloads(data, "/posts/a-post/"):
                break
        assert EDITED in serving.get("/posts/a-post/").text
    finally:
        serving.stop()
    assert "Traceback" not in serving.err


def test_a_snippet_edit_rebuilds_every_page(project, serving):
    page = serving.page("/posts/a-post/").text
    events = serving.events(generation(page))
    path = project.root / "snippets/openai/openai-prep.md"
    path.write_text(path.read_text().replace("Preparedness\n", "Preparedness, renamed\n"))
    for _, data in events:
        if reloads(data, "/posts/a-post/"):
            break
    assert "Preparedness, renamed" in serving.get("/posts/a-post/").text


def test_a_posts_folder_removed_and_made_again_is_watched_again(project, serving):
    import shutil

    page = serving.page("/").text
    events = serving.events(generation(page))
    shutil.rmtree(project.root / "posts")
    reloaded(serving, events, "/posts/a-post/", lambda r: r.status_code == 404)

    edit(project, title="A post, back again")  # makes posts/ again
    reloaded(serving, events, "/posts/a-post/", lambda r: "A post, back again" in r.text)
    edit(project, title="A post, and watched again")  # a save inside the new folder
    reloaded(serving, events, "/posts/a-post/", lambda r: "and watched again" in r.text)
