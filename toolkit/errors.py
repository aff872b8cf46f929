"""Why a command stopped, as exceptions that print themselves.

Two layers:

- `Problem`: what the library raises when a whole run cannot go on (a file it would
  overwrite, an unreadable ledger, no project here...). Its message is one line that
  says what is wrong and how to fix it; `usage` marks a mistake in how the command was
  called rather than in the project.
- `ToolkitError` and `Failed`: click exceptions. click prints them and exits with their
  code, so no command echoes a message and exits by hand. Every command runs inside
  `converted()`, the one place where a `Problem` (and an `OSError` from the disk)
  becomes one of them.

Exit codes: 0 clean, 1 a problem with the project, a service or the disk, 2 a usage
error (click's own `UsageError` and `BadParameter`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import IO, Any

import click

CACHE_DIR = ".toolkit"


class Problem(Exception):
    """A library error that ends the run; the message is the line to show."""

    usage = False  # True: the command was called wrongly (exit 2), not a project problem


class ToolkitError(click.ClickException):
    """Exit 1 with one line on stderr, named for the command: `toolkit publish: ...`."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        # Named now: by the time click shows it, the command's context is gone.
        self.command = command_name()

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"{self.command}: {self.format_message()}", file=file, err=file is None)


class Failed(click.ClickException):
    """Exit 1 after the command has shown the problems itself (diagnostics, a table of
    outcomes); the message, if any, is a closing line of its own."""

    exit_code = 1

    def __init__(self, message: str = "") -> None:
        super().__init__(message)

    def show(self, file: IO[Any] | None = None) -> None:
        if self.message:
            click.echo(self.message, file=file, err=file is None)


def command_name() -> str:
    """`toolkit new post` for the command now running (`toolkit` outside any)."""
    ctx = click.get_current_context(silent=True)
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(["toolkit", *reversed(names)])


def shown_path(path: object) -> str:
    """A path fit for a terminal: bytes that are not UTF-8 as \\x escapes."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        return str(path)  # a file descriptor, for one
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def describe_os_error(e: OSError) -> str:
    """One line for a fault of the disk or the filesystem: what, where, what to do."""
    what = e.strerror or str(e)
    if e.filename is None:
        return what
    where = shown_path(e.filename)
    if e.filename2 is not None:
        where += f" -> {shown_path(e.filename2)}"
    line = f"{what}: {where}"
    if CACHE_DIR in shown_path(e.filename).split(os.sep):
        line += f" ({CACHE_DIR}/ holds only a cache: delete it and run the command again)"
    return line


@contextlib.contextmanager
def converted() -> Iterator[None]:
    """Turn the library's errors into click's, so that each prints one line."""
    try:
        yield
    except Problem as e:
        if e.usage:
            raise click.UsageError(str(e)) from None
        raise ToolkitError(str(e)) from None
    except OSError as e:
        raise ToolkitError(describe_os_error(e)) from None


class Command(click.Command):
    """A command whose library errors print as one line (see `converted`)."""

    def invoke(self, ctx: click.Context) -> Any:
        with converted():
            return super().invoke(ctx)


class Group(click.Group):
    """A group whose commands, and subgroups' commands, are `Command`s."""

    command_class = Command
    group_class = type  # subgroups are of this class too
