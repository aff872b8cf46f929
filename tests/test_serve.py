"""`toolkit serve`, run for real: serves on 127.0.0.1, rebuilds on save, survives problems."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from conftest import post

from toolkit import serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except requests.ConnectionError:
            value = None
        if value:
            return value
        time.sleep(0.02)  # a short poll: the server rebuilds on its own schedule
    raise AssertionError("timed out")


def test_serve_rebuilds_on_save_and_shows_problems_on_the_page(project):
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "toolkit",
            "--root",
            str(project.root),
            "serve",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        page = wait_for(lambda: requests.get(base + "posts/a-post/", timeout=2))
        assert page.status_code == 200 and "A post" in page.text
        assert "in your files</h2>" not in page.text
        assert page.headers["X-Robots-Tag"] == "noindex"  # drafts: never to be indexed

        # A save with a problem: the preview is rebuilt and says what is wrong.
        project.write(
            "posts/a-post.md",
            post(
                "title: A post, edited\nstatus: published\ndate: 2025-02-14\n"
                "claims: [openai-prep]\n",
                "Now citing [@nope].\n",
            ),
        )
        page = wait_for(
            lambda: (
                (r := requests.get(base + "posts/a-post/", timeout=2))
                and "A post, edited" in r.text
                and r
            )
        )
        assert "1 problem in your files" in page.text
        assert "posts/a-post.md:7:12" in page.text and "P003" in page.text
        assert proc.poll() is None  # still serving

        # Fixed: the banner goes away.
        project.write(
            "posts/a-post.md",
            post(
                "title: A post, fixed\nstatus: published\ndate: 2025-02-14\n"
                "claims: [openai-prep]\n",
                "Citing [@openai-prep].\n",
            ),
        )
        page = wait_for(
            lambda: (
                (r := requests.get(base + "posts/a-post/", timeout=2))
                and "A post, fixed" in r.text
                and r
            )
        )
        assert "in your files</h2>" not in page.text
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert "P003" in out  # the problem was also printed in the terminal
    assert "Traceback" not in err
    assert not (project.root / "site").exists()  # the preview is not the site a deploy takes


def test_serve_refuses_a_busy_port_with_a_clear_message(project):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "toolkit",
                "--root",
                str(project.root),
                "serve",
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert f"try --port {port + 1}" in result.stderr and "Traceback" not in result.stderr


def test_a_folder_removed_and_made_again_at_once_is_watched_again(project):
    """Removed and made again before the watcher looked: the same name, another folder,
    which the old watcher never sees into. Saves in the new one must still be seen."""
    import shutil
    import threading

    root = project.root
    seen: list[Path] = []
    stop, ready = threading.Event(), threading.Event()
    watcher = threading.Thread(
        target=serve.watch,
        args=(root, lambda paths: seen.extend(paths), stop),
        kwargs={"poll": False, "ready": ready},
        daemon=True,
    )
    watcher.start()
    try:
        assert ready.wait(10)
        shutil.rmtree(root / "posts")
        (root / "posts").mkdir()
        wait_for(lambda: seen)  # the burst of the two was seen
        before = len(seen)
        new = project.write("posts/new.md", "---\ntitle: New\n---\nWords.\n")
        # Seen, or (saved while the watchers started again) the folder to look at again.
        wait_for(lambda: {new, root / "posts"} & set(seen[before:]), timeout=10)
        again = project.write("posts/again.md", "---\ntitle: Again\n---\nWords.\n")
        wait_for(lambda: again in seen, timeout=10)
    finally:
        stop.set()
        watcher.join(10)
