"""The `toolkit` command: a thin click layer over the library.

Exit codes: 0 clean, 1 content problems, 2 usage errors (click's own convention).
"""

from __future__ import annotations

from pathlib import Path

import click

from . import build as buildlib
from . import content, pipeline
from . import diagnostics as dg


class Context:
    def __init__(self, root: Path | None):
        self._root = root

    @property
    def root(self) -> Path:
        try:
            return content.find_root(self._root or Path.cwd())
        except content.NotAProject as e:
            raise click.UsageError(str(e)) from None


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="The content repository (default: the nearest directory with a "
                   "toolkit.toml, from here up).")
@click.version_option(package_name="toolkit")
@click.pass_context
def cli(ctx: click.Context, root: Path | None) -> None:
    """Write posts that cite AI companies' own words, check every citation against its
    archived copy, and publish one Markdown source as a site, feeds, and drafts on
    Substack and LessWrong.

    \b
    Start with `toolkit check` in a content repository (or `toolkit init` to make one).
    """
    ctx.obj = Context(root)


def echo_diagnostics(diags: list[dg.Diagnostic], fmt: str, strict: bool) -> None:
    if fmt == "json":
        click.echo(dg.to_json(diags))
        return
    for d in diags:
        color = "red" if d.severity == dg.ERROR else "yellow"
        location = click.style(f"{d.path}:{d.line}:{d.column}:", bold=True)
        click.echo(f"{location} {click.style(d.severity, fg=color)} "
                   f"{click.style(d.code, bold=True)} {d.message}")
    click.echo(dg.summary(diags, strict), err=True)


@cli.command()
@click.option("--strict", is_flag=True, help="Count warnings as errors.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text: one `path:line:col: severity CODE message` per "
              "line; json: an array of {path, line, column, severity, code, message}.")
@pass_ctx
def check(obj: Context, strict: bool, fmt: str) -> None:
    """Check posts, snippets and settings without building anything.

    Reports every problem with its file, line and a stable code (listed in the
    README). Exits 0 when clean, 1 when there are errors (or warnings, with --strict).
    """
    result = pipeline.run(obj.root, keep_parsed=False)
    echo_diagnostics(result.diagnostics, fmt, strict)
    if dg.has_failures(result.diagnostics, strict):
        raise SystemExit(1)


@cli.command()
@click.option("--drafts", is_flag=True, help="Include draft posts in the site (never in feeds).")
@click.option("--strict", is_flag=True, help="Count warnings as errors: write nothing if any.")
@pass_ctx
def build(obj: Context, drafts: bool, strict: bool) -> None:
    """Check, then write the site (site/) and the feeds (feeds/).

    Nothing is written when the check finds errors (or warnings, with --strict): the
    previous outputs stay as they were. Each output directory is replaced in one step.
    """
    root = obj.root
    report = buildlib.build(root, drafts=drafts, strict=strict)
    problems = [d for d in report.diagnostics]
    if problems:
        echo_diagnostics(problems, "text", strict)
    if not report.ok:
        click.echo("Nothing written: fix the errors above, then build again.", err=True)
        raise SystemExit(1)
    for directory, files in report.written.items():
        shown = ", ".join(f for f in files if "/" not in f or directory == "feeds")
        if directory == "site":
            shown = f"{sum(f.endswith('.html') for f in files)} pages"
        click.echo(f"Wrote {directory}/: {shown}")
    cached = f", {report.reused} from cache" if report.reused else ""
    click.echo(f"Built {report.posts} posts in {report.seconds:.2f} s{cached}.")


@cli.command()
@click.option("--port", default=8000, show_default=True, help="Port on 127.0.0.1.")
@click.option("--drafts/--no-drafts", default=True, show_default=True,
              help="Show draft posts in the preview.")
@pass_ctx
def serve(obj: Context, port: int, drafts: bool) -> None:
    """Preview the site on http://127.0.0.1:PORT/ and rebuild on every save.

    Problems the check finds are printed here and shown on every page; the preview keeps
    running. Stop with Ctrl-C.
    """
    import threading

    from . import serve as servelib

    root = obj.root

    def rebuild() -> None:
        try:
            problems = servelib.preview(root, drafts)
        except Exception as e:  # noqa: BLE001 - keep serving the last good preview
            click.echo(click.style(f"Preview not rebuilt: {type(e).__name__}: {e}", fg="red"),
                       err=True)
            return
        if problems:
            echo_diagnostics(problems, "text", False)
        else:
            click.echo("Rebuilt: no problems.", err=True)

    rebuild()
    try:
        server = servelib.make_server(root, port)
    except OSError as e:
        raise click.UsageError(f"cannot listen on 127.0.0.1:{port} ({e.strerror}); "
                               f"try --port {port + 1}") from None
    stop = threading.Event()
    watcher = threading.Thread(target=servelib.watch, args=(root, rebuild, stop), daemon=True)
    watcher.start()
    click.echo(f"Serving {root / 'site'} at http://127.0.0.1:{server.server_port}/ "
               "(Ctrl-C to stop)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopped.", err=True)
    finally:
        stop.set()
        server.server_close()


def main() -> None:
    cli(prog_name="toolkit")
